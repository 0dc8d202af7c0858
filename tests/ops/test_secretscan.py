"""The secret scanner: it finds the CI's secret names, their values and credential shapes, in nested archives."""

import io
import tarfile

import pytest

from prediris_ops.container.secretscan import Finding, ci_secret_names, needles, scan_bytes, scan_image_archive

GITHUB = "jobs:\n  deploy:\n    env:\n      AZURE_CLIENT_ID: ${{ secrets.AZURE_CLIENT_ID }}\n      REGISTRY: ${{ secrets.ACR_LOGIN }}\n"
GITLAB = "variables:\n  AZURE_FEDERATED_TOKEN:\n    description: the job's OIDC token\n  IMAGE: efreiprediris\n"


def test_secret_names_are_read_from_every_pipeline_file(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "pipeline.yml").write_text(GITHUB)
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "pipeline.yml").write_text(GITLAB)
    assert ci_secret_names(tmp_path) == {"AZURE_CLIENT_ID", "ACR_LOGIN", "AZURE_FEDERATED_TOKEN"}


def test_values_are_searched_only_when_set_and_long_enough():
    wanted = needles({"AZURE_CLIENT_ID", "SHORT_TOKEN"}, {"AZURE_CLIENT_ID": "1b2c3d4e-aaaa", "SHORT_TOKEN": "abc"})
    assert wanted == {
        "secret name AZURE_CLIENT_ID": b"AZURE_CLIENT_ID",
        "secret name SHORT_TOKEN": b"SHORT_TOKEN",
        "value of AZURE_CLIENT_ID": b"1b2c3d4e-aaaa",
    }


def test_credential_shapes_are_found_and_ordinary_text_is_not():
    jwt = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcmVkaXJpcyJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    key = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
    found = scan_bytes(b"token=" + jwt + b"\n" + key, "f", {})
    assert found == [Finding("f", "private key"), Finding("f", "JSON web token")]
    assert scan_bytes(b"import numpy as np\nAZURE_REGION = 'francecentral'\n", "f", {}) == []
    # A TLS library holds the bare PEM header as a constant: that is no key.
    assert scan_bytes(b"\x00-----BEGIN RSA PRIVATE KEY-----\x00-----END RSA PRIVATE KEY-----\x00", "libgnutls.so", {}) == []


@pytest.mark.parametrize(
    ("label", "example"),
    [
        ("private key", b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 40),
        ("JSON web token", b"x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlc2ln"),
        ("GitHub token", b"t=ghp_" + b"a1" * 18),
        ("GitHub token", b"t=ghs_" + b"a1" * 18),
        ("GitHub token", b"t=github_pat_" + b"a_1" * 14),
        ("GitLab token", b"t=glpat-" + b"a-1" * 7),
        ("AWS access key", b"id=AKIAABCDEFGHIJKLMNOP\n"),
        ("Azure storage or registry key", b"DefaultEndpointsProtocol=https;AccountKey=" + b"a+1=" * 10),
        ("Azure storage or registry key", b"RUN docker login -u me --password s3cret x\n"),
    ],
)
def test_every_credential_shape_is_found_in_a_large_file(label, example):
    data = b"\x00" * 1_000_000 + example + b"\n" + b"\x7f" * 1_000_000
    assert scan_bytes(data, "layer.tar:usr/lib/libbig.so", {}) == [Finding("layer.tar:usr/lib/libbig.so", label)]


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_an_image_archive_is_scanned_through_its_layers_and_config(tmp_path):
    layer = tar_bytes({"opt/app/settings.py": b"client = '1b2c3d4e-aaaa'\n", "opt/app/ok.py": b"print('hello')\n"})
    image = tmp_path / "image.tar"
    image.write_bytes(tar_bytes({"abc/layer.tar": layer, "config.json": b'{"Env": ["AZURE_CLIENT_ID=x"]}', "manifest.json": b"[]"}))
    wanted = needles({"AZURE_CLIENT_ID"}, {"AZURE_CLIENT_ID": "1b2c3d4e-aaaa"})
    assert scan_image_archive(image, wanted) == [
        Finding("abc/layer.tar:opt/app/settings.py", "value of AZURE_CLIENT_ID"),
        Finding("config.json", "secret name AZURE_CLIENT_ID"),
    ]


def test_the_public_self_test_keys_of_gnutls_are_excused_but_never_a_secret_value():
    key = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEA6yCv+BLrRP/dMPBXJWK21c0aqxIX6JkODL4K+zlyEURt8/Wp\n"
    where = "abc/layer.tar:./usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3"
    assert scan_bytes(key, where, {}) == []
    assert scan_bytes(key + b"1b2c3d4e-aaaa", where, {"value of AZURE_CLIENT_ID": b"1b2c3d4e-aaaa"}) == [
        Finding(where, "value of AZURE_CLIENT_ID")
    ]
    assert scan_bytes(key, "abc/layer.tar:./opt/prediris/key.pem", {}) == [Finding("abc/layer.tar:./opt/prediris/key.pem", "private key")]

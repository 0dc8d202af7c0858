"""`invoke push` for real: a tiny image pushed by the real docker engine to a real local registry
(docker-registry) behind the ACR stand-in: token exchange, `docker login` on stdin, push, digest."""

import base64
import io
import json
import os
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest
from invoke import MockContext
from invoke.exceptions import Exit

from prediris_ops.azure import clients as azure_clients
from prediris_ops.container import provenance
from prediris_ops.tasks import deploy as deploy_tasks
from tests.support.arm_standin import ACR_USERNAME
from tests.support.config import project_config
from tests.support.registry import acr_registry

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture
def tiny_image(docker_engine):
    """A one-file image tagged like `invoke build` tags it (<name>:<sha> and :latest); removed afterwards."""
    name = f"prediris-push-test-{os.getpid()}"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"prediris push test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    docker = docker_engine.docker
    subprocess.run([docker, "import", "-", f"{name}:e2e1234"], input=layer.getvalue(), check=True, capture_output=True)
    subprocess.run([docker, "tag", f"{name}:e2e1234", f"{name}:latest"], check=True)
    yield name
    subprocess.run([docker, "image", "rm", "--force", f"{name}:e2e1234", f"{name}:latest"], capture_output=True, check=False)


def registry_digest(acr, image: str, tag: str) -> str:
    """Ask the registry itself (with a pull token from the stand-in) which digest `tag` points to."""
    token = acr.registry_token(f"repository:{image}:pull")
    request = urllib.request.Request(f"{acr.registry_backend}/v2/{image}/manifests/{tag}", method="HEAD")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


@pytest.fixture
def saved_build(docker_engine, tiny_image, tmp_path):
    """The tiny image as a CI build job leaves it: a build record and an `invoke save` archive, then gone
    from the engine (a fresh push job); returns the docker config section that points at both."""
    docker = docker_engine.docker
    record = provenance.BuildRecord(
        provenance.image_id(docker, f"{tiny_image}:e2e1234"),
        [f"{tiny_image}:e2e1234", f"{tiny_image}:latest"],
        "e2e1234" + "0" * 33,
        provenance.now_utc(),
        provenance.ci_run({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "efrei/prediris", "GITHUB_RUN_ID": "4242"}),
        "build/image/sbom.cdx.json",
    )
    paths = {"build_record": str(tmp_path / "image" / "build.json"), "archive": str(tmp_path / "image" / "image.tar")}
    provenance.write_record(Path(paths["build_record"]), record)
    subprocess.run(provenance.save_argv(docker, record, Path(paths["archive"])), check=True, capture_output=True)
    subprocess.run([docker, "image", "rm", "--force", *record.tags], check=True, capture_output=True)
    return {"executable": docker, **paths}


def test_push_loads_the_saved_build_pushes_both_tags_and_records_the_digest_and_the_run_that_built_it(
    docker_engine, tiny_image, saved_build, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))  # never touch the user's docker login
    with acr_registry(tmp_path) as acr:
        entra_token = acr.mint_token()
        monkeypatch.setattr(azure_clients, "make_credential", acr.credential)
        record = tmp_path / "last-push.json"
        c = MockContext(config=project_config(docker=saved_build, azure={"push_record": str(record)}))
        deploy_tasks.push(c, registry=acr.netloc, source=tiny_image, tag="e2e1234")

        out = capsys.readouterr().out
        pushed = json.loads(record.read_text())
        assert pushed["registry"] == acr.netloc and pushed["image"] == "efreiprediris" and pushed["tag"] == "e2e1234"
        assert pushed["digest"] == registry_digest(acr, "efreiprediris", "e2e1234") == registry_digest(acr, "efreiprediris", "latest")
        assert pushed["reference"] == f"{acr.netloc}/efreiprediris@{pushed['digest']}"
        assert f"digest {pushed['digest']}" in out
        # The image pushed is the one the build recorded, loaded from its archive; the record says who built it.
        built = provenance.read_record(Path(saved_build["build_record"]))
        assert f"loaded {tiny_image}:e2e1234 from" in out
        assert pushed["build"]["image_id"] == built.image_id == provenance.image_id(docker_engine.docker, f"{tiny_image}:e2e1234")
        assert pushed["build"]["ci_run"]["url"] == "https://github.com/efrei/prediris/actions/runs/4242"
        assert f"built by {built.built_by}" in out

        [exchange] = acr.requests_to("POST", "^/oauth2/exchange$")
        form = exchange.form()
        assert form["grant_type"] == "access_token" and form["service"] == acr.netloc and form["tenant"] == acr.tenant
        assert form["access_token"] != entra_token  # the credential's own token, minted for this exchange
        token_requests = acr.requests_to("GET", "^/oauth2/token$")
        assert token_requests, "docker never asked the registry's token endpoint"
        basic = token_requests[0].headers["authorization"]
        user, _, password = base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
        assert user == ACR_USERNAME and password.startswith("acr-refresh-")  # what the exchange returned
        assert password not in out  # never printed
        assert password not in (tmp_path / "registry.log").read_text()


def test_push_refuses_an_image_other_than_the_one_the_build_recorded(docker_engine, tiny_image, tmp_path):
    docker = docker_engine.docker
    path = tmp_path / "build.json"
    provenance.write_record(path, provenance.BuildRecord("sha256:" + "0" * 64, [f"{tiny_image}:e2e1234"], "r", "t", None, "s"))
    c = MockContext(config=project_config(docker={"executable": docker, "build_record": str(path), "archive": str(tmp_path / "none.tar")}))
    with pytest.raises(Exit, match=f"{tiny_image}:e2e1234 is sha256:.*not the recorded build sha256:0000"):
        deploy_tasks.push(c, registry="127.0.0.1:1", source=tiny_image, tag="e2e1234")

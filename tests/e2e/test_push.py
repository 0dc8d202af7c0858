"""`invoke push` for real: a tiny image pushed by the real docker engine to a real local registry
(docker-registry) behind the ACR stand-in: token exchange, `docker login` on stdin, push, digest."""

import base64
import io
import json
import os
import subprocess
import tarfile
import urllib.request

import pytest
from invoke import MockContext

from prediris_ops.azure import clients as azure_clients
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


def test_push_logs_in_with_an_exchanged_token_pushes_both_tags_and_records_the_digest(
    docker_engine, tiny_image, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))  # never touch the user's docker login
    with acr_registry(tmp_path) as acr:
        entra_token = acr.mint_token()
        monkeypatch.setattr(azure_clients, "make_credential", acr.credential)
        record = tmp_path / "last-push.json"
        c = MockContext(config=project_config(docker={"executable": docker_engine.docker}, azure={"push_record": str(record)}))
        deploy_tasks.push(c, registry=acr.netloc, source=tiny_image, tag="e2e1234")

        out = capsys.readouterr().out
        pushed = json.loads(record.read_text())
        assert pushed["registry"] == acr.netloc and pushed["image"] == "efreiprediris" and pushed["tag"] == "e2e1234"
        assert pushed["digest"] == registry_digest(acr, "efreiprediris", "e2e1234") == registry_digest(acr, "efreiprediris", "latest")
        assert pushed["reference"] == f"{acr.netloc}/efreiprediris@{pushed['digest']}"
        assert f"digest {pushed['digest']}" in out

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

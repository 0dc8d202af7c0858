"""The three CI configurations run the same pipeline as `invoke pipeline`: the same stages in the same
order, the same `invoke` lines per stage, Azure stages only on main, OIDC logins and no passwords; the
image built and tested once is the one pushed; third-party steps are pinned to immutable references."""

import itertools
import re

import pytest
import yaml

from prediris_ops.core.paths import ROOT
from prediris_ops.tasks.pipeline import STAGES, command_line

EXPECTED = {stage: [command_line(args) for args in commands] for stage, commands in STAGES.items()}
AZURE_STAGES = ("push", "deploy", "loadtest")


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def invoke_lines(commands) -> list[str]:
    return [line for line in commands if line.split(" ", 1)[0] == "invoke"]


def github() -> tuple[list[str], dict[str, list[str]]]:
    jobs = load(".github/workflows/pipeline.yml")["jobs"]
    return list(jobs), {name: invoke_lines(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}


def gitlab() -> tuple[list[str], dict[str, list[str]]]:
    root = load(".gitlab-ci.yml")
    assert set(root) == {"include"}, "the root .gitlab-ci.yml only includes ci/"
    doc = {}
    for entry in root["include"]:
        doc.update(load(entry["local"]))
    jobs = {name: job for name, job in doc.items() if isinstance(job, dict) and "stage" in job}
    assert all(name == job["stage"] for name, job in jobs.items())
    return doc["stages"], {name: invoke_lines(job["script"]) for name, job in jobs.items()}


def azure_steps(stage: dict) -> list[dict]:
    steps = []
    for job in stage["jobs"]:
        steps += job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
    return steps


def azure_devops() -> tuple[list[str], dict[str, list[str]]]:
    stages = load("azure-pipelines.yml")["stages"]

    def command(step: dict) -> str:
        return step.get("script") or step.get("inputs", {}).get("inlineScript", "")

    return [s["stage"] for s in stages], {s["stage"]: invoke_lines(command(step) for step in azure_steps(s)) for s in stages}


@pytest.mark.parametrize("read", [github, gitlab, azure_devops], ids=["github", "gitlab", "azure-devops"])
def test_each_ci_runs_the_pipeline_stages_in_order_with_the_same_invoke_lines(read):
    order, commands = read()
    assert order == list(STAGES)
    assert commands == EXPECTED


def test_the_pipeline_is_lint_test_build_push_deploy_loadtest():
    assert EXPECTED == {
        "lint": ["invoke lint"],
        "test": ["invoke test --no-image"],
        "build": ["invoke build", "invoke test --image", "invoke save"],
        "push": ["invoke push"],
        "deploy": ["invoke deploy"],
        "loadtest": ["invoke perf --target azure"],
    }


def test_github_chains_the_jobs_runs_azure_only_on_main_and_logs_in_by_oidc():
    workflow = load(".github/workflows/pipeline.yml")
    jobs = workflow["jobs"]
    names = list(jobs)
    for previous, name in itertools.pairwise(names):
        assert jobs[name]["needs"] == previous
    assert workflow["permissions"] == {"contents": "read"}
    for name in AZURE_STAGES:
        assert jobs[name]["if"] == "github.ref == 'refs/heads/main' && github.event_name != 'pull_request'"
        assert jobs[name]["permissions"]["id-token"] == "write"
        [login] = [step for step in jobs[name]["steps"] if step.get("uses", "").startswith("azure/login@")]
        assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # no client secret
    assert all("timeout-minutes" in job for job in jobs.values())
    uploads = [step["with"]["path"] for step in jobs["loadtest"]["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads == ["build/perf/"]


def test_gitlab_runs_azure_jobs_on_the_default_branch_one_at_a_time_with_an_id_token():
    doc = load("ci/pipeline.yml")
    azure = doc[".azure"]
    assert azure["id_tokens"] == {"AZURE_FEDERATED_TOKEN": {"aud": "api://AzureADTokenExchange"}}
    assert {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"} in azure["rules"]
    assert azure["resource_group"]
    for name in AZURE_STAGES:
        extends = doc[name]["extends"]
        assert ".azure" in (extends if isinstance(extends, list) else [extends])
    assert ".docker" in doc["build"]["extends"] and "docker:27-dind" in doc[".docker"]["services"][0]["name"]


def test_azure_devops_runs_azure_stages_on_main_through_a_workload_identity_connection():
    stages = {s["stage"]: s for s in load("azure-pipelines.yml")["stages"]}
    for name in AZURE_STAGES:
        assert stages[name]["condition"] == "and(succeeded(), eq(variables.isMain, true))"
        azure_cli = [step for step in azure_steps(stages[name]) if step.get("task") == "AzureCLI@2"]
        assert [step["inputs"]["inlineScript"] for step in azure_cli] == [EXPECTED[name][-1]]
        assert all(step["inputs"]["azureSubscription"] == "$(azureServiceConnection)" for step in azure_cli)


def test_the_image_is_built_once_and_the_push_stage_pushes_the_tested_one():
    # The build stage tests the image it built, then saves it; nothing after it builds again.
    assert STAGES["build"].index(["test", "--image"]) < STAGES["build"].index(["save"])
    assert all(["build"] not in commands for stage, commands in STAGES.items() if stage != "build")
    assert ["test", "--no-image"] in STAGES["test"]  # the image tests run on the built image only


def test_github_hands_the_tested_image_to_push_and_uploads_the_sbom():
    jobs = load(".github/workflows/pipeline.yml")["jobs"]
    uploads = {step["with"]["name"]: step for step in jobs["build"]["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")}
    assert "build/image/sbom.cdx.json" in uploads["sbom"]["with"]["path"]
    assert uploads["image"]["with"]["path"] == "build/image/"
    [download] = [step for step in jobs["push"]["steps"] if step.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"] == {"name": "image", "path": "build/image"}


def test_gitlab_and_azure_devops_hand_the_tested_image_to_push_and_keep_the_sbom():
    doc = load("ci/pipeline.yml")
    assert doc["build"]["artifacts"]["paths"] == ["build/image/"]
    assert doc["build"]["artifacts"]["reports"]["cyclonedx"] == ["build/image/sbom.cdx.json"]
    assert doc["push"]["needs"] == ["build"]
    stages = {s["stage"]: s for s in load("azure-pipelines.yml")["stages"]}
    published = {step["artifact"]: step["publish"] for step in azure_steps(stages["build"]) if "publish" in step}
    assert published == {"sbom": "build/image/sbom.cdx.json", "image": "build/image"}
    push = azure_steps(stages["push"])
    assert {"download": "current", "artifact": "image"} in push
    [copy] = [step for step in push if step.get("task") == "CopyFiles@2"]
    assert copy["inputs"] == {"SourceFolder": "$(Pipeline.Workspace)/image", "Contents": "**", "TargetFolder": "build/image"}


SHA_PINNED_ACTION = re.compile(r"^\s*- uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def test_every_github_action_is_pinned_by_commit_sha_with_its_version_in_a_comment():
    lines = [line for line in (ROOT / ".github/workflows/pipeline.yml").read_text().splitlines() if "uses:" in line]
    assert lines
    assert [line for line in lines if not SHA_PINNED_ACTION.match(line)] == []
    # One version per action: a SHA bump is done everywhere at once.
    pins = {}
    for line in lines:
        action, sha = SHA_PINNED_ACTION.match(line).groups()
        assert pins.setdefault(action, sha) == sha, f"{action} is pinned to two commits"


def test_every_gitlab_image_is_pinned_by_digest():
    doc = load("ci/pipeline.yml")
    images = [doc["default"]["image"]]
    images += [service["name"] for job in doc.values() if isinstance(job, dict) for service in job.get("services", [])]
    images += [job["image"] for job in doc.values() if isinstance(job, dict) and isinstance(job.get("image"), str)]
    assert [image for image in images if not re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image)] == []

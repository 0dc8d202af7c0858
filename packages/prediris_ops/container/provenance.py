"""Which build made an image: the build record `invoke build` writes beside the image's SBOM.

CI builds the image once: the build job records it (image id, tags, commit, CI run), tests it, saves it
with `invoke save`, and the push job loads that archive and pushes exactly the recorded image, so the
digest deployed traces back to the run whose tests passed.
"""

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import run

# The tests of the built image (marked `image`) use the image this variable names instead of building one.
TESTED_IMAGE_ENV = "PREDIRIS_TEST_IMAGE"


def without_credentials(url: str) -> str:
    """Return `url` without its user and password: a CI clone URL carries a job token
    (`https://gitlab-ci-token:<CI_JOB_TOKEN>@gitlab.com/…`), which must never be written into an image or a record.
    An scp-like git address (`git@host:path`) names a user, no secret, and is kept."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def ci_run(environ: Mapping[str, str] = os.environ) -> dict[str, str] | None:
    """Return the CI run this process belongs to (GitHub Actions, GitLab CI, Azure Pipelines), or None."""
    if environ.get("GITHUB_ACTIONS") == "true":
        run_id = environ.get("GITHUB_RUN_ID", "")
        url = f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_id}"
        return {"provider": "github", "run": run_id, "attempt": environ.get("GITHUB_RUN_ATTEMPT", "1"), "url": url}
    if environ.get("GITLAB_CI") == "true":
        job = environ.get("CI_JOB_ID", "")
        return {"provider": "gitlab", "run": environ.get("CI_PIPELINE_ID", ""), "job": job, "url": environ.get("CI_JOB_URL", "")}
    if environ.get("TF_BUILD", "").lower() == "true":
        build_id = environ.get("BUILD_BUILDID", "")
        project = f"{environ.get('SYSTEM_COLLECTIONURI', '')}{environ.get('SYSTEM_TEAMPROJECT', '')}"
        return {"provider": "azure-pipelines", "run": build_id, "url": f"{project}/_build/results?buildId={build_id}"}
    return None


@dataclass(frozen=True)
class BuildRecord:
    """What `invoke build` built: the image id and tags, from which commit, in which CI run (None: locally)."""

    image_id: str
    tags: list[str]
    revision: str
    built_at: str
    ci_run: dict[str, str] | None
    sbom: str

    @property
    def built_by(self) -> str:
        """The CI run's URL, or `a local build`."""
        return self.ci_run["url"] if self.ci_run else "a local build"


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_record(path: Path, record: BuildRecord) -> None:
    """Write the build record as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2) + "\n")


def read_record(path: Path) -> BuildRecord:
    """Return the build record, or stop naming the command that writes it."""
    try:
        return BuildRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise OpsError(
            f"no build record {path}: run `invoke build` first (in CI, download the build job's image artifact)", code=2
        ) from None
    except (ValueError, TypeError) as error:
        raise OpsError(f"{path} is not a build record ({error}): run `invoke build` again", code=2) from None


def image_id(docker: str, reference: str) -> str | None:
    """Return the id of the local image `reference`, or None when the engine has no such image."""
    result = run([docker, "image", "inspect", "--format", "{{.Id}}", reference], capture=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def save_argv(docker: str, record: BuildRecord, archive: Path) -> list[str]:
    """Return the `docker save` that writes the recorded image, with all its tags, to `archive`."""
    return [docker, "save", "--output", str(archive), *record.tags]


def require_recorded_image(docker: str, record: BuildRecord, archive: Path | None = None) -> str:
    """Return the recorded image's first tag once the engine holds exactly the recorded image.

    When the engine lacks it (a fresh CI job) and `archive` exists, the archive `invoke save` wrote is
    loaded first. An image with another id under the recorded tag is refused: it is not what was tested.
    """
    reference = record.tags[0]
    if image_id(docker, reference) != record.image_id and archive is not None and archive.exists():
        run([docker, "load", "--input", str(archive)], capture=True)
        print(f"loaded {reference} from {archive}")
    found = image_id(docker, reference)
    if found is None:
        raise OpsError(f"no image {reference} here: run `invoke build`, or put the build job's `invoke save` archive at {archive}", code=1)
    if found != record.image_id:
        raise OpsError(
            f"{reference} is {found}, not the recorded build {record.image_id} (built by {record.built_by}): "
            "rebuild with `invoke build` or load the archive of the build that was tested",
            code=1,
        )
    return reference

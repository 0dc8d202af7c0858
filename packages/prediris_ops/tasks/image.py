"""`invoke build` (the container image, its build record and SBOM), `invoke save` (the built image as an
archive for the next CI job), `invoke lock` (its pinned, hashed dependencies), `invoke base-image`."""

from pathlib import Path

from invoke.exceptions import Exit

from prediris_ops.checks.lint import LINTERS
from prediris_ops.container import docker as dockercli
from prediris_ops.container import engine
from prediris_ops.container.lock import lock_text, read_lock_text
from prediris_ops.container.provenance import BuildRecord, ci_run, now_utc, read_record, require_recorded_image, save_argv, write_record
from prediris_ops.core.model import ensure_model
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import run_in
from prediris_ops.tasks.exits import task


def parse_build_args(pairs: list[str]) -> dict[str, str]:
    """Turn `KEY=VALUE` flags into a mapping; stop on a pair without `=`."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Exit(f"--build-arg {pair!r} is not KEY=VALUE", code=2)
        parsed[key] = value
    return parsed


@task(
    iterable=["build_arg"],
    help={
        "image": "Image name (default: docker.image, efreiprediris); tagged :<git short sha> and :latest.",
        "docker": "Docker client executable (default: docker.executable; it must support BuildKit).",
        "ca-bundle": "PEM file of CAs pip must trust, as a BuildKit secret (default: docker.ca_bundle, auto); `none` to omit.",
        "base-image": "Base image (default: docker.base_image, debian:bookworm-slim).",
        "build-arg": "KEY=VALUE build argument, repeatable (added to docker.build_args).",
        "no-cache": "Build every layer again (a cold build).",
    },
)
def build(c, *, image=None, docker=None, ca_bundle=None, base_image=None, build_arg=None, no_cache=False):
    """Train if needed, lint the Dockerfile, build the image with BuildKit; write its build record and SBOM."""
    from prediris_ops.container.build import plan_build, size_report
    from prediris_ops.container.sbom import write_sbom

    hadolint = next(linter for linter in LINTERS if linter.name == "hadolint")
    if not hadolint.available():
        raise Exit("hadolint is not installed: this task needs the image extra (pip install -e '.[image]')", code=2)
    ensure_model(c.model)
    run_in(c, hadolint.argv(ROOT))
    spec, notes = plan_build(
        c.config, docker=docker, image=image, ca_bundle=ca_bundle, base_image=base_image, build_args=parse_build_args(build_arg or [])
    )
    for note in notes:
        print(note)
    argv = spec.argv()
    if no_cache:
        argv.insert(2, "--no-cache")
    run_in(c, argv, env=dockercli.BUILDKIT_ENV)
    info = dockercli.inspect_image(spec.docker, spec.tags[0])
    print(f"built {', '.join(spec.tags)}")
    print(f"  id {info.id} (the registry digest is known once pushed)")
    print(f"  {size_report(info, float(c.docker.size_budget_mb))}, largest layers:")
    for size, instruction in sorted(dockercli.history(spec.docker, spec.tags[0]), reverse=True)[:3]:
        print(f"    {size / 1e6:5.0f} MB  {' '.join(instruction.split())[:100] or 'the base image'}")
    sbom = ROOT / c.docker.sbom
    packages = write_sbom(spec.docker, spec.tags[0], sbom)
    print(f"SBOM of the image's Python environment ({len(packages)} packages, CycloneDX): {c.docker.sbom}")
    record = BuildRecord(info.id, list(spec.tags), spec.build_args["OCI_REVISION"], now_utc(), ci_run(), c.docker.sbom)
    write_record(ROOT / c.docker.build_record, record)
    print(f"recorded in {c.docker.build_record}: built by {record.built_by}")


@task(help={"docker": "Docker client executable (default: docker.executable)."})
def save(c, docker=None):
    """Write the image `invoke build` recorded to docker.archive, for a later CI job to load and push."""
    client = dockercli.resolve_client(docker or c.docker.executable)
    record = read_record(ROOT / c.docker.build_record)
    require_recorded_image(client, record)
    archive = ROOT / c.docker.archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    run_in(c, save_argv(client, record, archive))
    print(f"saved {', '.join(record.tags)} ({record.image_id}) to {c.docker.archive}: {archive.stat().st_size / 1e6:.0f} MB")


@task(
    help={
        "check": "Do not write: exit 1 when a committed lock differs from what uv writes for the installed versions.",
        "ca-bundle": "PEM file of CAs uv trusts to reach the package index (default: docker.ca_bundle, auto); `none` for its own.",
    }
)
def lock(c, check=False, ca_bundle=None):
    """Lock, with uv and hashes, the image's runtime set and the CI jobs' tools at the versions tested here."""
    bundle = ca_bundle if ca_bundle is not None else c.docker.ca_bundle
    stale = []
    for name, extras in ((c.docker.lock_file, ()), (c.docker.ci_lock_file, tuple(c.docker.ci_lock_extras))):
        path = ROOT / name
        current = path.read_text() if path.exists() else ""
        text = lock_text(extras, ca_bundle=bundle)
        count = text.count("--hash=sha256:")
        if check:
            stale += [name] if current != text else []
            print(f"{name}: {'differs from' if current != text else 'matches'} what uv writes for the installed versions")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"{'updated' if current != text else 'unchanged'} {name}: {len(read_lock_text(text))} distributions, {count} hashes (uv)")
    if stale:
        raise Exit(f"{', '.join(stale)}: not what `invoke lock` writes now; run `invoke lock` and commit the result", code=1)


@task(help={"docker": "Docker client executable (default: docker.executable)."})
def base_image(c, docker=None):
    """Provide the base image where no registry is reachable: pull it, else debootstrap and import it."""
    client = dockercli.resolve_client(docker or c.docker.executable)
    if engine.server_version(client) is None:
        raise Exit(f"no Docker engine answers `{client} info`: start dockerd (or Docker Desktop) first", code=2)
    cache = Path(c.docker.cache_dir or engine.DEFAULT_CACHE).expanduser()
    how = engine.ensure_base_image(client, c.docker.base_image, cache_dir=cache)
    print(f"{c.docker.base_image}: {how}")

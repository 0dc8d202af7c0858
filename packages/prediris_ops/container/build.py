"""The image build as configured: the BuildSpec `invoke build` (and the image tests) run, and its size check."""

from pathlib import Path

from prediris_ops.container import docker as dockercli
from prediris_ops.container.image import base_image as choose_base
from prediris_ops.container.image import image_tags, label_args, model_pin, pinned_base, training_args
from prediris_ops.core.paths import ROOT


def plan_build(
    config,
    *,
    docker: str | None = None,
    image: str | None = None,
    tags: list[str] | None = None,
    ca_bundle: str | None = None,
    base_image: str | None = None,
    build_args: dict[str, str] | None = None,
    model_dir: str | Path | None = None,
    progress: str = "auto",
) -> tuple[dockercli.BuildSpec, list[str]]:
    """Return the build to run (from configuration, overridden by the arguments) and notes to print."""
    settings = config.docker
    client = docker or dockercli.resolve_client(settings.executable)
    pinned = pinned_base(ROOT / settings.dockerfile)
    if base_image and base_image != pinned:
        base, base_note = base_image, f"base image: {base_image} (--base-image): the Dockerfile's pin {pinned} is bypassed"
    else:
        base, base_note = choose_base(client, pinned, settings.base_image)
    args = {
        "BASE_IMAGE": base,
        **training_args(config.model),
        **label_args(ROOT, settings.source),
    }
    digest, why = model_pin(model_dir or config.model.dir, ROOT / settings.lock_file)
    notes = [base_note, f"model: {'pinned' if digest else 'not pinned'}: {why}"]
    if digest:
        args["MODEL_SHA256"] = digest
    args.update({key: str(value) for key, value in (settings.build_args or {}).items()})
    args.update(build_args or {})
    bundle = dockercli.find_ca_bundle(ca_bundle if ca_bundle is not None else settings.ca_bundle)
    notes.append(f"CA bundle for pip: {bundle or 'none'}")
    spec = dockercli.BuildSpec(
        docker=client,
        context=ROOT,
        tags=tags or image_tags(image or settings.image, ROOT),
        build_args=args,
        ca_bundle=bundle,
        dockerfile=settings.dockerfile,
        progress=progress,
    )
    return spec, notes


def size_report(info: dockercli.ImageInfo, budget_mb: float) -> str:
    """Return the size line, with a warning when the image is over the budget."""
    line = f"size {info.size_mb:.0f} MB (budget {budget_mb:.0f} MB)"
    if info.size_mb > budget_mb:
        line += f" — WARNING: over the size budget by {info.size_mb - budget_mb:.0f} MB (docker.size_budget_mb)"
    return line

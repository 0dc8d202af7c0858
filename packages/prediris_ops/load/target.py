"""What `invoke perf` loads: the local API (reused when one answers where `invoke up` serves, else
started for the run and stopped after it), any URL, or `azure`: the configured Container App, whose
replicas are then watched through the Azure SDK (also for a URL of that app, or with --watch-replicas)."""

from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from prediris_ops.core.apiconfig import api_settings
from prediris_ops.core.errors import OpsError
from prediris_ops.core.localapi import answers, local_api
from prediris_ops.core.model import ensure_model
from prediris_ops.load.replicas import ReplicaWatcher, ScaleRule, count_replicas

AZURE = "azure"
AZURE_APPS_DOMAIN = ".azurecontainerapps.io"


def scale_rule(config: Mapping) -> ScaleRule:
    """Return Azure's HTTP scale rule as deploy configures it (azure section), for the local model."""
    section = config.get("azure", {})
    return ScaleRule(
        concurrent_requests=int(section.get("concurrency_target") or 10),
        min_replicas=int(section.get("min_replicas") or 0),
        max_replicas=int(section.get("max_replicas") or 10),
    )


def is_azure_app_url(config: Mapping, url: str) -> bool:
    """Return True when `url` is the configured Container App's default domain (<app>.<env>.<region>.azurecontainerapps.io)."""
    host = urlsplit(url).hostname or ""
    app = (config.get("azure", {}).get("app") or "").lower()
    return bool(app) and host.startswith(app + ".") and host.endswith(AZURE_APPS_DOMAIN)


@contextmanager
def watched_app(config: Mapping):
    """Yield (app URL, ReplicaWatcher) for the configured Container App, its access checked by a first poll."""
    try:
        from azure.core.exceptions import AzureError  # noqa: PLC0415

        from prediris_ops.azure.clients import AzureClients  # noqa: PLC0415 (the deploy extra is optional)
        from prediris_ops.azure.errors import azure_errors  # noqa: PLC0415
        from prediris_ops.azure.target import target_from_config  # noqa: PLC0415
    except ImportError as error:
        raise OpsError(f"watching replicas needs the Azure SDK ({error.name}): pip install -e '.[deploy]'", code=2) from None
    target = target_from_config(config)
    with azure_errors(f"Container App {target.app}"), AzureClients(target) as clients:
        url = azure_url(clients.apps, target.resource_group, target.app)

        def read() -> int:
            return count_replicas(clients.apps, target.resource_group, target.app)

        every = float(config["perf"]["replica_poll_seconds"])
        print(f"replicas: Container App {target.app} runs {read()} now; polling every {every:g} s", flush=True)
        yield url, ReplicaWatcher(read, every, transient=(AzureError, OSError))


def azure_url(client, resource_group: str, app: str) -> str:
    """Return the public URL of the Container App (https:// and its ingress FQDN)."""
    found = client.container_apps.get(resource_group, app)
    ingress = found.configuration.ingress if found.configuration else None
    if ingress is None or not ingress.fqdn:
        raise OpsError(f"Container App {app} has no ingress FQDN: deploy it with `invoke deploy` first", code=2)
    return f"https://{ingress.fqdn}"


@contextmanager
def target_api(config: Mapping, target: str | None, report_dir: Path, watch_replicas: bool = False):
    """Yield (base URL, replica watcher or None); start a local API when none answers, stop it after."""
    if target == AZURE or (target and is_azure_app_url(config, target)) or watch_replicas:
        with (
            watched_app(config) as (app_url, watcher),
            _plain_target(config, None if target == AZURE else target, report_dir, app_url) as url,
        ):
            yield url, watcher
        return
    with _plain_target(config, target, report_dir) as url:
        yield url, None


@contextmanager
def _plain_target(config: Mapping, target: str | None, report_dir: Path, default: str | None = None):
    given = target or default
    if given:
        yield given.rstrip("/")
        return
    running = api_settings(config).base_url
    if answers(running + "/health/ready"):
        print(f"target: the API already running at {running}", flush=True)
        yield running
        return
    local = api_settings(config)
    ensure_model(config["model"], local.model_dir)
    settings = {"threads": local.threads} if local.threads else {}
    with local_api(local.model_dir, report_dir / "api.log", host=local.host, settings=settings) as api:
        print(
            f"target: started the API at {api.base_url} for this run (pid {api.pid}, log {api.log_path}); it stops afterwards", flush=True
        )
        yield api.base_url

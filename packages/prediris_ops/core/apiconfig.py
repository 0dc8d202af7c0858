"""Where the local API listens and what it serves, as every task sees it.

Precedence, highest first: the task's flag (`--port`), then the service's own variables
(PREDIRIS_HOST, PREDIRIS_PORT, then PORT, PREDIRIS_THREADS, PREDIRIS_MODEL_DIR), then invoke's
configuration (INVOKE_API_PORT, then invoke.yaml's `api` and `model` sections). So
`PREDIRIS_PORT=8000 invoke up` serves on 8000, as `python -m prediris_api` would, and `invoke smoke`
then checks that port.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from prediris_ops.core.errors import OptionError


@dataclass(frozen=True)
class APISettings:
    host: str
    port: int
    threads: int | None
    model_dir: str
    # The port serving /metrics alone (PREDIRIS_METRICS_PORT, api.metrics_port); None: /metrics on `port`.
    metrics_port: int | None = None

    @property
    def scrape_port(self) -> int:
        """Return the port Prometheus scrapes /metrics on."""
        return self.metrics_port or self.port

    @property
    def base_url(self) -> str:
        """Return the URL a client on this machine uses (a wildcard address is reached on 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def server_env(self) -> dict[str, str]:
        """Return the PREDIRIS_* variables that make the server use these settings."""
        env = {"PREDIRIS_HOST": self.host, "PREDIRIS_PORT": str(self.port), "PREDIRIS_MODEL_DIR": self.model_dir}
        if self.threads:
            env["PREDIRIS_THREADS"] = str(self.threads)
        if self.metrics_port:
            env["PREDIRIS_METRICS_PORT"] = str(self.metrics_port)
        return env


def api_settings(
    config: Mapping, *, host=None, port=None, threads=None, model_dir=None, environ: Mapping[str, str] | None = None
) -> APISettings:
    """Return the settings from flags, else the service's PREDIRIS_* variables, else invoke's configuration."""
    environ = os.environ if environ is None else environ

    def pick(flag, flag_name: str, variables: tuple[str, ...], configured):
        if flag not in (None, ""):
            return flag, flag_name
        for name in variables:
            if environ.get(name, "") != "":
                return environ[name], name
        return configured, None

    port_value, port_source = pick(port, "--port", ("PREDIRIS_PORT", "PORT"), config["api"]["port"])
    threads_value, threads_source = pick(threads, "--threads", ("PREDIRIS_THREADS",), config["api"].get("threads"))
    host_value, _ = pick(host, "--host", ("PREDIRIS_HOST",), config["api"]["host"])
    directory, _ = pick(model_dir, "--model-dir", ("PREDIRIS_MODEL_DIR",), config["model"]["dir"])
    metrics_value, metrics_source = pick(None, "", ("PREDIRIS_METRICS_PORT",), config["api"].get("metrics_port"))
    return APISettings(
        host=str(host_value),
        port=_whole(port_value, port_source or "api.port"),
        threads=_whole(threads_value, threads_source or "api.threads") if threads_value not in (None, "") else None,
        model_dir=str(directory),
        metrics_port=_whole(metrics_value, metrics_source or "api.metrics_port") if metrics_value not in (None, "", 0, "0") else None,
    )


def _whole(value, source: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OptionError(f"{source}={value!r} is not an integer") from None

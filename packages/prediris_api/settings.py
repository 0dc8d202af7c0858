"""The service's settings: every default in one place, overridden by `PREDIRIS_*` (and `PORT`) variables.

The container has no invoke configuration, so the service reads only its environment; `invoke up`
passes its own options through the same variables.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class SettingsError(ValueError):
    """An environment variable that cannot be used; the message names it and the expected form."""


def setting(default: Any, doc: str, **options: Any) -> Any:
    """Declare a setting with its default and the one line the manual's configuration table shows."""
    return field(default=default, metadata={"doc": doc}, **options)


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "Interface to listen on (the image sets 0.0.0.0).")
    port: int = setting(5000, "TCP port; PREDIRIS_PORT wins over PORT (what Azure Container Apps and Cloud Run set).")
    # Waitress worker threads. Every thread competes for the GIL: 8 keeps the tail short under
    # overload (README, "Reliability") and is as fast as 4 or 16 at 100 clients ("Performance").
    threads: int = setting(8, "Waitress worker threads.")
    # Open connections waitress accepts; well above the design load of 100 concurrent clients.
    connection_limit: int = setting(1000, "Open connections accepted (waitress's default, 100, stalls at 100 clients).")
    model_dir: str = setting("models", "Folder holding iris-knn.joblib and its card iris-knn.json.")
    model_sha256: str = setting("", "Pin the model's SHA-256: any other file is refused before it is unpickled.")
    max_body_bytes: int = setting(64 * 1024, "Larger request bodies get 413 body-too-large.")
    max_batch_rows: int = setting(1000, "Larger batches get 413 batch-too-large.")
    # "auto": the fast exact kernel, used once verified equal to predict/predict_proba (kernel.py);
    # "public": always call scikit-learn's predict and predict_proba.
    model_kernel: str = setting(
        "auto",
        "auto: the fast exact kernel, once verified equal to the model at start; public: always scikit-learn's predict/predict_proba.",
    )
    # Admission control (see admission.py): requests the replica holds at once, executing or waiting
    # for a worker thread, and of those the ones waiting; beyond either, 503 at once. 128 admits the
    # design load of 100 busy clients without shedding; the queue bound binds only with more threads.
    max_in_flight: int = setting(
        128, "Requests in the replica, executing or waiting for a thread; the next one gets 503 overloaded at once."
    )
    max_queue: int = setting(256, "Of those, requests waiting for a worker thread.")
    retry_after_seconds: int = setting(1, "The Retry-After of a shed request, in seconds.")
    # Seconds to finish in-flight requests after SIGTERM (Azure waits 30 s before SIGKILL).
    shutdown_grace_seconds: float = setting(20.0, "Seconds to drain after SIGTERM before exiting.")
    # Seconds a connection may stay idle or stall mid-request before waitress closes it.
    channel_timeout_seconds: int = setting(30, "Idle connections, and requests not fully received after this many seconds, are closed.")
    access_log: bool = setting(False, "One JSON access-log line per request.")
    # Answer well-formed POST /predict requests without Flask (serving/fastpath.py); same replies.
    wsgi_fast_path: bool = setting(
        True, "Answer well-formed POST /predict without Flask, with the same replies; false: always through Flask."
    )
    # Drift (docs/drift.md): each predicted row counted per feature in its model-card bin; false only to
    # measure what the counting costs (`invoke bench --ab drift_metrics=false`).
    drift_metrics: bool = setting(True, "Count each predicted row in its drift reference bin per feature; false: no drift metrics.")
    log_level: str = setting("INFO", "Level of the service's log lines on stderr: DEBUG, INFO, WARNING or ERROR.")
    # The public surface (docs/security.md). 0: /metrics on the API port (the local default); a port:
    # /metrics there only (an internal port on Azure), and 404 on the API port.
    metrics_port: int = setting(0, "Serve /metrics on this port only (404 on the API port); 0: on the API port.")
    # Show library versions (/model's versions and runtime_warnings, V2's platform): on locally, off in the image.
    expose_runtime: bool = setting(True, "Show library versions in /model and V2 metadata (the image sets false).")
    # Comma-separated keys that /predict and V2 inference require; empty: no key needed. Never printed.
    api_keys: str = setting("", "Comma-separated keys /predict and V2 inference require (Bearer or X-API-Key); empty: open.", repr=False)

    @property
    def api_key_list(self) -> tuple[str, ...]:
        """Return the configured API keys (blanks around commas ignored)."""
        return tuple(key.strip() for key in self.api_keys.split(",") if key.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read `PREDIRIS_<FIELD>` variables (and `PORT`), then apply explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if environ.get("PORT"):
            values["port"] = _convert("PORT", environ["PORT"], int)
        for item in fields(cls):
            name = f"PREDIRIS_{item.name.upper()}"
            if environ.get(name, "") != "":
                values[item.name] = _convert(name, environ[name], item.type)
        values.update({key: value for key, value in overrides.items() if value is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse values that cannot work, naming the variable to fix."""
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"PREDIRIS_PORT={self.port} is not a TCP port (0-65535)")
        if not 0 <= self.metrics_port <= 65535:
            raise SettingsError(f"PREDIRIS_METRICS_PORT={self.metrics_port} is not a TCP port (1-65535, or 0 for the API port)")
        if self.metrics_port and self.metrics_port == self.port:
            raise SettingsError(
                f"PREDIRIS_METRICS_PORT={self.metrics_port} is the API port; use another port, or 0 to serve /metrics there"
            )
        if self.api_keys.strip() and not self.api_key_list:
            raise SettingsError("PREDIRIS_API_KEYS holds no key; give one or more keys separated by commas, or leave it empty")
        for name in ("threads", "connection_limit", "max_body_bytes", "max_batch_rows", "max_in_flight"):
            if getattr(self, name) < 1:
                raise SettingsError(f"PREDIRIS_{name.upper()}={getattr(self, name)} must be at least 1")
        if self.model_kernel not in ("auto", "public"):
            raise SettingsError(f"PREDIRIS_MODEL_KERNEL={self.model_kernel!r} must be auto or public")
        if self.max_queue < 0 or self.shutdown_grace_seconds < 0 or self.retry_after_seconds < 0:
            raise SettingsError("PREDIRIS_MAX_QUEUE, PREDIRIS_RETRY_AFTER_SECONDS and PREDIRIS_SHUTDOWN_GRACE_SECONDS must not be negative")


def _convert(name: str, raw: str, kind: type | str) -> object:
    if isinstance(kind, str):  # a field annotated with a string
        kind = {"int": int, "float": float, "bool": bool, "str": str}[kind]
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")
    try:
        return kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {'an integer' if kind is int else 'a number' if kind is float else 'valid'}") from None

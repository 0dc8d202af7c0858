"""The service's settings: every default in one place, overridden by `PREDIRIS_*` (and `PORT`) variables.

The container has no invoke configuration, so the service reads only its environment; `invoke up`
passes its own options through the same variables.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


class SettingsError(ValueError):
    """An environment variable that cannot be used; the message names it and the expected form."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    # Waitress worker threads. Every thread competes for the GIL: 8 keeps the tail short under
    # overload (README, "Reliability") and is as fast as 4 or 16 at 100 clients ("Performance").
    threads: int = 8
    # Open connections waitress accepts; well above the design load of 100 concurrent clients.
    connection_limit: int = 1000
    model_dir: str = "models"
    model_sha256: str = ""
    max_body_bytes: int = 64 * 1024
    max_batch_rows: int = 1000
    # "auto": the fast exact kernel, used once verified equal to predict/predict_proba (kernel.py);
    # "public": always call scikit-learn's predict and predict_proba.
    model_kernel: str = "auto"
    # Admission control (see admission.py): requests the replica holds at once, executing or waiting
    # for a worker thread, and of those the ones waiting; beyond either, 503 at once. 128 admits the
    # design load of 100 busy clients without shedding; the queue bound binds only with more threads.
    max_in_flight: int = 128
    max_queue: int = 256
    retry_after_seconds: int = 1
    # Seconds to finish in-flight requests after SIGTERM (Azure waits 30 s before SIGKILL).
    shutdown_grace_seconds: float = 20.0
    # Seconds a connection may stay idle or stall mid-request before waitress closes it.
    channel_timeout_seconds: int = 30
    access_log: bool = False
    # Answer well-formed POST /predict requests without Flask (serving/fastpath.py); same replies.
    wsgi_fast_path: bool = True
    log_level: str = "INFO"

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

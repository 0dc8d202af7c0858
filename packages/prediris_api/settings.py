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
    # Python threads that run requests (granian's blocking threads). Every thread competes for the GIL: 4
    # serve 100 clients with more requests per second and a 5x shorter p99 than 16 (docs/performance.md).
    # The in-flight gauge counts at most this many: Kubernetes sets it above KEDA's threshold.
    threads: int = setting(4, "Python threads that run requests (granian's blocking threads); more wait in granian's queue.")
    # Open connections one replica holds (granian's backpressure): above any load we test (2,000).
    connection_limit: int = setting(4096, "Open connections the replica holds; beyond it new connections wait in the listen backlog.")
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
    # Load shedding (serving/layer.py), off by default: requests past the threads wait in granian's queue.
    # Set below `threads` to answer 503 at once past that many running requests.
    max_in_flight: int = setting(
        0, "Shed: past this many running requests, 503 overloaded with Retry-After; 0: off (must be below PREDIRIS_THREADS)."
    )
    retry_after_seconds: int = setting(1, "The Retry-After of a shed request, in seconds.")
    # The drain (serving/drain.py): on SIGTERM, readiness fails at once while the replica keeps serving
    # for drain_delay_seconds (balancers checking every second with threshold 2 stop routing to it), then
    # it stops accepting and answers what it accepted within shutdown_grace_seconds.
    drain_delay_seconds: float = setting(
        5.0, "After SIGTERM, seconds /health/ready answers 503 while the replica still serves, so balancers stop routing to it."
    )
    shutdown_grace_seconds: float = setting(
        10.0, "After the drain delay, seconds to finish the requests already accepted before they are cut."
    )
    header_timeout_seconds: int = setting(30, "A request whose headers are not complete after this many seconds is closed (1-60).")
    access_log: bool = setting(False, "One JSON access-log line per request.")
    # Answer well-formed POST /predict requests in the WSGI layer, without Flask (serving/layer.py); same replies.
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
        if (short := short_key_error(self.api_key_list)) is not None:
            raise SettingsError(short)
        for name in ("threads", "connection_limit", "max_body_bytes", "max_batch_rows"):
            if getattr(self, name) < 1:
                raise SettingsError(f"PREDIRIS_{name.upper()}={getattr(self, name)} must be at least 1")
        if self.max_in_flight < 0 or (self.max_in_flight and self.max_in_flight >= self.threads):
            raise SettingsError(
                f"PREDIRIS_MAX_IN_FLIGHT={self.max_in_flight} can never shed with {self.threads} threads: "
                "set it below PREDIRIS_THREADS, or 0 for no shedding"
            )
        if not 1 <= self.header_timeout_seconds <= 60:
            raise SettingsError(f"PREDIRIS_HEADER_TIMEOUT_SECONDS={self.header_timeout_seconds} must be between 1 and 60")
        if self.model_kernel not in ("auto", "public"):
            raise SettingsError(f"PREDIRIS_MODEL_KERNEL={self.model_kernel!r} must be auto or public")
        for name in ("retry_after_seconds", "drain_delay_seconds", "shutdown_grace_seconds"):
            if getattr(self, name) < 0:
                raise SettingsError(f"PREDIRIS_{name.upper()}={getattr(self, name)} must not be negative")


# A key anyone can guess protects nothing: shorter keys are refused at start (docs/security.md).
MIN_API_KEY_LENGTH = 16
KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def short_key_error(keys: tuple[str, ...]) -> str | None:
    """Return the one-line refusal of keys shorter than MIN_API_KEY_LENGTH (naming their position, never
    the key), or None when every key is long enough."""
    short = [index for index, key in enumerate(keys, start=1) if len(key) < MIN_API_KEY_LENGTH]
    if not short:
        return None
    which = "key" if len(short) == 1 else "keys"
    return (
        f"PREDIRIS_API_KEYS: {which} {', '.join(map(str, short))} of {len(keys)} {'is' if len(short) == 1 else 'are'} shorter than "
        f"{MIN_API_KEY_LENGTH} characters; use long random keys, e.g. {KEY_HINT}"
    )


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

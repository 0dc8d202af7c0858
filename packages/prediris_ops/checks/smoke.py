"""The curl smoke test, in Python: a known flower of each class, health, model card and error handling.

Used by `invoke smoke`, by `invoke deploy` after a rollout, and by the end-to-end tests.
"""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from prediris_ops.core.errors import OpsError

# One well-known flower of each species (rows 0, 50 and 100 of the Iris data).
KNOWN_FLOWERS = (
    ("setosa", [5.1, 3.5, 1.4, 0.2]),
    ("versicolor", [7.0, 3.2, 4.7, 1.4]),
    ("virginica", [6.3, 3.3, 6.0, 2.5]),
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def first_key(keys: str | None) -> str | None:
    """Return the first of comma-separated API keys (as PREDIRIS_API_KEYS holds them), None when there is none."""
    return next((key.strip() for key in (keys or "").split(",") if key.strip()), None)


def _request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 10.0,
    api_key: str | None = None,
):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    if api_key:
        request.add_header("X-API-Key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def require_listening(base_url: str, timeout: float = 3.0) -> None:
    """Stop with one line naming the fix when nothing accepts connections at `base_url` (no API started)."""
    url = urllib.parse.urlsplit(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "127.0.0.1", port), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OpsError(f"nothing answers at {base_url} ({reason.lower()}): start the API with `invoke up`, or pass --url", code=1) from None


def run_checks(base_url: str, timeout: float = 10.0, api_key: str | None = None) -> list[Check]:
    """Run every smoke check against `base_url` (predictions with `api_key`, when given); never raises for an HTTP-level failure."""
    base = base_url.rstrip("/")
    checks: list[Check] = []

    def check(name: str, func) -> None:
        try:
            ok, detail = func()
        except (OSError, ValueError, KeyError, TypeError) as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
        checks.append(Check(name, ok, detail))

    def health(path: str):
        status, _, _ = _request(base + path, timeout=timeout)
        return status == 200, f"HTTP {status}"

    def flower(expected: str, row: list[float]):
        status, _, raw = _request(base + "/predict", "POST", json.dumps({"X": row}).encode(), "application/json", timeout, api_key)
        if status != 200:
            return False, f"HTTP {status}: {raw[:200].decode(errors='replace')}"
        answer = json.loads(raw)
        return answer.get("prediction") == expected, f"{row} → {answer.get('prediction')} (model {answer.get('model_version')})"

    def model_card():
        status, _, raw = _request(base + "/model", timeout=timeout)
        card = json.loads(raw) if status == 200 else {}
        return status == 200 and bool(card.get("sha256")), f"HTTP {status}, version {card.get('version')}"

    def refuses(body: bytes, content_type: str, expected_status: int):
        def probe():
            status, media_type, raw = _request(base + "/predict", "POST", body, content_type, timeout, api_key)
            problem = json.loads(raw) if media_type == "application/problem+json" else {}
            ok = status == expected_status and problem.get("status") == expected_status
            return ok, f"HTTP {status} {media_type}: {problem.get('detail', raw[:120].decode(errors='replace'))}"

        return probe

    check("GET /health/live", lambda: health("/health/live"))
    check("GET /health/ready", lambda: health("/health/ready"))
    for expected, row in KNOWN_FLOWERS:
        check(f"predicts {expected}", lambda expected=expected, row=row: flower(expected, row))
    check("GET /model", model_card)
    check("refuses a body that is not JSON", refuses(b"{not json", "application/json", 400))
    check("refuses a missing X", refuses(b'{"x": [5.1, 3.5, 1.4, 0.2]}', "application/json", 400))
    check("refuses a non-JSON Content-Type", refuses(b"X=1", "text/plain", 415))
    return checks

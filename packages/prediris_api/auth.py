"""Optional API keys for predictions (PREDIRIS_API_KEYS, see docs/security.md).

When keys are configured, `POST /predict` and the V2 inference routes need `Authorization: Bearer <key>`
or `X-API-Key: <key>`; every other route stays open. A refusal answers 401 with a
`WWW-Authenticate` challenge and is counted in `prediris_auth_refusals_total` by reason. A key is
compared with every configured key in constant time, and is never logged, echoed or counted.
"""

import hmac
from collections.abc import Sequence

from prediris_api.protocol.problems import Problem
from prediris_metrics import PredirisMetrics

REFUSAL_REASONS = ("missing", "invalid")
# The problem type of a refusal; counted here by reason, not as an invalid request (app.py).
PROBLEM_SLUG = "unauthorized"
CHALLENGE = 'Bearer realm="prediris"'
_DETAILS = {
    "missing": "this route needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>",
    "invalid": "the API key is not valid: send a current key as Authorization: Bearer <key> or X-API-Key: <key>",
}


class KeyChecker:
    """Decides whether a request's credentials hold one of the configured keys."""

    def __init__(self, keys: Sequence[str]):
        self._keys = tuple(key.encode() for key in keys)

    def refusal(self, authorization: str | None, api_key: str | None) -> str | None:
        """Return None when a configured key is offered, else why not: `missing` or `invalid`."""
        offered = api_key
        if offered is None and authorization is not None:
            scheme, _, credentials = authorization.strip().partition(" ")
            offered = credentials.strip() if scheme.lower() == "bearer" else ""
        if offered is None:
            return "missing"
        # WSGI hands headers over as latin-1 text: back to the bytes the client sent.
        candidate = offered.encode("latin-1", errors="replace")
        matched = False
        for key in self._keys:  # no early exit: the time does not depend on which key matched
            matched |= hmac.compare_digest(key, candidate)
        return None if matched else "invalid"


def unauthorized(reason: str) -> Problem:
    """Return the 401 answer for a refusal `reason`."""
    return Problem(PROBLEM_SLUG, _DETAILS[reason], headers={"WWW-Authenticate": CHALLENGE})


def prepare_metrics(metrics: PredirisMetrics) -> None:
    """Create the refusal counter's series, so a first refusal is visible to rate()."""
    for reason in REFUSAL_REASONS:
        metrics.auth_refusals.labels(reason)

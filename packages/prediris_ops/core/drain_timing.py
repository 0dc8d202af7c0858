"""How a platform stops a replica, derived from the API's drain settings, the same on every platform.

The replica drains on SIGTERM (prediris_api/serving/drain.py): readiness off at once, serving on for
`drain_delay_seconds`, then `shutdown_grace_seconds` to answer what it accepted. The platform must
notice readiness within the delay (a probe every `READINESS_PERIOD_SECONDS`, failing
`READINESS_FAILURES` times) and wait for the whole drain before SIGKILL. No preStop hook: the delay is
in the server, which serves Container Apps (no preStop there) and Kubernetes alike.
"""

import math
from dataclasses import dataclass

from prediris_ops.core.errors import OpsError

READINESS_PERIOD_SECONDS = 1
READINESS_FAILURES = 2
# Left between the end of the drain and SIGKILL.
KILL_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class DrainTiming:
    drain_delay_seconds: float
    shutdown_grace_seconds: float

    @classmethod
    def of_service(cls) -> "DrainTiming":
        """The service's own defaults (what the image runs with)."""
        from prediris_api.settings import Settings  # noqa: PLC0415 - the service's package, only when deploying

        settings = Settings()
        return cls(settings.drain_delay_seconds, settings.shutdown_grace_seconds)

    @property
    def readiness_period_seconds(self) -> int:
        return READINESS_PERIOD_SECONDS

    @property
    def readiness_failures(self) -> int:
        return READINESS_FAILURES

    @property
    def termination_grace_seconds(self) -> int:
        """Seconds from SIGTERM to SIGKILL: the delay, the grace and a margin."""
        return math.ceil(self.drain_delay_seconds + self.shutdown_grace_seconds) + KILL_MARGIN_SECONDS

    def check(self) -> "DrainTiming":
        """Refuse a delay too short for the readiness probe to notice the drain."""
        noticed = READINESS_PERIOD_SECONDS * READINESS_FAILURES
        if self.drain_delay_seconds <= noticed:
            raise OpsError(
                f"PREDIRIS_DRAIN_DELAY_SECONDS={self.drain_delay_seconds:g} is too short: readiness is noticed after "
                f"{noticed} s; use more than {noticed}"
            )
        return self

    def env(self) -> dict[str, str]:
        """The variables that give the container these settings."""
        return {
            "PREDIRIS_DRAIN_DELAY_SECONDS": f"{self.drain_delay_seconds:g}",
            "PREDIRIS_SHUTDOWN_GRACE_SECONDS": f"{self.shutdown_grace_seconds:g}",
        }

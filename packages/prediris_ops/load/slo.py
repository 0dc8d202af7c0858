"""Service-level objectives as Taurus pass/fail criteria: read, override, write, and judge.

The profiles in perf/*.yml hold the default criteria as Taurus strings such as
`p95 latency: p95>250ms over 30s, stop as failed` (Taurus's grammar: `[name:] subject[ of label]
condition threshold[ for|within|over window][, stop|continue[ as failed|non-failed]]`). The task
parses them, replaces the thresholds a user overrides (`--max-error-percent`, `--max-p95-ms`, `--max-p99-ms`,
`--slo-window`), and hands the effective list back to Taurus, whose passfail module stops or fails
the run. After the run, Taurus's JUnit pass/fail report says which criterion was breached.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from prediris_ops.core.durations import seconds
from prediris_ops.core.errors import OpsError

# Our flags name these Taurus subjects.
ERROR_SUBJECT = "fail"
P95_SUBJECT = "p95"
P99_SUBJECT = "p99"
# Taurus's own pattern (bzt.modules.passfail), anchored at both ends.
CRITERION = re.compile(
    r"(?P<subject>[\w?*.-]+)(?:\s*of\s*(?P<label>[\S ]+?))?\s*(?P<condition>[<>=]+)\s*(?P<threshold>\S+)"
    r"(?:\s+(?P<logic>for|within|over)\s+(?P<window>\S+))?"
)
ACTION = re.compile(r"(?P<action>stop|continue)(?:\s+as\s+(?P<outcome>failed|non-failed))?")


@dataclass(frozen=True)
class Criterion:
    """One Taurus pass/fail criterion, e.g. p95 > 250ms over 30 s."""

    name: str
    subject: str
    condition: str
    threshold: str
    logic: str
    window_seconds: int
    stop: bool
    fail: bool
    label: str = ""

    def to_taurus(self) -> str:
        """Return the Taurus criterion string this criterion stands for."""
        label = f" of {self.label}" if self.label else ""
        window = f" {self.logic} {self.window_seconds}s" if self.window_seconds else ""
        action = f"{'stop' if self.stop else 'continue'} as {'failed' if self.fail else 'non-failed'}"
        return f"{self.name}: {self.subject}{label}{self.condition}{self.threshold}{window}, {action}"

    def describe(self) -> str:
        """Return the objective in words, e.g. `p95 latency ≤ 250ms (mean over 30 s windows)`."""
        opposite = {">": "≤", ">=": "<", "<": "≥", "<=": ">"}.get(self.condition, f"not {self.condition}")
        window = f" over every {self.window_seconds} s window" if self.window_seconds else " over the whole run"
        return f"{self.name} {opposite} {self.threshold}{window}"


@dataclass(frozen=True)
class SloOverrides:
    """Thresholds given on the command line or in invoke.yaml; None keeps the profile's own."""

    max_error_percent: float | None = None
    max_p95_ms: float | None = None
    max_p99_ms: float | None = None
    window_seconds: int | None = None


def parse_criterion(text: str) -> Criterion:
    """Parse a Taurus criterion string, as Taurus's passfail module reads it."""
    name, _, rest = text.partition(":") if ":" in text else ("", "", text)
    check, _, action_text = rest.partition(",")
    found = CRITERION.fullmatch(check.strip())
    action = ACTION.fullmatch(action_text.strip() or "stop")
    if found is None or action is None:
        raise OpsError(f"SLO criterion {text!r} is not in Taurus's form, e.g. 'p95 latency: p95>500ms over 10s, stop as failed'", code=2)
    return Criterion(
        name=name.strip() or found["subject"],
        subject=found["subject"],
        condition=found["condition"],
        threshold=found["threshold"],
        logic=found["logic"] or "for",
        window_seconds=int(seconds(found["window"] or 0)),
        stop=action["action"] == "stop",
        fail=action["outcome"] in (None, "failed"),
        label=(found["label"] or "").strip(),
    )


def _number(value: float) -> str:
    return f"{value:g}"


def apply_overrides(criteria: Iterable[Criterion], overrides: SloOverrides) -> list[Criterion]:
    """Return the criteria with the overridden thresholds and window; add a criterion the profile lacks."""
    wanted = {
        ERROR_SUBJECT: (overrides.max_error_percent, "error ratio", lambda value: f"{_number(value)}%"),
        P95_SUBJECT: (overrides.max_p95_ms, "p95 latency", lambda value: f"{_number(value)}ms"),
        P99_SUBJECT: (overrides.max_p99_ms, "p99 latency", lambda value: f"{_number(value)}ms"),
    }
    result = []
    seen = set()
    for given in criteria:
        value, _, unit = wanted.get(given.subject, (None, "", _number))
        changed = given if value is None else replace(given, threshold=unit(value))
        if overrides.window_seconds is not None and changed.window_seconds:
            changed = replace(changed, window_seconds=overrides.window_seconds)
        seen.add(changed.subject)
        result.append(changed)
    window = overrides.window_seconds or next((item.window_seconds for item in result if item.window_seconds), 30)
    for subject, (value, name, unit) in wanted.items():
        if value is not None and subject not in seen:
            result.append(Criterion(name, subject, ">", unit(value), "over", window, stop=True, fail=True))
    return result


def fit_windows(criteria: Iterable[Criterion], test_seconds: int) -> tuple[list[Criterion], str | None]:
    """Shorten windows longer than half the test, so Taurus fills at least two of them.

    Taurus judges a windowed criterion only once it holds a full window of seconds: a window as long
    as the test would never be judged, and a breach would pass unseen.
    """
    criteria = list(criteria)
    longest = max((item.window_seconds for item in criteria), default=0)
    limit = test_seconds // 2
    if test_seconds <= 0 or longest <= limit:
        return criteria, None
    window = max(1, limit)
    fitted = [replace(item, window_seconds=min(item.window_seconds, window)) if item.window_seconds else item for item in criteria]
    return fitted, f"SLO windows of {longest} s are too long for a {test_seconds} s test: judging over {window} s windows"


@dataclass(frozen=True)
class Judgement:
    criterion: Criterion
    breached: bool
    message: str = ""


def read_verdict(junit_xml: Path, criteria: list[Criterion]) -> list[Judgement]:
    """Pair each criterion with Taurus's pass/fail report (one testcase per criterion, in order)."""
    try:
        root = ET.parse(junit_xml).getroot()  # noqa: S314 (written by our own Taurus run)
    except (OSError, ET.ParseError) as error:
        raise OpsError(f"Taurus wrote no readable pass/fail report at {junit_xml} ({error}); see bzt.log next to it", code=1) from None
    cases = root.findall(".//testcase")
    if len(cases) != len(criteria):
        raise OpsError(f"Taurus judged {len(cases)} criteria, {len(criteria)} were given; see {junit_xml}", code=1)
    judgements = []
    for criterion, case in zip(criteria, cases, strict=True):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        judgements.append(Judgement(criterion, problem is not None, "" if problem is None else problem.get("message", "")))
    return judgements

"""Durations written as Taurus users write them, for every option and setting that takes one:
`90` (seconds), `30s`, `1m30s`, `2h`, `500ms`, `1d` (Taurus's dehumanize_time)."""

import re

from prediris_ops.core.errors import OptionError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}
FORMS = "a number of seconds, or e.g. 30s, 1m30s, 500ms, 2h"


def seconds(value, what: str = "", *, positive: bool = False) -> float:
    """Return `value` in seconds; one that is not a duration (or not above 0, with `positive`) names `what`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        total = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        parts = _PART.findall(text)
        if not text or "".join(number + unit for number, unit in parts) != text:
            raise OptionError(f"{what + '=' if what else ''}{value!r} is not a duration: {FORMS}")
        total = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if total < 0 or (positive and total == 0):
        raise OptionError(f"{what + '=' if what else ''}{value!r} is not a {'positive ' if positive else ''}duration: {FORMS}")
    return total

"""prediris_ops.core.durations: one reading of durations for every option, as Taurus users write them."""

import pytest

from prediris_ops.core.durations import seconds
from prediris_ops.core.errors import OptionError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600), ("2.5m", 150), (45, 45), ("1m30s", 90), ("500ms", 0.5), ("1d", 86400)],
)
def test_durations_read_as_seconds_or_with_taurus_units(text, expected):
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["", "10 minutes", "-5s", "m", "soon", "5x", True])
def test_a_bad_duration_names_the_setting_and_the_accepted_forms(text):
    with pytest.raises(OptionError, match=r"^--hold=.* is not a duration: a number of seconds, or e.g. 30s, 1m30s, 500ms, 2h$") as raised:
        seconds(text, "--hold")
    assert raised.value.code == 2


@pytest.mark.parametrize("text", ["0", "0s", 0])
def test_zero_is_a_duration_but_not_a_positive_one(text):
    assert seconds(text, "--ramp-up") == 0
    with pytest.raises(OptionError, match=r"^--duration=.* is not a positive duration"):
        seconds(text, "--duration", positive=True)

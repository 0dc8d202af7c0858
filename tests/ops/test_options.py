"""Bad task options stop with one line naming the flag, never a traceback."""

import pytest
from invoke.exceptions import Exit

from prediris_ops.core.errors import OptionError
from prediris_ops.core.options import http_url, number
from prediris_ops.tasks.bench import bench
from prediris_ops.tasks.model import train
from prediris_ops.tasks.serve import smoke


def test_numbers_are_converted_and_bad_ones_name_the_flag():
    assert number("12", int, "connections") == 12
    assert number(None, int, "connections") is None
    with pytest.raises(OptionError, match=r"--connections='many' is not an integer") as raised:
        number("many", int, "connections")
    assert raised.value.code == 2
    with pytest.raises(OptionError, match=r"--duration='soon' is not a number"):
        number("soon", float, "duration")


def test_urls_must_be_http():
    assert http_url("https://example.org") == "https://example.org"
    with pytest.raises(OptionError, match=r"--url='example.org' is not an http:// or https:// URL"):
        http_url("example.org")


@pytest.mark.parametrize(
    ("task", "options", "message"),
    [
        (train, {"min_accuracy": "high"}, "--min-accuracy='high' is not a number"),
        (bench, {"duration": "long"}, "--duration='long' is not a duration: a number of seconds, or e.g. 30s"),
        (smoke, {"url": "localhost:5000"}, "--url='localhost:5000' is not an http"),
    ],
    ids=["train", "bench", "smoke"],
)
def test_tasks_refuse_bad_options_in_one_line(make_context, task, options, message):
    with pytest.raises(Exit, match=message):
        task(make_context(), **options)

"""prediris_ops.tasks.exits: a task ends on the project's error with its one line and its status, never a traceback."""

import pytest
from invoke import Context
from invoke.exceptions import Exit

from prediris_ops.core.errors import OpsError, OptionError
from prediris_ops.tasks.exits import task


@task(help={"port": "A port."})
def failing(c, port=None):
    """Fail the way library code does."""
    raise OpsError(f"port {port} is taken: pass --port", code=3)


@task
def refusing(c):
    raise OptionError("--hold='x' is not a duration")


def test_the_error_becomes_exit_with_its_message_and_status():
    with pytest.raises(Exit) as raised:
        failing(Context(), port=5000)
    assert (raised.value.message, raised.value.code) == ("port 5000 is taken: pass --port", 3)
    assert raised.value.__suppress_context__


def test_an_option_error_exits_with_status_2():
    with pytest.raises(Exit) as raised:
        refusing(Context())
    assert raised.value.code == 2


def test_invoke_still_sees_the_bodys_options_help_and_docstring():
    assert [(argument.name, argument.help) for argument in failing.get_arguments()] == [("port", "A port.")]
    assert failing.__doc__ == "Fail the way library code does."

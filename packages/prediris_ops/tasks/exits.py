"""invoke's @task for the task modules: the project's errors end the task as one line and a status."""

import functools

import invoke
from invoke.exceptions import Exit

from prediris_ops.core.errors import OpsError


def exits(body):
    """Wrap a task body so that an OpsError becomes `Exit(message, code)` (no stack trace)."""

    @functools.wraps(body)
    def wrapper(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except OpsError as error:
            raise Exit(error.message, code=error.code) from None

    return wrapper


def task(*args, **kwargs):
    """`invoke.task`, used bare or with options, on a body wrapped by `exits`."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return invoke.task(exits(args[0]))
    return lambda body: invoke.task(*args, **kwargs)(exits(body))

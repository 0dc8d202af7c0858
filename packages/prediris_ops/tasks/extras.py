"""Tasks import what they drive inside their body, so `invoke --list` is quick and every install lists
every task; a task whose extra is missing ends on one line naming the extra to install."""

from collections.abc import Iterator
from contextlib import contextmanager

from invoke.exceptions import Exit


@contextmanager
def extra(name: str) -> Iterator[None]:
    """Run the block (imports); a missing third-party module ends the task with `pip install -e '.[name]'`."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if not missing or missing.startswith("prediris_"):
            raise
        raise Exit(f"{missing} is not installed: this task needs the {name} extra (pip install -e '.[{name}]')", code=2) from None

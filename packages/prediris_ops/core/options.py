"""Task options as typed values: a flag that cannot be used stops the task with one line naming it."""

from prediris_ops.core.errors import OptionError


def number(value, kind: type, flag: str):
    """Return `value` converted by `kind` (int or float), None for None; a bad one names `--flag`."""
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise OptionError(f"--{flag}={value!r} is not {'an integer' if kind is int else 'a number'}") from None


def http_url(value: str, flag: str = "url") -> str:
    """Return `value` if it is an http(s) URL; otherwise stop with one line."""
    if not value.startswith(("http://", "https://")):
        raise OptionError(f"--{flag}={value!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:5000)")
    return value

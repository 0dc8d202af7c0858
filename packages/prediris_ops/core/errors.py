"""The project's own errors: one line for the user and the exit status a task ends with.

Library code raises them; only the task layer (prediris_ops.tasks) turns them into invoke's Exit.
"""


class OpsError(Exception):
    """A failure already described in one line that names the fix; `code` is the task's exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


class OptionError(OpsError):
    """A flag or setting that cannot be used (exit status 2, as for any usage error)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message, code)

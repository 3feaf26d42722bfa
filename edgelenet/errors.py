"""The one exception type for problems the user can fix (bad input, bad usage).

The CLI maps it to a single error line and exit code 2; everything else is a bug and may raise.
"""


class UserError(Exception):
    """Bad input or usage: reported as one line, exit code 2."""


class CheckFailed(Exception):
    """A validation threshold did not hold: exit code 1."""


class Terminated(BaseException):
    """SIGTERM, raised by the CLI's handler so that cleanup runs as for SIGINT (not an Exception: nothing
    may catch and ignore it)."""

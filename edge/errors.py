"""The package's errors: one root, each kind with the exit status the CLI returns for it.

A :class:`DigitdError` is a problem the user can fix, and its message says how; the
CLI prints it as one line and exits with its ``exit_code``. Anything else that escapes
is a bug and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # a command line that cannot work (argparse uses 2 as well)
EXIT_CONFIG = 78  # EX_CONFIG: systemd is told not to restart on it


class DigitdError(Exception):
    """A problem the user can fix; the message names it and the fix."""

    exit_code = EXIT_FAILURE


class UsageError(DigitdError, ValueError):
    """Command-line input that cannot work (a file name without a picture suffix, ...)."""

    exit_code = EXIT_USAGE


class ConfigurationError(DigitdError, ValueError):
    """The configuration, or a file or directory it names, cannot be used."""

    exit_code = EXIT_CONFIG

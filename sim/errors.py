"""Errors a user can fix, reported by the CLI as one line with no traceback."""

from __future__ import annotations

__all__ = ["UserInputError"]


class UserInputError(ValueError):
    """Bad input from a user: a scenario file, a graph file, a CLI argument.

    The message is one line that names where the problem is (file and key), the bad value and
    what is allowed. The CLI prints it and exits with status 2.
    """

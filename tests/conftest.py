"""Fixtures shared by every test folder: the command runner and small scenario files.

The default run (``python -m pytest``) leaves out the tests marked ``slow`` and ``e2e``
(pyproject's addopts); ``.ci/run`` runs them after it with ``python -m pytest -m "slow or e2e"``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import outreach, write

#: A scenario small enough for a command to finish in about a second: 300 people, 4 weeks.
SMALL_SCENARIO = """
name = "small"
[run]
replicates = 2
weeks = 4
seed = 3
[population]
size = 300
[close_peers]
count = 2
[distant_peers]
count = 3
"""


@pytest.fixture
def cli() -> Callable[..., object]:
    """The ``outreach`` command run in this process: ``cli("run", path, cwd=folder)``.

    Returns what :func:`tests.cli_helpers.outreach` returns: ``returncode``, ``stdout`` and
    ``stderr``, as from a finished process.
    """
    return outreach


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a scenario's TOML text into the test's folder: ``write_scenario("a.toml", text)``."""

    def _write(name: str, text: str) -> Path:
        return write(tmp_path / name, text)

    return _write


@pytest.fixture
def small_scenario(write_scenario) -> Path:
    """:data:`SMALL_SCENARIO` written to ``small.toml`` in the test's folder."""
    return write_scenario("small.toml", SMALL_SCENARIO)

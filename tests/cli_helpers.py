"""Running the real ``outreach`` command in a fresh interpreter, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def outreach(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``outreach ARGS`` in a fresh interpreter; returns the finished process."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd or ROOT,
                          env=env)

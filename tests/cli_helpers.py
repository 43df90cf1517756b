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


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (making its folder), and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """The single stderr line of a refused command, after checking it says each fragment."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]

"""A first run on an empty numba cache against a second run: seconds, and where they went.

Runs the command (``outreach run baseline`` by default) in a fresh interpreter with
``NUMBA_CACHE_DIR`` set to an empty folder (a fresh install), then again on the cache it
filled, and prints JSON: each run's wall and CPU seconds (the process and its helper), when
the compile notice came on standard error, the compiling seconds the run's summary reports,
and the ratio of the cold run to the warm one. ``--one-process`` also measures the cold run
without the helper process (``OUTREACH_COMPILE_PROCESSES=1``).

Target (DESIGN.md): a first run under 20 s on two idle cores, saying within 3 s that it
compiles; a second start under 3 s. Wall times depend on what else the machine runs; CPU
seconds much less.

Usage: ``python experiments/bench/first_run.py [--one-process] [-- outreach arguments]``,
e.g. ``-- reach baseline --policies random,influence``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _one(args: list[str], cache: str, processes: int) -> dict:
    """Run ``outreach ARGS`` on numba cache folder ``cache``; its seconds."""
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=cache,
        OUTREACH_COMPILE_PROCESSES=str(processes),
        PYTHONUNBUFFERED="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:  # reach writes its plot here
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", *args],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = proc.stderr.readline()
        first_at = time.perf_counter() - start
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"outreach {' '.join(args)} failed:\n{first}{err}")
    found = re.search(r"([\d.]+) s compiling the kernels once", out)
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2
        ),
        "notice_after_seconds": round(first_at, 2) if "compiling" in first else None,
        "compile_seconds_reported": float(found.group(1)) if found else None,
    }


def main() -> None:
    """Measure and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--one-process", action="store_true", help="also a cold run without the helper process"
    )
    parser.add_argument(
        "command", nargs="*", default=["run", "baseline"], help="outreach arguments (after --)"
    )
    opts = parser.parse_args()
    args = opts.command or ["run", "baseline"]
    out: dict = {
        "command": "outreach " + " ".join(args),
        "cores": os.cpu_count(),
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as cache:
        out["cold"] = _one(args, cache, 2)
        out["warm"] = _one(args, cache, 2)
    if opts.one_process:
        with tempfile.TemporaryDirectory() as cache:
            out["cold_one_process"] = _one(args, cache, 1)
    out["cold_over_warm"] = round(out["cold"]["wall_seconds"] / out["warm"]["wall_seconds"], 1)
    out["meets_target"] = (
        out["cold"]["wall_seconds"] < 20 and (out["cold"]["notice_after_seconds"] or 99) < 3
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

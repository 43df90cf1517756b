"""Benchmark of ``outreach compare``: two shipped 10k-client scenarios, 50 replicates each.

Runs the real command in a fresh process (imports, numba cache loading and both ensembles
included), as a planner would, and prints JSON with the wall time and its ratio to the
60-second target on two cores.

Usage:
    python experiments/bench/compare.py [--replicates 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAIR = ("scenarios/supervision_monthly.toml", "scenarios/supervision_weekly.toml")
TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "compare.json"
        cmd = [
            sys.executable,
            "-m",
            "sim.cli",
            "compare",
            *PAIR,
            "--replicates",
            str(args.replicates),
            "--workers",
            str(args.workers),
            "--json",
            str(out),
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        doc = json.loads(out.read_text(encoding="utf-8"))
    sizes = [s["settings"]["population"]["size"] for s in doc["scenarios"]]
    print(
        json.dumps(
            {
                "case": "compare_two_10k_scenarios",
                "scenarios": list(PAIR),
                "population_sizes": sizes,
                "replicates_each": doc["replicates"],
                "weeks": doc["weeks"],
                "workers": args.workers,
                "cores_available": len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else os.cpu_count(),
                "wall_seconds": round(seconds, 2),
                "target_seconds": TARGET_SECONDS,
                "ratio_to_target": round(seconds / TARGET_SECONDS, 3),
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

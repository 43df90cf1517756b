"""Calibrate the baseline's burnout parameters to the MIPA finding.

Every third peer in the MIPA study had felt exhaustion or fatigue in their tasks (Rissanen &
Jurvansuu 2017; 75 peers, and 165 peers and volunteers in Jurvansuu & Rissanen). This script
finds the job demands that make the baseline's ``peers_exhausted_fraction`` (share of all peers
exhausted at least once in 52 weeks) equal ``--target`` (default 1/3), and writes them into the
scenario file, on the lines marked ``# calibrated``.

Method: the three demand parameters, ``wellbeing.demand_per_hour``,
``wellbeing.demand_per_client_week`` and ``wellbeing.crisis_cost``, are scaled together by one
factor ``s`` from their reference values (``REFERENCE``; their ratios are kept, as the data pin
down one number: the team's share). Each kind's share is then a result of its week (hours,
caseload, crises, role conflict, pay), printed beside the team's, not a fitted number. The
reference ratios weigh hours most: workload is the strongest correlate of emotional exhaustion
(Weikel & Fisher 2021) and many hours with no pay carry the highest risk (MIPA). The mean
exhausted fraction over ``--replicates`` runs is a noisy, increasing function of ``s``; all
evaluations use the same replicates (common random numbers), which makes it smooth enough for
bisection on ``s`` (Law 2015, Simulation Modeling and Analysis, ch. 11). The search stops when
the bracket is narrower than ``--tol`` in ``s``; the script prints the result as JSON and,
unless ``--dry-run``, rewrites the file.

Usage: ``python experiments/calibrate_burnout.py [scenarios/baseline.toml]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from sim.model.scenario import load_scenario
from sim.run import run_ensemble

REFERENCE = {"demand_per_hour": 0.006, "demand_per_client_week": 0.004, "crisis_cost": 0.08}


def demands(scale: float, digits: int = 5) -> dict[str, float]:
    """The demand parameters at ``scale`` times their reference values."""
    return {f"wellbeing.{k}": round(v * scale, digits) for k, v in REFERENCE.items()}


def exhausted_fraction(scenario, scale: float, replicates: int) -> float:
    result = run_ensemble(scenario.replace(demands(scale)), replicates)
    return float(np.nanmean(result.metric_values("peers_exhausted_fraction")))


def calibrate(path: Path, target: float, replicates: int, tol: float) -> dict:
    scenario = load_scenario(path, {"run.weeks": 52})
    lo, hi = 0.05, 10.0  # crisis_cost stays within its range [0, 1]
    f_lo, f_hi = exhausted_fraction(scenario, lo, replicates), exhausted_fraction(scenario, hi,
                                                                                 replicates)
    if not f_lo <= target <= f_hi:
        raise SystemExit(f"{path}: the target {target:.3f} lies outside what scaling demands can "
                         f"give ({f_lo:.3f} to {f_hi:.3f}); change other well-being parameters")
    trace = []
    while hi / lo > 1 + tol:
        mid = (lo * hi) ** 0.5  # bisect in log scale: the factor spans orders of magnitude
        f_mid = exhausted_fraction(scenario, mid, replicates)
        trace.append({"scale": mid, "exhausted_fraction": f_mid})
        if f_mid < target:
            lo = mid
        else:
            hi = mid
    scale = (lo * hi) ** 0.5
    fitted = {k.split(".")[1]: v for k, v in demands(scale).items()}
    final = run_ensemble(scenario.replace(demands(scale)), replicates)
    by_kind = {name: float(np.nanmean(final.metric_values(name))) for name in (
        "peers_exhausted_fraction", "peers_exhausted_fraction_close",
        "peers_exhausted_fraction_distant")}
    return {"file": str(path), "target": target, "replicates": replicates, "scale": scale,
            "fitted": fitted, "achieved": by_kind["peers_exhausted_fraction"],
            "by_kind": by_kind, "trace": trace}


def write_back(path: Path, fitted: dict) -> None:
    text = path.read_text(encoding="utf-8")
    for key, value in fitted.items():
        pattern = re.compile(rf"^({key}\s*=\s*)[-+0-9.eE]+(\s*#\s*calibrated.*)$", re.MULTILINE)
        text, count = pattern.subn(rf"\g<1>{value}\g<2>", text)
        if count != 1:
            raise SystemExit(f"{path}: expected one line '{key} = ...  # calibrated', "
                             f"found {count}")
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/baseline.toml")
    parser.add_argument("--target", type=float, default=1 / 3)
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--tol", type=float, default=0.01)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.scenario)
    result = calibrate(path, args.target, args.replicates, args.tol)
    if not args.dry_run:
        write_back(path, result["fitted"])
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

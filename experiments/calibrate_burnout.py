"""Calibrate the baseline's burnout parameters to the MIPA finding.

Every third peer in the MIPA study had felt exhaustion or fatigue in their tasks (Rissanen &
Jurvansuu 2017; 75 peers, and 165 peers and volunteers in Jurvansuu & Rissanen). This script
finds the job demands that make a scenario's ``peers_exhausted_fraction`` (share of all peers
exhausted at least once in 52 weeks) equal ``--target`` (default 1/3), and writes them into the
scenario file, on the lines marked ``# calibrated``.

The fit is ``outreach calibrate SCENARIO experiments/targets/burnout.toml``: the three demand
parameters, ``wellbeing.demand_per_hour``, ``wellbeing.demand_per_client_week`` and
``wellbeing.crisis_cost``, move together in their reference ratios (the targets file's
``[tied]`` keys; the data pin down one number, the team's share), fitted by Optuna's TPE on
common random numbers (every trial runs the same replicates, which makes the share a smooth
enough function of the demands; Law 2015, Simulation Modeling and Analysis, ch. 11). Each
kind's share is then a result of its week (hours, caseload, crises, role conflict, pay),
printed beside the team's, not a fitted number. The script prints the result as JSON and,
unless ``--dry-run``, rewrites the file.

Usage: ``python experiments/calibrate_burnout.py [scenarios/baseline.toml]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from sim.ensemble.replicates import run_ensemble
from sim.model.scenario import load_scenario

TARGETS = Path(__file__).resolve().parent / "targets" / "burnout.toml"


def calibrate(
    path: Path, target: float, replicates: int, trials: int, out: Path | None, workers: int
) -> dict:
    from sim.fit.calibrate import calibrate as fit
    from sim.fit.runs import InlineExecutor
    from sim.fit.spec import load_fit_spec
    from sim.sweep.executors import LocalExecutor

    spec = load_fit_spec(TARGETS, path)
    spec = dataclasses.replace(
        spec,
        replicates=replicates,
        targets=tuple(dataclasses.replace(t, value=target) for t in spec.targets),
    )
    executor = InlineExecutor() if workers == 1 else LocalExecutor(workers)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = fit(
                spec,
                out or Path(tmp) / "fit",
                executor,
                trials=trials,
                say=lambda line: print(line, file=sys.stderr),
            )
        finally:
            executor.close()
    if result.interrupted:
        raise SystemExit(130)
    # Five decimals, as the scenario files have always written these demands.
    best = {k: round(v, 5) for k, v in result.best.items()}
    fitted = {k.split(".")[1]: v for k, v in best.items()}
    scenario = load_scenario(path, {"run.weeks": 52})
    final = run_ensemble(scenario.replace(best), replicates)
    by_kind = {
        name: float(np.nanmean(final.metric_values(name)))
        for name in (
            "peers_exhausted_fraction",
            "peers_exhausted_fraction_close",
            "peers_exhausted_fraction_distant",
        )
    }
    return {
        "file": str(path),
        "target": target,
        "replicates": replicates,
        "trials": trials,
        "fitted": fitted,
        "achieved": by_kind["peers_exhausted_fraction"],
        "by_kind": by_kind,
        "chi2": result.best_chi2,
    }


def write_back(path: Path, fitted: dict) -> None:
    text = path.read_text(encoding="utf-8")
    for key, value in fitted.items():
        pattern = re.compile(rf"^({key}\s*=\s*)[-+0-9.eE]+(\s*#\s*calibrated.*)$", re.MULTILINE)
        text, count = pattern.subn(rf"\g<1>{value}\g<2>", text)
        if count != 1:
            raise SystemExit(
                f"{path}: expected one line '{key} = ...  # calibrated', found {count}"
            )
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/baseline.toml")
    parser.add_argument("--target", type=float, default=1 / 3)
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the fit's folder here")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.scenario)
    result = calibrate(path, args.target, args.replicates, args.trials, args.out, args.workers)
    if not args.dry_run:
        write_back(path, result["fitted"])
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

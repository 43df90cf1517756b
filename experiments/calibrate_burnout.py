"""Calibrate the baseline's burnout parameters to MIPA and to reported intervention effects.

Every third peer in the MIPA study had felt exhaustion or fatigue in their tasks (Rissanen &
Jurvansuu 2017); weekly supervision lowers exhaustion by about 5-10 points (West et al. 2016;
Dreison et al. 2018) and pay protects (paid vs unpaid peer workers, odds ratio about 0.58).
This script runs ``outreach calibrate SCENARIO experiments/targets/burnout.toml`` (the job
demands, tied in their reference ratios, and the gains of supervision and of a fair wage,
fitted by Optuna's TPE over four seeds on common random numbers; Law 2015, Simulation Modeling
and Analysis, ch. 11), prints each target against the fit with the per-kind shares, and, unless
``--dry-run``, writes the fitted values into the scenario file's lines marked ``# calibrated``.

Usage: ``python experiments/calibrate_burnout.py [scenarios/baseline.toml] [--trials N]``
(about 10 minutes on two cores).
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
    path: Path, target: float | None, trials: int | None, out: Path | None, workers: int
) -> dict:
    from sim.fit.calibrate import calibrate as fit
    from sim.fit.runs import InlineExecutor, tied_values
    from sim.fit.spec import load_fit_spec
    from sim.sweep.executors import LocalExecutor

    spec = load_fit_spec(TARGETS, path)
    if target is not None:  # the first target is the share exhausted
        first = dataclasses.replace(spec.targets[0], value=target)
        spec = dataclasses.replace(spec, targets=(first, *spec.targets[1:]))
    executor = InlineExecutor() if workers == 1 else LocalExecutor(workers)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = fit(
                spec,
                out or Path(tmp) / "fit",
                executor,
                trials=trials or spec.trials,
                say=lambda line: print(line, file=sys.stderr),
            )
        finally:
            executor.close()
    if result.interrupted:
        raise SystemExit(130)
    best = dict(result.best)
    best.update(tied_values(spec.tied, best))
    # Five decimals, as the scenario files have always written these values.
    best = {k: round(float(v), 5) for k, v in best.items()}
    fitted = {k.split(".")[1]: v for k, v in best.items()}
    scenario = load_scenario(path, {"run.weeks": 52})
    by_seed = {}
    for seed in spec.seeds:
        final = run_ensemble(scenario.replace({**best, "run.seed": seed}), spec.replicates)
        by_seed[seed] = {
            name: float(np.nanmean(final.metric_values(name)))
            for name in (
                "peers_exhausted_fraction",
                "peers_exhausted_fraction_close",
                "peers_exhausted_fraction_distant",
            )
        }
    return {
        "file": str(path),
        "seeds": list(spec.seeds),
        "replicates_per_seed": spec.replicates,
        "trials": trials or spec.trials,
        "fitted": fitted,
        "by_seed": by_seed,
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
    parser.add_argument("--target", type=float, help="share exhausted (default: the file's 1/3)")
    parser.add_argument("--trials", type=int, help="default: the targets file's")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the fit's folder here")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.scenario)
    result = calibrate(path, args.target, args.trials, args.out, args.workers)
    if not args.dry_run:
        write_back(path, result["fitted"])
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

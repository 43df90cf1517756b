"""A programme over five years: does an open population keep a programme's year going?

Runs the shipped ``baseline`` for 260 weeks (its seed and replicates) and prints as JSON what
issue "A programme over years" asks of it:

- each year's clients seen, share of them new, encounters, accompaniments and population at
  the year's end (mean and 95% interval over replicates);
- whether clients seen in years 3-5 lie within 15% of their mean (each year's mean over
  replicates), whether the share new is at least 0.2 in each of those years, and whether the
  population stays within 10% of its size (every replicate's every week);
- the closed population for contrast (no one enters or leaves, no dormant people): the same
  years, where the share new falls as the pool is used up.

Usage: ``python experiments/years_checks.py [--replicates N] [--out FILE.json]`` (a minute or
two on two cores).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from paired_runs import emit

from sim.cli.options import scenario_path
from sim.ensemble.replicates import run_ensemble
from sim.model.scenario import CLOSED_POPULATION, load_scenario

YEARS = 5
SHOWN = ("clients_seen", "clients_new_share", "encounters", "accompaniments", "population_size_end")
CLOSED = dict(CLOSED_POPULATION)


def _years(result) -> list[dict]:
    return [
        {
            "year": y["year"],
            "weeks": y["weeks"],
            **{
                name: {k: y["metrics"][name][k] for k in ("mean", "ci_low", "ci_high")}
                for name in SHOWN
            },
        }
        for y in result.years()
    ]


def checks(replicates: int | None, workers: int) -> dict:
    """Run the baseline open and closed for five years; the issue's checks on the open one."""
    sets = {"run.weeks": 52 * YEARS}
    if replicates:
        sets["run.replicates"] = replicates
    scenario = load_scenario(scenario_path("baseline"), sets)
    open_ = run_ensemble(scenario, workers=workers)
    closed = run_ensemble(scenario.replace(CLOSED), workers=workers)
    years = _years(open_)
    seen = np.array([y["clients_seen"]["mean"] for y in years[2:5]])
    new = np.array([y["clients_new_share"]["mean"] for y in years[2:5]])
    size = scenario.population.size
    population = np.array([r.weekly["population"] for r in open_.runs], float)
    worst = float(np.max(np.abs(population / size - 1.0)))
    return {
        "scenario": scenario.name,
        "replicates": scenario.run.replicates,
        "weeks": scenario.run.weeks,
        "years": years,
        "closed_population_years": _years(closed),
        "checks": {
            "clients_seen_years_3_5_within_15pct_of_their_mean": {
                "largest_gap": float(np.max(np.abs(seen / seen.mean() - 1.0))),
                "met": bool(np.all(np.abs(seen / seen.mean() - 1.0) <= 0.15)),
            },
            "new_share_years_3_5_at_least_0.2": {
                "lowest": float(new.min()),
                "met": bool(np.all(new >= 0.2)),
            },
            "population_within_10pct_of_its_size": {
                "size": size,
                "largest_gap": worst,
                "met": worst <= 0.10,
            },
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, help="default: the scenario's (40)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    out = checks(args.replicates, args.workers)
    return emit(out, args.out)


if __name__ == "__main__":
    sys.exit(main())

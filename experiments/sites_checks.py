"""Sites with footfall, paired on common random numbers: past it, do more peers add little?

Each check changes the shipped baseline and runs it with the baseline's seed and replicates, so
each replicate's difference is paired (common random numbers; Law 2015, ch. 11). Printed as
JSON, each with its mean and 95% Student-t interval over the replicates (issue 25, "Sites with
footfall"):

- 12 / 24 / 48 / 96 close peers and no distant peers, in one locality with one site (the
  baseline's city as the whole population: 5,000 people, 59 visits a week): contacts, site
  visits and encounters, engaged and linked;
- 48 vs 24 of them contact at most 1.5 times as many: the paired ratio and the paired
  difference ``contacts(48) - 1.5 x contacts(24)`` (met: its interval lies below 0);
- the shipped baseline's contacts, linkage, visits and encounters.

Usage: ``python experiments/sites_checks.py [--replicates 40] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
from paired_runs import emit

from sim.cli.options import scenario_path
from sim.ensemble.replicates import run_ensemble
from sim.model.metrics import interval
from sim.model.scenario import load_scenario

#: The metrics each run reports.
REPORTED = (
    "clients_contacted",
    "site_visits",
    "site_encounters",
    "clients_engaged",
    "clients_linked",
    "clients_linked_outside_orbit",
)
#: The Helsinki Street Clinic's visits a week per person of the hidden population (~4,900
#: encounters a year, ~94 a week, for ~8,000 people).
VISITS_PER_PERSON_WEEK = 94 / 8000


def one_site(base):
    """``base`` with its first locality as the whole population and one site, footfall scaled."""
    city = base.population.localities[0]
    city = dataclasses.replace(
        city,
        share=1.0,
        site_visits_per_week=round(
            base.population.size * city.service_access * VISITS_PER_PERSON_WEEK
        ),
    )
    return dataclasses.replace(
        base, population=dataclasses.replace(base.population, localities=(city,))
    )


def _summary(values) -> dict:
    d = interval(np.asarray(values, float))
    return {"mean": round(d["mean"], 2), "ci": [round(d["ci_low"], 2), round(d["ci_high"], 2)]}


def _metrics(result) -> dict:
    return {m: _summary(result.metric_values(m)) for m in REPORTED}


def team_sizes(base, replicates: int, sizes=(12, 24, 48, 96)) -> dict:
    """Close peers at one site (no distant peers): each size's metrics and 48 vs 24, paired."""
    site = one_site(base)
    runs = {}
    for n in sizes:
        print(f"running {n} close peers at one site", file=sys.stderr)
        runs[n] = run_ensemble(
            site.replace({"close_peers.count": n, "distant_peers.count": 0}), replicates
        )
    out: dict[str, object] = {
        "site_visits_per_week": site.population.localities[0].site_visits_per_week,
        "by_close_peers": {n: _metrics(r) for n, r in runs.items()},
    }
    if 24 in runs and 48 in runs:
        c24 = np.asarray(runs[24].metric_values("clients_contacted"), float)
        c48 = np.asarray(runs[48].metric_values("clients_contacted"), float)
        excess = interval(c48 - 1.5 * c24)
        out["contacts_48_vs_24"] = {
            "ratio": _summary(c48 / c24),
            "difference": _summary(c48 - c24),
            "contacts_48_minus_1.5_x_24": {
                "mean": round(excess["mean"], 2),
                "ci": [round(excess["ci_low"], 2), round(excess["ci_high"], 2)],
            },
            "met": bool(excess["ci_high"] < 0),
        }
    return out


def baseline(base, replicates: int) -> dict:
    """The shipped baseline's contacts, linkage and its sites' visits and encounters."""
    print("running the baseline", file=sys.stderr)
    return _metrics(run_ensemble(base, replicates))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    base = load_scenario(scenario_path("baseline"))
    out = {
        "replicates": args.replicates,
        "seed": base.run.seed,
        "one_site": team_sizes(base, args.replicates),
        "baseline": baseline(base, args.replicates),
    }
    return emit(out, args.out)


if __name__ == "__main__":
    raise SystemExit(main())

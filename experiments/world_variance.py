"""How much of a measure's spread between replicates comes from the world they live in.

Runs ``--worlds`` worlds with ``--per-world`` replicates each (``run.worlds = W``, so replicate
``r`` lives in world ``r mod W``) and, for each key measure, a one-way analysis of variance:
the F ratio of the between-world to the within-world mean square, its p-value, and the
intraclass correlation (the share of the variance that lies between worlds, ANOVA estimator,
floored at 0). This is the check behind ``run.shared_world_from``: from that size on, the
replicates of a scenario share one world by default.

Usage:
    python experiments/world_variance.py --size 50000 --worlds 16 --per-world 10
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats

from sim.ensemble.replicates import run_ensemble
from sim.model.scenario import load_scenario

MEASURES = (
    "clients_contacted",
    "clients_linked",
    "outside_orbit_contacted_share",
    "peers_exhausted_fraction",
    "cost_per_linked_client",
    "least_connected_contacted",
)


def variance_split(values: np.ndarray, worlds: int) -> dict[str, float]:
    """One-way ANOVA of ``values`` grouped by world (replicate ``r`` in world ``r mod W``)."""
    group = np.arange(values.size) % worlds
    per = values.size // worlds
    means = np.array([values[group == k].mean() for k in range(worlds)])
    msb = per * means.var(ddof=1)
    msw = float(np.mean([values[group == k].var(ddof=1) for k in range(worlds)]))
    f = msb / msw if msw > 0 else float("nan")
    between = max(0.0, (msb - msw) / per)
    return {
        "F": round(float(f), 3),
        "p": round(float(stats.f.sf(f, worlds - 1, values.size - worlds)), 4),
        "intraclass_correlation": round(between / (between + msw), 4) if msw > 0 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--worlds", type=int, default=16)
    parser.add_argument("--per-world", type=int, default=10)
    args = parser.parse_args()
    from sim.cli.options import scenario_path

    reps = args.worlds * args.per_world
    scenario = load_scenario(
        scenario_path(args.scenario),
        {"population.size": args.size, "run.replicates": reps, "run.worlds": args.worlds},
    )
    start = time.perf_counter()
    result = run_ensemble(scenario)
    out = {
        "scenario": scenario.name,
        "size": args.size,
        "worlds": args.worlds,
        "per_world": args.per_world,
        "seconds": round(time.perf_counter() - start, 1),
        "measures": {m: variance_split(result.metric_values(m), args.worlds) for m in MEASURES},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

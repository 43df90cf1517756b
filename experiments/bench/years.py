"""Benchmark: a five-year run against a one-year run of the baseline at 100,000 people.

The target (DESIGN.md, issue 26): a five-year run costs at most five times a one-year run, so
that nothing in the model grows with the weeks already run (the population's flows, clients
who return, the lists the phases walk).

One process, one world: the baseline scenario (``sim/scenarios/baseline.toml``) with
``population.size`` = 100,000 (its dormant people included, the world holds
``size x (1 + population.dormant_per_person)`` people), replicate 0. The world is built once
and its build is not timed; the kernels are compiled (or loaded from numba's cache) by a
two-week warm-up run before any timing. Each run is timed from the model's construction
(peer recruitment) to its last week, ``run.weeks`` = 52 and 260, the two alternated,
``--repeats`` times each; the medians are compared. The five-year runs also give each
year's own seconds (weeks 1-52, 53-104, ...), which say whether later years cost more than
the first, and the ratio of the weeks alone (the construction, the same for both, taken
out).

Usage:
    python experiments/bench/years.py              # 3 repeats of each
    python experiments/bench/years.py --repeats 1 --size 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "baseline.toml"

#: A five-year run may cost at most this many one-year runs.
TARGET_RATIO = 5.0
WEEKS_PER_YEAR = 52


def _scenario(size: int, weeks: int):
    from sim.model.scenario import load_scenario

    return load_scenario(
        BASELINE, {"population.size": size, "run.weeks": weeks, "run.replicates": 1}
    )


def _timed_run(scenario, world) -> tuple[float, float, list[float], dict]:
    """Seconds from construction to the last week, of the construction alone, of each year,
    and a summary of the run."""
    from sim.model.outreach import OutreachModel

    start = time.perf_counter()
    model = OutreachModel(scenario, 0, world)
    marks = [time.perf_counter()]
    for w in range(1, model.start_week + scenario.run.weeks + 1):
        model.step()
        if (w - model.start_week) % WEEKS_PER_YEAR == 0 and w > model.start_week:
            marks.append(time.perf_counter())
    end = time.perf_counter()
    if scenario.run.weeks % WEEKS_PER_YEAR:  # a partial last year
        marks.append(end)
    years = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    last = model.years()
    summary = {
        "population_end": int(model.weekly["population"][-1]),
        "clients_seen_by_year": [int(y["metrics"]["clients_seen"]) for y in last],
        "encounters_by_year": [int(y["metrics"]["encounters"]) for y in last],
    }
    return end - start, marks[0] - start, years, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="population.size")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each length")
    args = parser.parse_args(argv)

    from sim.model.outreach import OutreachModel
    from sim.model.world import build_world

    one, five = _scenario(args.size, WEEKS_PER_YEAR), _scenario(args.size, 5 * WEEKS_PER_YEAR)
    start = time.perf_counter()
    world = build_world(one, 0)
    build_s = time.perf_counter() - start
    # The world does not depend on run.weeks: both scenarios run on this one.
    assert build_world(five, 0) is world
    start = time.perf_counter()
    OutreachModel(one, 0, world).run(2)  # compiles (or loads) every kernel
    warmup_s = time.perf_counter() - start

    ones, fives, per_year, setups, summaries = [], [], [], [], {}
    for _ in range(args.repeats):
        t, setup, _, summaries["one_year"] = _timed_run(one, world)
        ones.append(t)
        setups.append(setup)
        t, setup, years, summaries["five_years"] = _timed_run(five, world)
        fives.append(t)
        setups.append(setup)
        per_year.append(years)
    t1, t5 = statistics.median(ones), statistics.median(fives)
    ratio = t5 / t1
    # Without the construction (the same for both), the ratio of the weeks alone: 5 when a
    # year costs the same whenever it comes, above 5 when later years cost more.
    setup = statistics.median(setups)
    weeks_ratio = (t5 - setup) / (t1 - setup)
    import numba
    import numpy

    out = {
        "scenario": "baseline",
        "population_size": args.size,
        "people_in_world": int(world.n),
        "ties": int(world.graph.n_edges),
        "history_weeks": one.run.history_weeks,
        "world_build_seconds": round(build_s, 2),
        "warmup_seconds": round(warmup_s, 2),
        "repeats": args.repeats,
        "one_year_seconds_median": round(t1, 4),
        "five_years_seconds_median": round(t5, 4),
        "one_year_seconds_all": [round(x, 4) for x in ones],
        "five_years_seconds_all": [round(x, 4) for x in fives],
        "construction_seconds_median": round(setup, 4),
        "five_years_seconds_by_year_median": [
            round(statistics.median(col), 4) for col in zip(*per_year, strict=True)
        ],
        "runs": summaries,
        "ratio": round(ratio, 3),
        "weeks_only_ratio": round(weeks_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "environment": {
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "numba": numba.__version__,
            "cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
        },
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Set a search's Pareto front beside the shipped scenarios it can be compared with.

After ``outreach optimize BASE SEARCH.toml --out DIR``, this runs each named shipped scenario
with the search's seed and replicates (the same common random numbers as every trial), and
says, for each one within the search's constraints, which policies of the front dominate or
match it on every objective (at least as good on each; a match is within the objective's
own standard error over the replicates). Prints JSON.

Usage::

    python experiments/front_vs_library.py mixed_team experiments/search/budget.toml runs/budget \
        close_peers_only distant_peers_only budget_more_peers budget_more_support \
        caseload_cap peers_from_clients supervision_weekly supervision_monthly mixed_team
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from sim.cli.options import scenario_path
from sim.fit.runs import InlineExecutor, make_fit_job, run_round
from sim.fit.spec import load_search_spec
from sim.model.scenario import load_scenario


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("search")
    parser.add_argument("folder", type=Path)
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args(argv)
    spec = load_search_spec(args.search, scenario_path(args.base))
    with (args.folder / "pareto.csv").open(encoding="utf-8") as f:
        front = list(csv.DictReader(f))
    names = [o.name for o in spec.objectives]
    signs = [1.0 if o.direction == "maximize" else -1.0 for o in spec.objectives]
    out = []
    for name in args.scenarios:
        scenario = load_scenario(scenario_path(name), spec.fixed)
        job = make_fit_job(scenario, [], spec.expressions(), f"library-{name}")
        rows = np.array(
            run_round(InlineExecutor(), job, [(0, [])], spec.seed, spec.replicates)[0], dtype=float
        )
        means = rows.mean(axis=0)
        se = rows.std(axis=0, ddof=1) / np.sqrt(len(rows))
        objectives = dict(zip(names, means[: len(names)].tolist(), strict=True))
        within = all(
            c.violation(means[len(names) + j]) <= 0 for j, c in enumerate(spec.constraints)
        )
        better = []
        for r in front:
            if all(
                s * (float(r[n]) - m) >= -e
                for n, s, m, e in zip(names, signs, means, se, strict=False)
            ):
                better.append(int(r["trial"]))
        out.append(
            {
                "scenario": name,
                **{n: round(v, 4) for n, v in objectives.items()},
                "constraints": [
                    f"{c.expression.text} = {means[len(names) + j]:.6g}"
                    for j, c in enumerate(spec.constraints)
                ],
                "within_constraints": within,
                "front_trials_at_least_as_good": better,
            }
        )
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

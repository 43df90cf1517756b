"""Professionals with hours, paired on common random numbers: do they bind, and where?

Each check changes the shipped baseline (unless said), run with the same seed and replicates as
the scenario itself, so each replicate's difference is paired (common random numbers; Law
2015, ch. 11). Printed as JSON: each paired difference's mean with its 95% Student-t interval,
each level's mean with its interval, and whether what the issue asks for is met:

- 10 vs 3 professionals link more clients (the interval above 0);
- what one professional leaves waiting: appointments asked for and not held, and peer-weeks a
  due supervision waited (against 3, paired);
- the share of the professionals' programme hours the baseline uses;
- how the answer to 10 vs 3 depends on the assumed ``services.outside_work_share`` (the share
  of the professionals' hours outside the programme; the shipped 0.5 is an assumption): the
  paired difference in clients linked at 0.5, 0.7, 0.8 and 0.9;
- ``budget_more_peers`` against ``budget_more_support`` (the same money: many peers with little
  support, or more professionals and weekly supervision): how far each uses its professionals'
  hours and what it leaves waiting (not paired: two teams).

Usage: ``python experiments/professionals_checks.py [--replicates 40] [--out FILE.json]``
(about 2 minutes on two cores).
"""

from __future__ import annotations

import argparse
import sys

from paired_runs import emit, paired, summary, values

from sim.cli.options import scenario_path
from sim.ensemble.replicates import run_ensemble
from sim.model.scenario import load_scenario

#: The measures of the professionals' side, reported for every level.
MEASURES = (
    "clients_linked",
    "appointments_waiting",
    "supervisions_late",
    "professional_hours_used_share",
    "peers_exhausted_fraction",
    "cost_total",
)


def _level(result) -> dict:
    return {m: summary(values(result, m)) for m in MEASURES}


def checks(replicates: int = 40) -> dict:
    """Run the checks of the module's description; the JSON-ready results."""
    base = load_scenario(scenario_path("baseline"))
    runs = {}
    for count in (1, 3, 10):
        print(f"running baseline with {count} professionals", file=sys.stderr)
        runs[count] = run_ensemble(base.replace({"services.professionals": count}), replicates)
    out: dict[str, object] = {"replicates": replicates, "seed": base.run.seed}
    out["levels"] = {f"{count}_professionals": _level(r) for count, r in runs.items()}
    out["ten_vs_three"] = {m: paired(runs[3], runs[10], m) for m in MEASURES}
    out["ten_vs_three"]["met"] = out["ten_vs_three"]["clients_linked"]["above_0"]
    out["one_vs_three"] = {m: paired(runs[3], runs[1], m) for m in MEASURES}
    out["baseline_hours_used_share"] = out["levels"]["3_professionals"][
        "professional_hours_used_share"
    ]
    outside = {}
    for share in (0.5, 0.7, 0.8, 0.9):
        print(f"running 3 and 10 professionals, outside work share {share}", file=sys.stderr)
        at = base.replace({"services.outside_work_share": share})
        three, ten = (
            run_ensemble(at.replace({"services.professionals": k}), replicates) for k in (3, 10)
        )
        outside[str(share)] = {
            "linked_10_vs_3": paired(three, ten, "clients_linked"),
            "hours_used_share_3": summary(values(three, "professional_hours_used_share")),
        }
    out["ten_vs_three_by_outside_work_share"] = outside
    budget = {}
    for name in ("budget_more_peers", "budget_more_support"):
        print(f"running {name}", file=sys.stderr)
        budget[name] = _level(run_ensemble(load_scenario(scenario_path(name)), replicates))
    out["budget"] = budget
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    return emit(checks(args.replicates), args.out)


if __name__ == "__main__":
    raise SystemExit(main())

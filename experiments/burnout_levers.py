"""The burnout levers, paired on common random numbers: does each move exhaustion as studies say?

Each lever is a change to a shipped scenario (the baseline unless said), run with the same
seed and replicates as the scenario itself, so each replicate's difference is paired (common
random numbers; Law 2015, ch. 11). Printed as JSON: each effect's mean with its 95% Student-t
interval over the paired differences, the published range it should fall in, and whether the
mean does. Ranges (issue "Burnout that differs from peer to peer"):

- weekly vs monthly supervision lowers exhaustion by 0.03-0.10 (West et al. 2016, Lancet:
  54% -> 44%; Dreison et al. 2018: g ~ 0.13-0.17);
- no pay vs a fair wage raises it by 0.04-0.20 (MIPA: many hours with no pay carry the highest
  risk; Lombardi et al. 2025: financial needs met, OR 0.58 of intent to leave);
- 16 vs 8 hours a week raise it by at most 0.20, and contacts grow less from 8 to 16 hours
  than from 4 to 8 (long hours drain, reach saturates; MIPA);
- every demand +/-15% moves the team's exhaustion by less than 0.10 each way;
- stigma 0.8 vs 0.2 in the small town: exhaustion not lower (Mamdani et al. 2021);
- within a year 10-35% of peers leave (about one in five, Lombardi et al. 2025), with the reasons;
- the team's exhaustion over four seeds within [0.28, 0.38] (MIPA: one in three).

Usage: ``python experiments/burnout_levers.py [--replicates 40] [--out FILE.json]``
(about 3 minutes on two cores).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from paired_runs import emit, values

from sim.cli.options import scenario_path
from sim.ensemble.replicates import run_ensemble
from sim.model.metrics import interval
from sim.model.scenario import load_scenario

#: Every demand on a peer's energy (the ``+/-15%`` lever scales them together).
DEMANDS = (
    "wellbeing.demand_per_hour",
    "wellbeing.demand_per_client_week",
    "wellbeing.crisis_cost",
    "wellbeing.stigma_event_cost",
    "wellbeing.stigma_demand_per_week",
    "close_peers.role_conflict_per_week",
    "distant_peers.role_conflict_per_week",
    "careers.bereavement_cost",
    "careers.relapse_cost",
    "careers.housing_loss_cost",
    "careers.arrest_cost",
)
SEEDS = (20261123, 1, 2, 3)


def _get(scenario, key: str):
    section, name = key.split(".")
    return getattr(getattr(scenario, section), name)


def _ranged(x, lo: float | None, hi: float | None) -> dict:
    """Mean and 95% interval of ``x`` (4 digits), its range, and whether the mean lies in it."""
    d = interval(x)
    return {
        "mean": round(d["mean"], 4),
        "ci": [round(d["ci_low"], 4), round(d["ci_high"], 4)],
        "range": [lo, hi],
        "met": bool((lo is None or d["mean"] >= lo) and (hi is None or d["mean"] <= hi)),
    }


def _effect(a, b, metric: str, lo: float | None, hi: float | None) -> dict:
    """``b - a`` per replicate (paired), with its interval and whether the mean is in range."""
    return _ranged(values(b, metric) - values(a, metric), lo, hi)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    n = args.replicates
    base = load_scenario(scenario_path("baseline"))
    runs: dict[str, object] = {}

    def run(label: str, overrides: dict, scenario=base):
        print(f"running {label}", file=sys.stderr)
        runs[label] = run_ensemble(scenario.replace(overrides), n)
        return runs[label]

    exhausted = "peers_exhausted_fraction"
    out: dict[str, object] = {"replicates": n, "seed": base.run.seed}
    b = run("baseline", {})
    monthly = run("supervision monthly", {"wellbeing.supervision_every_weeks": 4})
    weekly = run("supervision weekly", {"wellbeing.supervision_every_weeks": 1})
    out["weekly_vs_monthly_supervision"] = _effect(monthly, weekly, exhausted, -0.10, -0.03)
    fair = base.wellbeing.fair_wage_per_hour
    unpaid = run("no pay", {"close_peers.pay_per_hour": 0.0, "distant_peers.pay_per_hour": 0.0})
    paid = run("fair wage", {"close_peers.pay_per_hour": fair, "distant_peers.pay_per_hour": fair})
    out["no_pay_vs_fair_wage"] = _effect(paid, unpaid, exhausted, 0.04, 0.20)
    hours = {
        h: run(f"{h} hours", {"close_peers.hours_per_week": h, "distant_peers.hours_per_week": h})
        for h in (4, 8, 16)
    }
    out["hours_16_vs_8"] = _effect(hours[8], hours[16], exhausted, None, 0.20)
    gain_low = _effect(hours[4], hours[8], "clients_contacted", None, None)
    gain_high = _effect(hours[8], hours[16], "clients_contacted", None, None)
    out["contacts_4_to_8_vs_8_to_16"] = {
        "4_to_8": gain_low,
        "8_to_16": gain_high,
        "exhausted": {
            h: round(float(np.nanmean(values(r, exhausted))), 3) for h, r in hours.items()
        },
        "met": gain_high["mean"] < gain_low["mean"],
    }
    for factor in (0.85, 1.15):
        scaled = run(f"demands x{factor}", {k: _get(base, k) * factor for k in DEMANDS})
        out[f"demands_x{factor}"] = _effect(b, scaled, exhausted, -0.10, 0.10)
    town = load_scenario(scenario_path("small_town_stigma"))
    low = [dict(loc.__dict__) for loc in town.population.localities]
    for loc in low:
        loc["stigma"] = 0.2
    high_run = run("small town, stigma 0.8", {}, town)
    low_run = run("small town, stigma 0.2", {"population.localities": low}, town)
    out["small_town_stigma_high_vs_low"] = _effect(low_run, high_run, exhausted, 0.0, None)
    reasons = {
        reason: round(float(np.mean([r.groups["peers_left"][reason]["left"] for r in b.runs])), 2)
        for reason in b.runs[0].groups["peers_left"]
    }
    out["peers_left_fraction"] = {
        **_ranged(values(b, "peers_left_fraction"), 0.10, 0.35),
        "peers_left_by_reason": reasons,
        "peers_recruited": round(float(np.mean(values(b, "peers_recruited"))), 2),
    }
    by_seed = {}
    for seed in SEEDS:
        r = b if seed == base.run.seed else run(f"seed {seed}", {"run.seed": seed})
        by_seed[seed] = r
    team = np.concatenate([values(r, exhausted) for r in by_seed.values()])
    out["team_exhaustion_four_seeds"] = {
        "by_seed": {
            s: round(float(np.nanmean(values(r, exhausted))), 4) for s, r in by_seed.items()
        },
        **_ranged(team, 0.28, 0.38),
    }
    return emit(out, args.out)


if __name__ == "__main__":
    raise SystemExit(main())

"""How much luck a team-size comparison carries: 5 vs 6 close peers beside 5 distant peers.

Runs the same replicates of two scenarios that differ by one close peer and prints, as JSON, the
95% interval half-width of the replicate-by-replicate difference of measures of the distant peers
(who they engage and link, how many of them are exhausted) and of the whole programme. With common
random numbers that hold, the distant peers keep their persons, start energies and draws, so the
differences in their measures come from the extra close peer only and their intervals are narrow.

Run: ``python experiments/crn_team_size.py [--replicates 60]`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path.cwd()))

try:  # the package's layout since "One house"
    from sim.model.outreach import OutreachModel
    from sim.model.scenario import load_scenario
except ImportError:  # the layout before it, to measure the change
    from sim.scenario import load_scenario

    from sim.model import OutreachModel

CLOSE, DISTANT = 1, 2
ENGAGED_FLAG, LINKED_FLAG = 2, 4


def measures(model) -> dict[str, float]:
    """Measures of the distant peers and of the programme after a run."""
    n = model.n_peers
    distant = model.p_kind[:n] == DISTANT
    by_distant = model.ekind == DISTANT
    engaged = (model.ever & ENGAGED_FLAG) > 0
    linked = (model.ever & LINKED_FLAG) > 0
    m = model.metrics()
    return {
        "engaged_by_distant": float(np.sum(engaged & by_distant)),
        "linked_by_distant": float(np.sum(linked & by_distant)),
        "distant_exhausted": float(np.sum(model.p_ever_exhausted[:n] & distant)),
        "clients_contacted": m["clients_contacted"],
        "clients_engaged": m["clients_engaged"],
        "clients_linked": m["clients_linked"],
    }


def half_width(d: np.ndarray) -> float:
    """Half-width of the 95% Student-t interval of the mean of ``d``."""
    from scipy import stats

    return float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    base = Path("scenarios/baseline.toml")
    common = {
        "population.size": 1000,
        "distant_peers.count": 5,
        "run.seed": args.seed,
        "run.weeks": 26,
    }
    a = load_scenario(base, {**common, "close_peers.count": 5})
    b = load_scenario(base, {**common, "close_peers.count": 6})
    rows = {"a": [], "b": []}
    same_distant = 0
    for r in range(args.replicates):
        ma, mb = OutreachModel(a, r), OutreachModel(b, r)
        na, nb = ma.n_peers, mb.n_peers
        da = sorted(ma.p_node[:na][ma.p_kind[:na] == DISTANT].tolist())
        db = sorted(mb.p_node[:nb][mb.p_kind[:nb] == DISTANT].tolist())
        same_distant += da == db
        ma.run()
        mb.run()
        rows["a"].append(measures(ma))
        rows["b"].append(measures(mb))
    out = {
        "replicates": args.replicates,
        "seed": args.seed,
        "replicates_with_same_distant_peers": same_distant,
        "difference_half_width": {},
        "difference_mean": {},
    }
    for key in rows["a"][0]:
        d = np.array([y[key] - x[key] for x, y in zip(rows["a"], rows["b"], strict=True)])
        out["difference_half_width"][key] = round(half_width(d), 3)
        out["difference_mean"][key] = round(float(d.mean()), 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""The hand-off between the two kinds, paired on common random numbers: what does it change?

Runs the shipped ``mixed_team`` (and the single-kind teams) with the same seed and replicates,
so each replicate's difference is paired (common random numbers; Law 2015, ch. 11), and
prints as JSON (issue "Sites with footfall, professionals with hours, and the hand-off"):

- hand-off on vs off in ``mixed_team`` (``distant_peers.p_handoff = 0``): clients linked
  outside the service orbit (should rise: distant peers find people outside the orbit, close
  peers accompany them), clients linked, and the hand-offs made; the paired difference's mean
  and 95% Student-t interval;
- losing the clients of a peer who stops (``outreach.p_client_lost_when_peer_stops``) at the
  shipped value vs 0;
- the table ``mixed_team`` / ``close_peers_only`` / ``distant_peers_only``: clients linked,
  linked outside the orbit, share of peers exhausted, cost per linked client (mean and
  interval over replicates), whatever it shows;
- from the event history of ``mixed_team``: the share of peers' direct contacts and of
  coupon friends who engage before their contact ends (the issue asks for a ratio of at
  least 0.8). Contacts in the last 8 weeks are left out (no time to engage).

Usage: ``python experiments/handoff_checks.py [--replicates 40] [--event-replicates 10]
[--out FILE.json]`` (a few minutes on two cores).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from paired_runs import emit, paired, summary, values

from sim.cli.options import scenario_path
from sim.ensemble.replicates import run_ensemble
from sim.model.outreach import OutreachModel
from sim.model.scenario import load_scenario

TABLE = (
    "clients_linked",
    "clients_linked_outside_orbit",
    "peers_exhausted_fraction",
    "cost_per_linked_client",
    "clients_handed_off",
)
#: Weeks at the end of a run whose contacts are left out of the engagement shares.
TAIL_WEEKS = 8


def engagement_shares(ev: pd.DataFrame) -> dict:
    """Shares of peers' direct contacts and of coupon friends that engage, from a history.

    A contact engages if the person's next row among contact, engaged, lost contact and
    becoming a peer is ``engaged``; contacts by the outreach workers are left out.
    """
    steps = ev[ev.event.isin(("contact", "engaged", "lost_contact", "peer_recruited"))]
    steps = steps.assign(after=steps.groupby(["replicate", "person"]).event.shift(-1))
    contacts = steps[(steps.event == "contact") & (steps.peer != -1)]
    contacts = contacts[contacts.week < ev.week.max() - TAIL_WEEKS]
    referred = contacts.recruiter.notna().to_numpy()
    engaged = (contacts.after == "engaged").to_numpy()
    direct, friend = engaged[~referred].mean(), engaged[referred].mean()
    return {
        "direct_contacts": int((~referred).sum()),
        "coupon_friends": int(referred.sum()),
        "direct_engaged_share": round(float(direct), 4),
        "friend_engaged_share": round(float(friend), 4),
        "ratio": round(float(friend / direct), 3),
        "met": bool(friend / direct >= 0.8),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--event-replicates", type=int, default=10)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    n = args.replicates
    mixed = load_scenario(scenario_path("mixed_team"))
    out: dict[str, object] = {"replicates": n, "seed": mixed.run.seed}

    def run(label: str, scenario):
        print(f"running {label}", file=sys.stderr)
        return run_ensemble(scenario, n)

    on = run("mixed_team", mixed)
    off = run("mixed_team, no hand-off", mixed.replace({"distant_peers.p_handoff": 0.0}))
    out["handoff_on_vs_off"] = {
        metric: paired(off, on, metric, 3)
        for metric in ("clients_linked_outside_orbit", "clients_linked", "clients_handed_off")
    }
    keep = run(
        "mixed_team, clients kept when a peer stops",
        mixed.replace({"outreach.p_client_lost_when_peer_stops": 0.0}),
    )
    out["clients_lost_when_peer_stops_vs_none"] = {
        "p_client_lost_when_peer_stops": mixed.outreach.p_client_lost_when_peer_stops,
        **{metric: paired(keep, on, metric, 3) for metric in ("clients_linked", "clients_engaged")},
    }
    teams = {"mixed_team": on}
    for name in ("close_peers_only", "distant_peers_only"):
        teams[name] = run(name, load_scenario(scenario_path(name)))
    out["teams"] = {
        name: {metric: summary(values(r, metric), 3) for metric in TABLE}
        for name, r in teams.items()
    }
    frames = []
    for r in range(args.event_replicates):
        print(f"events of mixed_team, replicate {r}", file=sys.stderr)
        model = OutreachModel(mixed, r, events=True)
        model.run()
        frames.append(model.events())
    out["coupon_friend_engagement"] = engagement_shares(pd.concat(frames, ignore_index=True))
    out["coupon_friend_engagement"]["replicates"] = args.event_replicates
    return emit(out, args.out)


if __name__ == "__main__":
    raise SystemExit(main())

"""Peers who differ, life events, stigma as a demand, pay by the hour, and careers.

Rates are checked against the share of many peers they produce, with a tolerance of four
binomial standard errors of that share (say which in each test); directional tests compare
the same state or the same replicates (common random numbers) and name the mechanism.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.errors import UserInputError
from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.recruitment.draws import kind_streams, vulnerabilities
from sim.model.scenario import Scenario, ScenarioError, load_scenario
from tests.cli_helpers import outreach
from tests.paired import BASELINE, NO_CHANCE_IN_A_PEERS_LIFE, small_baseline

#: No demand at all: no peer is ever exhausted, so leaving is by the careers' rates alone.
NO_DEMANDS = {
    "wellbeing.demand_per_hour": 0.0,
    "wellbeing.demand_per_client_week": 0.0,
    "wellbeing.crisis_cost": 0.0,
    "wellbeing.stigma_event_cost": 0.0,
    "wellbeing.stigma_demand_per_week": 0.0,
    "close_peers.role_conflict_per_week": 0.0,
    "distant_peers.role_conflict_per_week": 0.0,
}


def _many_peers(**overrides):
    """200 peers of each kind in a small world for a year, no replacement."""
    settings = {
        "population.size": 3000,
        "run.weeks": 52,
        "close_peers.count": 200,
        "distant_peers.count": 200,
        "policy.replace_withdrawn": False,
        **NO_CHANCE_IN_A_PEERS_LIFE,
        **NO_DEMANDS,
    }
    settings.update(overrides)
    return load_scenario(BASELINE, settings)


def test_vulnerability_is_lognormal_with_mean_one_and_the_persons_own():
    # 20,000 persons: the mean's standard error is about sd/sqrt(n) = 0.0038 at log-sd 0.5
    # (the lognormal's sd is about 0.53), so 4 of them is 0.015; the log-sd's is about
    # 0.5/sqrt(2n) = 0.0025.
    streams = kind_streams(7, 0, S.CLOSE)
    nodes = np.arange(20_000)
    v = vulnerabilities(streams, nodes, 0.5)
    assert abs(v.mean() - 1.0) < 0.015
    assert abs(np.log(v).std() - 0.5) < 4 * 0.0025
    # Keyed by the person: the same person, whatever the others drawn with them.
    assert np.array_equal(vulnerabilities(streams, nodes[::7], 0.5), v[::7])
    assert np.all(vulnerabilities(streams, nodes[:10], 0.0) == 1.0)


def test_a_peers_vulnerability_does_not_depend_on_the_other_kind():
    # One more distant peer leaves every close peer's vulnerability unchanged (common random
    # numbers): it is drawn by person under the kind's own key.
    a = OutreachModel(small_baseline(11), 0)
    b = OutreachModel(small_baseline(11, **{"distant_peers.count": 11}), 0)
    for m in (a, b):
        assert np.unique(m.p_vulnerability[: m.n_peers]).size == m.n_peers
    close_a = a.p_kind[: a.n_peers] == S.CLOSE
    close_b = b.p_kind[: b.n_peers] == S.CLOSE
    assert np.array_equal(a.p_node[: a.n_peers][close_a], b.p_node[: b.n_peers][close_b])
    assert np.array_equal(
        a.p_vulnerability[: a.n_peers][close_a], b.p_vulnerability[: b.n_peers][close_b]
    )


def test_the_more_vulnerable_are_exhausted_more_often():
    # Demands are multiplied by each peer's vulnerability: over many peers, those exhausted
    # have a higher mean vulnerability than those never exhausted.
    m = OutreachModel(
        load_scenario(
            BASELINE,
            {"population.size": 3000, "close_peers.count": 100, "distant_peers.count": 100},
        ),
        0,
    )
    m.run()
    n = m.n_peers
    tired = m.p_ever_exhausted[:n]
    v = m.p_vulnerability[:n]
    assert 0 < tired.sum() < n
    assert v[tired].mean() > v[~tired].mean() * 1.2


def _wellbeing_once(stigma: float, **overrides):
    """Energies after the wellbeing phase of week 6, from the same state, at local ``stigma``."""
    s = small_baseline(5, **overrides)
    model = OutreachModel(s, 0)
    model.run(6)
    for name in ("plan", "linkage", "online", "outreach", "referral", "engagement"):
        K.PHASES[name](
            model.week,
            model.world_arrays(),
            model.client_arrays(),
            model.peer_arrays(),
            model._params,
            model._keys,
            np.zeros(S.N_COUNTERS, np.int64),
        )
    p = model.peer_arrays()
    before = p.energy.copy(), p.status.copy()
    world = model.world_arrays()._replace(
        loc_stigma=np.full_like(model.world_arrays().loc_stigma, stigma)
    )
    p2 = p._replace(energy=before[0].copy(), status=before[1].copy())
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.wellbeing(model.week, world, model.client_arrays(), p2, model._params, model._keys, counters)
    return before[1], p2.energy


def test_higher_local_stigma_never_leaves_a_peer_more_energy():
    # Working where one is known is a steady demand (stigma_demand_per_week x stigma) and the
    # chance of a labelling event rises with stigma; on the same draws, a higher stigma can
    # only add demands, so no working peer ends the week with more energy, and some with less.
    status, low = _wellbeing_once(0.2)
    _, high = _wellbeing_once(0.8)
    working = status == S.ACTIVE
    assert working.sum() >= 10
    assert np.all(high[working] <= low[working] + 1e-12)
    assert np.any(high[working] < low[working] - 1e-6)


def test_leaving_for_reasons_of_ones_own_at_the_stated_rates():
    # With no demands no one is exhausted; each enrolled peer leaves for other work, health or
    # prison, or a move at the stated yearly chances. 400 peers for 52 weeks: each reason's
    # share is within four binomial standard errors of its chance (sd sqrt(p(1-p)/400)).
    rates = {"other_work": 0.2, "health_or_prison": 0.1, "moving": 0.05}
    m = OutreachModel(
        _many_peers(
            **{
                "careers.leave_other_work_per_year": rates["other_work"],
                "careers.leave_health_per_year": rates["health_or_prison"],
                "careers.leave_moving_per_year": rates["moving"],
            }
        ),
        0,
    )
    m.run()
    n = m.n_peers
    assert n == 400 and not m.p_ever_exhausted[:n].any()
    gone = m.p_status[:n] == S.WITHDRAWN
    code = {name: c for c, name in S.LEAVING_REASONS.items()}
    for reason, rate in rates.items():
        share = np.mean(gone & (m.p_left_reason[:n] == code[reason]))
        assert abs(share - rate) < 4 * math.sqrt(rate * (1 - rate) / n), reason
    metrics = m.metrics()
    assert metrics["peers_left_fraction"] == pytest.approx(gone.mean())
    assert metrics["peers_enrolled"] < 400


def test_breaks_take_peers_out_as_often_and_as_long_as_stated():
    # Four breaks a year of four weeks on average: a working peer starts a break with chance
    # 4/52 a week and is out for a geometric number of weeks (mean 4), so in the long run the
    # share working is about 1 / (1 + 4/52 * 4) = 0.76 (a renewal argument; the first weeks,
    # all working, raise the year's mean a little). 400 peers: the weekly share's standard
    # error is below 0.025, and its mean over the year far below that.
    m = OutreachModel(
        _many_peers(**{"careers.breaks_per_year": 4.0, "careers.break_weeks": 4.0}), 0, events=True
    )
    m.run()
    share = m.metrics()["peers_active_share"]
    assert 0.74 < share < 0.82
    ev = m.events()
    assert (ev["event"] == "peer_break").sum() > 0
    assert (ev["event"] == "peer_back").sum() > 0
    # A break is at least a week: no peer takes a break and comes back in the same week.
    breaks = ev[ev["event"].isin(["peer_break", "peer_back"])]
    assert not breaks.duplicated(["person", "week"]).any()


def test_a_relapse_takes_a_peer_out_or_ends_their_work():
    # Every working peer relapses within a few weeks (chance 0.99 a year is about 8% a week);
    # half of the relapses end the work (reason relapse), the others take the peer out.
    m = OutreachModel(
        _many_peers(
            **{
                "careers.relapse_per_year": 0.99,
                "careers.p_leave_after_relapse": 0.5,
                "careers.relapse_break_weeks": 6.0,
            }
        ),
        0,
        events=True,
    )
    m.run()
    ev = m.events()
    left = (ev["event"] == "peer_left_relapse").sum()
    breaks = (ev["event"] == "peer_break").sum()
    # first relapses: about 400 x 0.5 leave; the others come back and may relapse again
    assert left > 150 and breaks > 150
    n = m.n_peers
    assert left == np.sum(m.p_left_reason[:n] == S.LEFT_RELAPSE)


def test_peers_who_leave_are_replaced_whatever_the_reason():
    # With replacement on, each peer who leaves (here: moving away) opens a post filled after
    # policy.replacement_delay_weeks; off, no one is recruited after the start.
    base = {
        "population.size": 2000,
        "policy.replacement_delay_weeks": 1,
        **NO_CHANCE_IN_A_PEERS_LIFE,
        **NO_DEMANDS,
        "careers.leave_moving_per_year": 0.6,  # after the quiet settings, which set it to 0
    }
    on = OutreachModel(load_scenario(BASELINE, {**base, "policy.replace_withdrawn": True}), 0)
    off = OutreachModel(load_scenario(BASELINE, {**base, "policy.replace_withdrawn": False}), 0)
    on.run()
    off.run()
    assert off.n_peers == 20
    left = int(np.sum(on.p_status[: on.n_peers] == S.WITHDRAWN))
    assert left > 0 and 20 < on.n_peers <= 20 + left
    assert on.metrics()["peers_recruited"] == on.n_peers


def test_pay_is_by_the_hour_worked():
    # Peer pay is the hours worked (crises included) times the kind's pay an hour: with the
    # same pay for both kinds, the run's pay is pay x peer hours (each peer-week rounded to a
    # hundredth of the currency).
    s = small_baseline(3, **{"close_peers.pay_per_hour": 12.0, "distant_peers.pay_per_hour": 12.0})
    m = OutreachModel(s, 0)
    m.run()
    t = m.totals
    assert t["compensation"] == pytest.approx(12.0 * t["peer_hours"], abs=0.01 * t["peer_weeks"])
    unpaid = OutreachModel(
        small_baseline(3, **{"close_peers.pay_per_hour": 0.0, "distant_peers.pay_per_hour": 0.0}),
        0,
    )
    unpaid.run()
    assert unpaid.totals["compensation"] == 0.0


def test_pay_per_week_is_refused_with_its_replacement_named(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("[close_peers]\ncompensation_per_week = 100\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    (line,) = err.value.problems
    assert "close_peers.compensation_per_week" in line and "pay_per_hour" in line
    with pytest.raises(UserInputError):
        Scenario().replace({"distant_peers.compensation_per_week": 60})
    r = outreach("run", "baseline", "--set", "distant_peers.compensation_per_week=60")
    assert r.returncode == 2 and "pay_per_hour" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_reasons_for_leaving_are_in_the_groups():
    # The JSON's groups say how many peers left for each reason; their sum is every peer who
    # left, and a peer let go by a change of policy is counted as such, not as leaving.
    from sim.ensemble.replicates import run_replicate
    from sim.model.metrics import peers_leaving

    s = small_baseline(8, **{"careers.leave_other_work_per_year": 0.5})
    result = run_replicate(s, 0)
    left = result.groups["peers_left"]
    assert set(left) == set(S.LEAVING_REASONS.values())
    assert left["other_work"]["left"] > 0
    m = OutreachModel(s, 0)
    m.run(4)
    m.set_policy({"close_peers.count": 5})
    m.run(1)
    by_reason = peers_leaving(m)
    n = m.n_peers
    assert by_reason["policy"]["left"] == 5
    assert sum(r["left"] for r in by_reason.values()) == np.sum(m.p_status[:n] == S.WITHDRAWN)
    assert m.metrics()["peers_left_fraction"] == pytest.approx(
        (np.sum(m.p_status[:n] == S.WITHDRAWN) - 5) / n
    )

"""The outreach model: reproducibility, agreement with the plain-Python reference, and the
directions the domain says policies push outcomes.

Directional tests are paired comparisons with common random numbers: both arms run replicates
0..R-1 of the same root seed, so they share the graph, the first recruits and every random number
their policies do not change. Each asserts that the mean paired difference lies more than three
standard errors from zero in the expected direction (a one-sided paired t-test at about the
0.1% level for the replicate counts used), so a test fails when the effect is absent, not only
when it reverses.
"""

from __future__ import annotations

import gc
import math
import random
import weakref
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.ensemble.replicates import run_ensemble
from sim.model import state as E
from sim.model.outreach import OutreachModel
from sim.model.reference import ReferenceModel
from sim.model.scenario import Scenario, load_scenario
from tests.paired import NO_CHANCE_IN_A_PEERS_LIFE

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"


def small(**overrides) -> Scenario:
    """The baseline, smaller: 2,000 people, 52 weeks."""
    base = {"population.size": 2000, "run.replicates": 40}
    base.update(overrides)
    return load_scenario(BASELINE, base)


def paired_t(a: Scenario, b: Scenario, metric: str, replicates: int) -> tuple[float, float]:
    """Mean paired difference a - b of a metric over common replicates, and its t statistic."""
    x = run_ensemble(a, replicates).metric_values(metric)
    y = run_ensemble(b, replicates).metric_values(metric)
    d = x - y
    d = d[np.isfinite(d)]
    se = d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean()), float(d.mean() / se) if se > 0 else math.copysign(math.inf, d.mean())


# ---------------------------------------------------------------- reproducibility


def test_same_seed_same_metrics_different_seed_differs():
    s = small(**{"population.size": 1000})
    a = OutreachModel(s, 0)
    a.run()
    b = OutreachModel(s, 0)
    b.run()
    assert a.metrics() == b.metrics()
    assert a.weekly == b.weekly
    c = OutreachModel(s.replace({"run.seed": s.run.seed + 1}), 0)
    c.run()
    assert c.metrics() != a.metrics()
    d = OutreachModel(s, 1)
    d.run()
    assert d.metrics() != a.metrics()


def test_results_do_not_depend_on_worker_count():
    s = small(**{"population.size": 1000})
    one = run_ensemble(s, 6, workers=1)
    two = run_ensemble(s, 6, workers=2)
    assert [r.metrics for r in one.runs] == [r.metrics for r in two.runs]
    assert [r.weekly for r in one.runs] == [r.weekly for r in two.runs]


def test_run_leaves_global_random_state_alone():
    np_state = np.random.get_state()
    py_state = random.getstate()
    m = OutreachModel(small(**{"population.size": 500}), 0)
    m.run(10)
    ReferenceModel(small(**{"population.size": 300}), 0).run(3)
    after = np.random.get_state()
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])
    assert random.getstate() == py_state


# ---------------------------------------------------------------- state invariants


def test_caseloads_match_engaged_clients_and_states_are_consistent():
    s = small(**{"population.size": 1500, "close_peers.caseload_cap": 4})
    m = OutreachModel(s, 3)
    for _ in range(30):
        m.step()
        n = m.n_peers
        clients = m.role == E.CLIENT
        engaged = clients & (m.cstate == E.ENGAGED)
        counts = np.bincount(m.peer_of[engaged], minlength=n)
        assert np.array_equal(counts, m.p_caseload[:n])
        capped = m.p_kind[:n] == E.CLOSE
        assert np.all(m.p_caseload[:n][capped] <= 4)
        # Everyone in a state has been through the states before it.
        assert np.all((m.ever[clients & (m.cstate >= E.CONTACTED)] & E.EVER_CONTACTED) > 0)
        assert np.all((m.ever[clients & (m.cstate >= E.ENGAGED)] & E.EVER_ENGAGED) > 0)
        assert np.all((m.ever[clients & (m.cstate >= E.LINKED)] & E.EVER_LINKED) > 0)
        assert np.all(m.p_energy[:n] >= 0) and np.all(m.p_energy[:n] <= 1)
    assert m.week == 30 and len(m.weekly["contacted"]) == 31


def test_agents_are_views_over_the_arrays():
    m = OutreachModel(small(**{"population.size": 800}), 0)
    m.run(5)
    peer = m.peer_agents[0]
    assert peer.energy == m.p_energy[0] and peer.node == m.p_node[0]
    kinds = {type(a).__name__ for a in m.peer_agents}
    assert kinds == {"ClosePeer", "DistantPeer"}
    assert len(m.professionals) == m.scenario.services.professionals
    node = int(np.flatnonzero(m.cstate == E.CONTACTED)[0])
    client = m.client(node)
    assert client.state == "contacted" and client.peer is m.peer_agents[m.peer_of[node]]


# ---------------------------------------------------------------- engine vs reference

AGREEMENT_METRICS = (
    "clients_contacted",
    "clients_engaged",
    "clients_linked",
    "peers_exhausted_fraction",
    "cost_total",
)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "outreach.online_contacts_per_peer_week": 2.0,
            "close_peers.caseload_cap": 3,
            "distant_peers.recruitment": "from_engaged",
            "distant_peers.promote_after_weeks": 4,
        },
    ],
)
def test_engine_matches_reference_in_distribution(overrides):
    """60 replicates each; Welch t-test on the means and a two-sample KS test on the whole
    distribution of each metric, each at alpha = 0.01 / (2 x 5 metrics) (Bonferroni), so a
    correct engine fails this test about 1% of the time for a new seed, and the fixed seed
    makes it deterministic."""
    s = small(
        **{
            "population.size": 600,
            "run.weeks": 26,
            "close_peers.count": 4,
            "distant_peers.count": 4,
            **overrides,
        }
    )
    runs = 60
    eng, ref = [], []
    for r in range(runs):
        m = OutreachModel(s, r)
        m.run()
        eng.append(m.metrics())
        f = ReferenceModel(s, r)
        f.run()
        ref.append(f.metrics())
    alpha = 0.01 / (2 * len(AGREEMENT_METRICS))
    for name in AGREEMENT_METRICS:
        x = np.array([d[name] for d in eng])
        y = np.array([d[name] for d in ref])
        assert x.std() > 0, name
        assert stats.ttest_ind(x, y, equal_var=False).pvalue > alpha, name
        assert stats.ks_2samp(x, y, method="asymp").pvalue > alpha, name


def test_reference_and_engine_agree_exactly_on_the_working_week():
    """With no chance left in the peers' week both implementations must agree to the digit.

    No contacts, crises, stigma events or withdrawals: each peer's week is then the plan
    (supervision by need when hours are scarce, tailored hours, training, team meetings) and
    the hours it leaves for meetings, and energy follows deterministically from the hours
    worked, pay and supervision, so exhaustion, rest and returns must match week by week.
    """
    s = small(
        **{
            "population.size": 400,
            "run.weeks": 30,
            "close_peers.count": 4,
            "distant_peers.count": 4,
            "close_peers.p_contact_per_meeting": 0.0,
            "distant_peers.p_contact_per_meeting": 0.0,
            "outreach.p_referrer": 0.0,
            "services.professionals": 1,
            "services.professional_hours_per_week": 12.0,  # 2 supervisions after coordination
            "wellbeing.supervision_every_weeks": 1,
            "wellbeing.p_stigma_event_per_week": 0.0,
            "wellbeing.p_withdraw_per_rest_week": 0.0,
            "wellbeing.demand_per_hour": 0.012,
            "services.tailoring": 0.5,  # strained peers keep enough hours to be exhausted
            "work.training_weeks": 3,
            **NO_CHANCE_IN_A_PEERS_LIFE,
        }
    )
    m, f = OutreachModel(s, 2), ReferenceModel(s, 2)
    m.run()
    f.run()
    for name in ("peers_active", "peers_resting", "peers_exhausted_ever", "supervisions"):
        assert m.weekly[name] == f.weekly[name], name
    n = m.n_peers
    assert np.allclose(m.p_energy[:n], [p["energy"] for p in f.peers], atol=1e-12)
    # The engine counts hours in hundredths, rounded each peer-week.
    assert abs(m.totals["peer_hours"] - f.totals["peer_hours"]) <= 0.005 * m.totals["peer_weeks"]
    assert max(m.weekly["peers_resting"]) > 0  # some were exhausted and rested
    assert m.weekly["contacted"][-1] == 0


# ---------------------------------------------------------------- the domain's directions


def test_zero_peers_reach_no_one():
    s = small(
        **{
            "close_peers.count": 0,
            "distant_peers.count": 0,
            "outreach.online_contacts_per_peer_week": 5.0,
        }
    )
    for r in range(3):
        m = OutreachModel(s, r)
        m.run()
        met = m.metrics()
        assert met["clients_contacted"] == 0 and met["clients_linked"] == 0
        assert met["peers_recruited"] == 0


def test_more_supervision_lowers_exhaustion():
    weekly = small(**{"wellbeing.supervision_every_weeks": 1})
    monthly = small(**{"wellbeing.supervision_every_weeks": 4})
    diff, t = paired_t(weekly, monthly, "peers_exhausted_fraction", 60)
    assert diff < 0 and t < -3


def test_caseload_cap_lowers_exhaustion():
    capped = small(**{"close_peers.caseload_cap": 5, "distant_peers.caseload_cap": 5})
    diff, t = paired_t(capped, small(), "peers_exhausted_fraction", 40)
    assert diff < 0 and t < -3


def test_distant_peers_reach_more_least_connected_close_peers_link_better():
    # Through ties: distant peers reach two steps, close peers their own ties. (At a site close
    # peers meet whoever comes, the least connected as readily as anyone, so the comparison of
    # network reach leaves the site out.)
    ties = {"close_peers.site_share": 0.0}
    distant = small(**ties, **{"close_peers.count": 0, "distant_peers.count": 20})
    close = small(**ties, **{"close_peers.count": 20, "distant_peers.count": 0})
    diff, t = paired_t(distant, close, "least_connected_contacted", 30)
    assert diff > 0 and t > 3
    mixed = run_ensemble(small(), 40)
    d = mixed.metric_values("linked_share_close") - mixed.metric_values("linked_share_distant")
    d = d[np.isfinite(d)]
    assert d.mean() > 3 * d.std(ddof=1) / math.sqrt(d.size)


@pytest.mark.slow  # 2 x 100 paired runs at 4,000 people, some 5 s (.ci/run runs it)
def test_mixed_team_reaches_age_bands_more_evenly_than_one_kind():
    # Through ties, each kind reaches best its own age bands (older close peers, younger
    # distant ones, homophilous ties). At a site close peers meet all ages alike, so the
    # comparison leaves the site out.
    base = {"population.size": 4000, "close_peers.site_share": 0.0}
    mixed = small(**base)
    for one_kind in (
        {"close_peers.count": 20, "distant_peers.count": 0},
        {"close_peers.count": 0, "distant_peers.count": 20},
    ):
        diff, t = paired_t(mixed, small(**base, **one_kind), "age_band_evenness", 100)
        assert diff > 0 and t > 3, one_kind


def _town_reach(s: Scenario, replicates: int) -> np.ndarray:
    res = run_ensemble(s, replicates)
    return np.array([r.groups["locality"]["small town"]["contacted_share"] for r in res.runs])


def test_stigma_in_small_town_lowers_reach_and_online_recovers_part():
    light = small(**{"population.localities.1.stigma": 0.2})
    heavy = small(**{"population.localities.1.stigma": 0.9})
    online = heavy.replace({"outreach.online_contacts_per_peer_week": 3.0})
    r = 40
    a, b, c = _town_reach(light, r), _town_reach(heavy, r), _town_reach(online, r)
    for d in (a - b, c - b):
        assert d.mean() > 3 * d.std(ddof=1) / math.sqrt(r)


def test_baseline_exhaustion_matches_mipa():
    s = load_scenario(BASELINE)
    res = run_ensemble(s)
    frac = res.metrics()["peers_exhausted_fraction"]
    assert 0.25 <= frac["mean"] <= 0.42


def test_policy_change_mid_run_takes_effect_from_next_week():
    s = small(**{"population.size": 1500, "close_peers.count": 4, "distant_peers.count": 4})
    m = OutreachModel(s, 0)
    m.run(10)
    before = m.n_peers
    m.set_policy(
        {"close_peers.count": 10, "distant_peers.reach_hops": 1, "close_peers.caseload_cap": 2}
    )
    assert m.policy_changes[0][:2] == (10, "close_peers.count")
    assert m.scenario.close_peers.caseload_cap == 2
    m.step()
    assert m.n_peers >= before + 6  # six vacancies filled at once
    close = (m.p_kind[: m.n_peers] == E.CLOSE) & (m.p_status[: m.n_peers] != E.WITHDRAWN)
    assert close.sum() >= 10
    # Distant peers now reach only their own ties: their listed reach is one step.
    ptr, nodes = m._egos.arrays()
    g = m.world.graph
    for row in np.flatnonzero(m.p_kind[: m.n_peers] == E.DISTANT):
        lo, hi = ptr[row * E.N_EGO_CLASSES], ptr[(row + 1) * E.N_EGO_CLASSES]
        assert set(nodes[lo:hi].tolist()) == set(g.neighbours(m.p_node[row]).tolist())
    # A peer at or over the new cap takes no one new: caseloads never rise above it.
    at_change = m.p_caseload[: m.n_peers].copy()
    m.run(10)
    close_rows = np.flatnonzero(m.p_kind[: m.n_peers] == E.CLOSE)
    ceiling = np.maximum(np.append(at_change, np.zeros(m.n_peers - at_change.size)), 2)
    assert np.all(m.p_caseload[close_rows] <= ceiling[close_rows])
    fewer = OutreachModel(s, 0)
    fewer.run(5)
    fewer.set_policy({"distant_peers.count": 1})
    working = (fewer.p_kind[: fewer.n_peers] == E.DISTANT) & (
        fewer.p_status[: fewer.n_peers] != E.WITHDRAWN
    )
    assert working.sum() == 1


def test_model_runs_on_a_users_graph_file(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    src = rng.integers(0, n, 2000)
    dst = rng.integers(0, n, 2000)
    keep = src != dst
    edges = tmp_path / "ties.csv"
    edges.write_text(
        "source,target\n"
        + "".join(f"p{a},p{b}\n" for a, b in zip(src[keep], dst[keep], strict=True))
    )
    nodes = tmp_path / "people.csv"
    nodes.write_text("id,locality\n" + "".join(f"p{i},{int(i >= 300)}\n" for i in range(n)))
    scenario_file = tmp_path / "file.toml"
    scenario_file.write_text(
        BASELINE.read_text().replace(
            'generator = "community"',
            'generator = "file"\nfile = "ties.csv"\nnodes_file = "people.csv"',
        )
    )
    s = load_scenario(
        scenario_file, {"close_peers.count": 3, "distant_peers.count": 3, "run.weeks": 20}
    )
    m = OutreachModel(s, 0)
    m.run()
    # Identifiers map to positions; each person keeps the locality the file gave them.
    assert m.world.n == n and sorted(m.world.ids) == sorted(f"p{i}" for i in range(n))
    expected = np.array([int(int(name[1:]) >= 300) for name in m.world.ids])
    assert np.array_equal(m.world.locality, expected)
    assert m.metrics()["clients_contacted"] > 0
    (tmp_path / "ties.csv").unlink()
    from sim.errors import UserInputError
    from sim.model.world import build_world

    with pytest.raises(UserInputError, match="ties.csv"):
        build_world(load_scenario(scenario_file), 0)


def test_a_finished_model_is_freed():
    # Mesa 3.3 keeps every model that made an agent in a class-level dict (mesa/mesa#3179), so
    # a sweep's worker grew by a whole model per run; our agents must not keep it alive.
    def run_one():
        m = OutreachModel(load_scenario(BASELINE, {"population.size": 300, "run.weeks": 2}), 0)
        m.run()
        assert m.peer_agents and m.client(3) is not None and m.professionals
        return weakref.ref(m)

    ref = run_one()
    gc.collect()
    assert ref() is None

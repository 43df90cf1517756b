"""Service sites with footfall: visitors the peers at a site share, who come back.

Each locality's site has a Poisson number of visits a week from its service orbit, keyed by
(week, locality, visit) and not by the peers; the working peers of the locality share the
visitors, each met by one peer at most in a week; site meetings that find no visitor go to a
peer's ties. So past the footfall, more peers at a site add little (issue 25).
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from sim.ensemble.replicates import run_ensemble
from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.reference import ReferenceModel
from sim.model.world import site_arrays
from sim.streams import stream, uint64_seeds
from tests.paired import REPS, Z, small_baseline
from tests.paired import z as _z


def _one_site(visits: float = 25.0, open_hours: float = 20.0, **overrides):
    """The small baseline (2,000 people, 26 weeks) in one locality with one site."""
    s = small_baseline(2025, **{"distant_peers.count": 0, **overrides})
    city = dataclasses.replace(
        s.population.localities[0],
        share=1.0,
        site_visits_per_week=visits,
        site_open_hours_per_week=open_hours,
    )
    return dataclasses.replace(s, population=dataclasses.replace(s.population, localities=(city,)))


def _metric(result, name: str) -> np.ndarray:
    return np.asarray(result.metric_values(name), float)


@pytest.fixture(scope="module")
def teams():
    """24 and 48 close peers at one site, paired replicate by replicate."""
    return {n: run_ensemble(_one_site(**{"close_peers.count": n}), REPS) for n in (24, 48)}


def test_the_visits_do_not_depend_on_the_peers(teams):
    # Visits are keyed by (week, locality, visit): twice the peers, the same footfall.
    assert np.array_equal(_metric(teams[24], "site_visits"), _metric(teams[48], "site_visits"))
    weeks = 26
    assert abs(_metric(teams[24], "site_visits").mean() - 25.0 * weeks) < 4 * np.sqrt(
        25.0 * weeks / REPS
    )


def test_past_the_footfall_more_peers_at_a_site_add_little(teams):
    visits = _metric(teams[48], "site_visits")
    met24, met48 = _metric(teams[24], "site_encounters"), _metric(teams[48], "site_encounters")
    assert np.all(met48 <= visits) and np.all(met24 <= visits)
    # 24 peers already meet most visitors: twice the peers meet hardly more of them.
    assert np.mean(met48) < 1.1 * np.mean(met24)
    contacts24, contacts48 = (_metric(teams[n], "clients_contacted") for n in (24, 48))
    assert np.mean(contacts48) < 1.5 * np.mean(contacts24)
    assert _z(contacts48 - contacts24) > Z  # the extra peers' site meetings go to their ties


def test_more_footfall_more_encounters_and_contacts():
    few = run_ensemble(_one_site(10.0, **{"close_peers.count": 16}), REPS)
    many = run_ensemble(_one_site(60.0, **{"close_peers.count": 16}), REPS)
    assert _z(_metric(many, "site_encounters") - _metric(few, "site_encounters")) > Z
    assert _z(_metric(many, "clients_contacted") - _metric(few, "clients_contacted")) > Z


def test_a_visitor_is_met_once_a_week():
    # Far more visits and site meetings than the orbit has people: encounters in a week are
    # bounded by the persons who can be met, whoever many times they come.
    s = _one_site(5000.0, **{"close_peers.count": 60, "close_peers.site_share": 1.0})
    model = OutreachModel(s, 0)
    orbit_clients = int(np.sum(model.world.in_orbit == 1))
    before = 0
    for _ in range(4):
        model.step()
        met = model.totals["site_encounters"] - before
        before = model.totals["site_encounters"]
        assert 0 < met <= orbit_clients
    assert model.totals["site_visits"] > 4 * 4000


def test_no_site_no_visits_and_the_site_meetings_go_to_the_ties():
    none = run_ensemble(_one_site(0.0, **{"close_peers.count": 12}), 4)
    assert np.all(_metric(none, "site_visits") == 0)
    assert np.all(_metric(none, "site_encounters") == 0)
    assert np.all(_metric(none, "clients_contacted") > 50)


def test_opening_hours_bound_a_peers_site_meetings():
    # Open one meeting's hours a week: each of 12 peers meets at most one visitor a week.
    s = _one_site(200.0, 0.25, **{"close_peers.count": 12, "close_peers.site_share": 1.0})
    res = run_ensemble(s, 4)
    peers, weeks = 12, 26
    assert np.all(_metric(res, "site_encounters") <= peers * weeks)
    assert np.all(_metric(res, "site_encounters") > 0.5 * peers * weeks)


def test_site_orbits_by_locality():
    s = small_baseline(7)
    model = OutreachModel(s, 0)
    sites = site_arrays(model.world, s)
    w = model.world
    assert sites.orbit_ptr[-1] == w.orbit_nodes.size
    for loc in range(len(s.population.localities)):
        got = sites.orbit_nodes[sites.orbit_ptr[loc] : sites.orbit_ptr[loc + 1]]
        want = np.flatnonzero((w.in_orbit == 1) & (w.locality == loc))
        assert np.array_equal(got, want)
    assert sites.visits_per_week.tolist() == [
        loc.site_visits_per_week for loc in s.population.localities
    ]


def test_sites_leave_the_world_alone():
    # A site shapes the weeks, not the world: scenarios differing only in their sites share it.
    a = _one_site(10.0)
    b = _one_site(80.0, 5.0)
    ma, mb = OutreachModel(a, 0), OutreachModel(b, 0)
    assert ma.world is mb.world


TRIALS = 200


def test_the_site_phase_matches_the_reference_in_distribution():
    # The outreach phase from one state, TRIALS times in each: the mean encounters, visits and
    # new contacts must agree within 4.5 standard errors of the difference (Welch).
    s = _one_site(30.0, **{"close_peers.count": 10, "distant_peers.count": 3})
    model = OutreachModel(s, 0)
    model.run(3)
    model._fill_vacancies()
    c0, p0 = model.client_arrays(), model.peer_arrays()
    counters = np.zeros(S.N_COUNTERS, np.int64)
    for name, fn in K.PHASES.items():
        if name == "outreach":
            break
        fn(model.week, model.world_arrays(), c0, p0, model._params, model._keys, counters)
    c0 = type(c0)(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in c0))
    p0 = type(p0)(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in p0))

    def tally(cstate, role, worked) -> list[float]:
        return [float(np.sum((cstate != S.HIDDEN) & (role == S.CLIENT))), float(np.sum(worked))]

    engine, reference = [], []
    keys_rng = stream(99, 0, "site-phase-test")
    for _ in range(TRIALS):
        c = type(c0)(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in c0))
        p = type(p0)(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in p0))
        keys = S.make_keys(uint64_seeds(keys_rng, len(S.Keys._fields)))
        counters[:] = 0
        K.outreach(model.week, model.world_arrays(), c, p, model._params, keys, counters)
        engine.append(
            [counters[S.C_SITE_VISITS], counters[S.C_SITE_ENCOUNTERS]]
            + tally(c.cstate, c.role, p.hours_worked)
        )
    ref = ReferenceModel(s, 0, world=model.world)
    for t in range(TRIALS):
        ref.load_state(model.week, c0, p0)
        ref.random = random.Random(500 + t)
        ref.totals["site_visits"] = ref.totals["site_encounters"] = 0
        ref.run_phase("outreach")
        reference.append(
            [ref.totals["site_visits"], ref.totals["site_encounters"]]
            + tally(
                np.array(ref.cstate),
                np.array(ref.role),
                np.array([q["hours_worked"] for q in ref.peers]),
            )
        )
    e, r = np.array(engine, float), np.array(reference, float)
    assert e[:, 1].mean() > 5  # the site is busy: the comparison says something
    for col, name in enumerate(("visits", "encounters", "in contact", "hours worked")):
        se = np.sqrt(e[:, col].var(ddof=1) / TRIALS + r[:, col].var(ddof=1) / TRIALS)
        diff = abs(e[:, col].mean() - r[:, col].mean())
        assert diff <= 4.5 * se + 1e-9, (name, e[:, col].mean(), r[:, col].mean())


def _permuted(p, order):
    """Peer rows of ``p`` in ``order``, their ego networks (CSR by row and class) moved along."""
    rows = {
        name: getattr(p, name)[order]
        for name in S.PeerArrays._fields
        if name not in ("team", "ego_class_ptr", "ego_nodes")
    }
    k = S.N_EGO_CLASSES
    ptr, nodes = [0], []
    for r in order:
        lo, hi = p.ego_class_ptr[r * k], p.ego_class_ptr[(r + 1) * k]
        base = p.ego_class_ptr[r * k : (r + 1) * k] - lo + len(nodes)
        ptr[-1:] = base.tolist()
        ptr.append(int(base[0] + hi - lo))
        nodes.extend(p.ego_nodes[lo:hi].tolist())
    return S.PeerArrays(
        **rows,
        team=p.team.copy(),
        ego_class_ptr=np.array(ptr, p.ego_class_ptr.dtype),
        ego_nodes=np.array(nodes, p.ego_nodes.dtype),
    )


def test_who_meets_a_visitor_does_not_depend_on_the_peers_rows():
    # Every meeting at the site and visitors to spare: the week's site contacts, and the peer
    # who made each, are the same whatever order the peers' rows are in.
    s = _one_site(3000.0, **{"close_peers.count": 20, "close_peers.site_share": 1.0})
    model = OutreachModel(s, 0)
    model.run(2)
    model._fill_vacancies()
    c0, p0 = model.client_arrays(), model.peer_arrays()
    counters = np.zeros(S.N_COUNTERS, np.int64)
    for name, fn in K.PHASES.items():
        if name == "outreach":
            break
        fn(model.week, model.world_arrays(), c0, p0, model._params, model._keys, counters)
    outcomes = []
    for order in (np.arange(p0.node.size), np.arange(p0.node.size)[::-1]):
        c = type(c0)(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in c0))
        p = _permuted(p0, order)
        row = np.empty_like(order)
        row[order] = np.arange(order.size)  # a peer's new row by its old one
        c.peer_of[:] = np.where(c.peer_of >= 0, row[np.maximum(c.peer_of, 0)], c.peer_of)
        counters[:] = 0
        K.outreach(model.week, model.world_arrays(), c, p, model._params, model._keys, counters)
        assert counters[S.C_SITE_ENCOUNTERS] > 20
        supporter = np.where(c.peer_of >= 0, p.node[np.maximum(c.peer_of, 0)], c.peer_of)
        outcomes.append((c.cstate.copy(), supporter, c.trust.copy(), counters.copy()))
    (a, pa, ta, ca), (b, pb, tb, cb) = outcomes
    assert np.array_equal(a, b) and np.array_equal(pa, pb) and np.array_equal(ta, tb)
    assert np.array_equal(ca, cb)


def test_visiting_rates_are_gamma_of_mean_one():
    s = _one_site()
    model = OutreachModel(s, 0)
    sites = site_arrays(model.world, s, 0)
    rates = np.diff(sites.orbit_cum, prepend=0.0)
    n, cv = rates.size, s.population.localities[0].site_visit_cv
    assert n > 500 and np.all(rates >= 0)
    # The mean within 4 standard errors of 1, the spread within 15% of the stated one.
    assert abs(rates.mean() - 1.0) < 4 * cv / np.sqrt(n)
    assert abs(rates.std() / rates.mean() - cv) < 0.15 * cv
    alike = dataclasses.replace(s.population.localities[0], site_visit_cv=0.0)
    s0 = dataclasses.replace(s, population=dataclasses.replace(s.population, localities=(alike,)))
    assert np.array_equal(site_arrays(model.world, s0, 0).orbit_cum, np.arange(1.0, n + 1))


def test_regulars_leave_fewer_people_to_meet():
    # The same visits, concentrated on fewer people: a busy site meets fewer persons.
    def run(cv):
        s = _one_site(40.0, **{"close_peers.count": 24})
        loc = dataclasses.replace(s.population.localities[0], site_visit_cv=cv)
        pop = dataclasses.replace(s.population, localities=(loc,))
        return run_ensemble(dataclasses.replace(s, population=pop), REPS)

    alike, regulars = run(0.0), run(2.0)
    assert np.array_equal(_metric(alike, "site_visits"), _metric(regulars, "site_visits"))
    diff = _metric(regulars, "clients_contacted") - _metric(alike, "clients_contacted")
    assert _z(diff) < -Z

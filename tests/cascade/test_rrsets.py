"""Tests of the reverse-reachable-set chooser (IMM), :mod:`sim.cascade.rrsets`.

The RR sets must mirror the forward two-stage propagation of :mod:`sim.cascade.core`: ``n``
times the share of RR sets a seed set hits estimates its expected reach, as the forward
samples' mean does; the chooser built on them must pick as well as CELF, the same picks at
once or in steps and on any thread count, and only from its pool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.cascade.influence import (
    RR_MIN_NODES,
    GreedyInfluence,
    RRInfluence,
    greedy_influence,
    spread_samples,
)
from sim.cascade.rrsets import imm_theta, rr_cover_share
from sim.graphs.csr import CSRGraph
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.recruitment.influence import tie_probabilities
from sim.model.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
FORWARD = 20_000  # forward samples
SETS = 100_000  # RR sets


def _random_graph(seed: int, n: int, m: int) -> CSRGraph:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, 3 * m)
    dst = rng.integers(0, n, 3 * m)
    keep = src != dst
    pairs = np.unique(np.sort(np.stack([src[keep], dst[keep]], 1), axis=1), axis=0)[:m]
    return CSRGraph.from_edges(n, pairs[:, 0], pairs[:, 1])


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_rr_sets_estimate_the_forward_reach(hops):
    # Per-arc contact probabilities differ between the two arcs of a tie, so a reverse search
    # that read an arc's probability from the wrong direction would be biased.
    n = 60
    g = _random_graph(hops, n, 150)
    rng = np.random.default_rng(10 + hops)
    contact = rng.uniform(0.05, 0.8, g.n_arcs)
    refer = rng.uniform(0.0, 0.5, n)
    refer[:3] = 1.0  # certain referrers, and persons who never refer
    refer[3:6] = 0.0
    seed_sets = [[0], [5, 17], [1, 2, 3, 4], list(range(0, n, 7)), [int(rng.integers(n))]]
    share = rr_cover_share(g, contact, hops, refer, seed_sets, sets=SETS, key=5)
    for seeds, h in zip(seed_sets, share, strict=True):
        forward = spread_samples(g, contact, hops, refer, seeds, samples=FORWARD, key=3)
        # Independent estimates: the forward mean has standard error sd / sqrt(FORWARD), the
        # RR estimate n * sqrt(h (1 - h) / SETS) (binomial); 4 combined standard errors.
        se = np.hypot(forward.std() / np.sqrt(FORWARD), n * np.sqrt(h * (1 - h) / SETS))
        assert abs(n * h - forward.mean()) <= 4 * se + 1e-9


def test_rr_sets_follow_arc_direction_and_the_wave_limit():
    # A path 0 - 1 - ... - 9: contact only forwards (u -> u + 1), certain; referral only
    # from person 4, certain. From 0 with two hops: 0, 1, 2 in person, nobody refers: 3.
    # From 2: 2, 3, 4 in person, then 4 refers to 5 (and 3), and 5 does not: 4 persons.
    n = 10
    g = CSRGraph.from_edges(n, np.arange(n - 1), np.arange(1, n))
    tails = np.repeat(np.arange(n), np.diff(g.indptr))
    contact = (g.indices == tails + 1).astype(float)
    refer = np.zeros(n)
    refer[4] = 1.0
    for seeds, reach in (([0], 3), ([2], 4), ([0, 2], 6), ([9], 1)):
        assert spread_samples(g, contact, 2, refer, seeds, samples=10).tolist() == [reach] * 10
        h = rr_cover_share(g, contact, 2, refer, [seeds], sets=SETS, key=1)[0]
        # Binomial share of reach / n; 4 standard errors of SETS draws.
        p = reach / n
        assert abs(h - p) <= 4 * np.sqrt(p * (1 - p) / SETS)


def _baseline(size: int = 800):
    s = load_scenario(BASELINE, {"population.size": size})
    model = OutreachModel(s.replace({"close_peers.count": 0, "distant_peers.count": 0}), 0)
    return s, model


@pytest.mark.parametrize("kind", [S.CLOSE, S.DISTANT])
def test_rr_picks_reach_what_celf_picks_reach(kind):
    s, model = _baseline()
    g = model.world.graph
    contact, hops, refer = tie_probabilities(s, model.world, kind)
    rr = greedy_influence(g, contact, hops, refer, 10, key=2, method="rr")
    celf = greedy_influence(g, contact, hops, refer, 10, key=2, method="celf")
    assert rr.method == "rr" and celf.method == "celf" and rr.rr_sets > 0
    # Both measured on the same 2,000 fresh forward draws (common random numbers, a key
    # neither chose with); the mean's standard error is under 0.5% of it here. IMM's own
    # bound (1 - 1/e - eps) is a worst case; the picks are required within 3%.
    rr_reach = spread_samples(g, contact, hops, refer, rr.nodes, samples=2000, key=77).mean()
    celf_reach = spread_samples(g, contact, hops, refer, celf.nodes, samples=2000, key=77).mean()
    assert rr_reach >= 0.97 * celf_reach
    # The RR estimate of the picks' reach is an estimate of the same expectation.
    assert rr.reach == pytest.approx(rr_reach, rel=0.05)


def test_rr_picks_are_the_same_at_once_or_in_steps():
    s, model = _baseline()
    contact, hops, refer = tie_probabilities(s, model.world, S.DISTANT)
    g = model.world.graph
    slots = np.array([2, 0, 0, 1, 0, 2, 1, 0])
    whole = greedy_influence(
        g, contact, hops, refer, 0, groups=model.world.age_band, slots=slots, key=9, method="rr"
    )
    resumed = GreedyInfluence(
        g, contact, hops, refer, key=9, groups=model.world.age_band, method="rr", planned=slots.size
    )
    assert isinstance(resumed, RRInfluence)
    for group in slots[:3]:
        resumed.pick(int(group))
    for group in slots[3:]:
        resumed.pick(int(group))
    assert np.array_equal(resumed.result().nodes, whole.nodes)
    assert resumed.result().reach == whole.reach
    assert np.array_equal(model.world.age_band[whole.nodes], slots)
    # Without groups: the first 5 of 12 are the 5 asked for at once (same planned size).
    longer = greedy_influence(g, contact, hops, refer, 12, key=9, method="rr")
    steps = GreedyInfluence(g, contact, hops, refer, key=9, method="rr", planned=12)
    first = [steps.pick() for _ in range(5)]
    assert first == longer.nodes[:5].tolist()


def test_rr_picks_do_not_depend_on_the_thread_count():
    from numba import get_num_threads, set_num_threads

    s, model = _baseline()
    contact, hops, refer = tie_probabilities(s, model.world, S.DISTANT)
    before = get_num_threads()
    try:
        runs = []
        for threads in sorted({1, before}):
            set_num_threads(threads)
            runs.append(
                greedy_influence(model.world.graph, contact, hops, refer, 6, key=4, method="rr")
            )
    finally:
        set_num_threads(before)
    assert all(np.array_equal(r.nodes, runs[0].nodes) and r.reach == runs[0].reach for r in runs)


def test_rr_picks_come_from_the_pool_and_skip_the_seeded():
    s, model = _baseline()
    contact, hops, refer = tie_probabilities(s, model.world, S.CLOSE)
    g = model.world.graph
    pool = np.arange(0, g.n_nodes, 3)
    seeded = pool[:4]
    picks = greedy_influence(
        g, contact, hops, refer, 8, candidates=pool, seeded=seeded, key=1, method="rr"
    )
    assert picks.nodes.size == 8
    assert np.isin(picks.nodes, pool).all() and not np.isin(picks.nodes, seeded).any()
    # reach counts the seeded persons' reach too: it estimates the reach of both together.
    both = spread_samples(
        g, contact, hops, refer, np.concatenate([seeded, picks.nodes]), samples=2000, key=8
    ).mean()
    assert picks.reach == pytest.approx(both, rel=0.05)
    # Asked for more than the pool holds, it stops when the pool runs out.
    small = greedy_influence(g, contact, hops, refer, 10, candidates=[1, 2, 3], key=1, method="rr")
    assert sorted(small.nodes.tolist()) == [1, 2, 3]


def test_auto_takes_rr_sets_from_the_stated_size_on():
    for n, expected in ((RR_MIN_NODES - 1, GreedyInfluence), (RR_MIN_NODES, RRInfluence)):
        g = CSRGraph.from_edges(n, np.arange(n - 1), np.arange(1, n))
        chooser = GreedyInfluence(g, np.full(g.n_arcs, 0.1), 1, np.zeros(n), samples=2)
        assert type(chooser) is expected
    with pytest.raises(ValueError, match="method"):
        greedy_influence(g, np.full(g.n_arcs, 0.1), 1, np.zeros(n), 2, method="fast")


def test_imm_theta_follows_the_papers_formula():
    # Tang, Shi & Xiao 2015, Eq. 6 with n = 1000, k = 10, eps = 0.5, l = 1, LB = 100.
    import math

    n, k, eps, ell, lb = 1000, 10, 0.5, 1.0, 100.0
    e1 = 1 - 1 / math.e
    alpha = math.sqrt(ell * math.log(n) + math.log(2))
    beta = math.sqrt(e1 * (math.log(math.comb(n, k)) + ell * math.log(n) + math.log(2)))
    expected = 2 * n * (e1 * alpha + beta) ** 2 / eps**2 / lb
    assert imm_theta(n, n, k, eps, ell, lb) == math.ceil(expected)

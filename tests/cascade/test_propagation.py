"""Tests of the independent-cascade core (sim.cascade.core) and its plain-Python reference."""

from __future__ import annotations

import random

import networkx as nx
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import brentq
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from sim.cascade import core as propagation
from sim.cascade.core import (
    P_PER_ARC,
    P_PER_NODE,
    P_UNIFORM,
    cascade_sizes,
    propagate,
    propagate_parallel,
)
from sim.cascade.reference import cascade_sizes_reference
from sim.graphs.csr import CSRGraph


def _configuration_graph(degrees: np.ndarray, rng: np.random.Generator) -> CSRGraph:
    """Stub matching (Molloy & Reed 1995); self-loops and repeated ties are dropped."""
    stubs = np.repeat(np.arange(degrees.size), degrees)
    rng.shuffle(stubs)
    if stubs.size % 2:
        stubs = stubs[:-1]
    return CSRGraph.from_edges(degrees.size, stubs[0::2], stubs[1::2])


def _percolation_theory(degrees: np.ndarray, transmissibility: float) -> float:
    """Giant-cluster share S of bond percolation on a configuration graph (Newman 2002).

    u = 1 - T + T G1(u), S = 1 - G0(u), with G0, G1 the generating functions of the realised
    degree distribution and of the excess degree.
    """
    pk = np.bincount(degrees) / degrees.size
    k = np.arange(pk.size)
    excess = (k * pk)[1:] / np.sum(k * pk)
    g0 = np.polynomial.Polynomial(pk)
    g1 = np.polynomial.Polynomial(excess)
    u = brentq(lambda x: 1 - transmissibility + transmissibility * g1(x) - x, 0.0, 1 - 1e-9)
    return float(1 - g0(u))


def _components(graph: CSRGraph) -> np.ndarray:
    n = graph.n_nodes
    tails = np.repeat(np.arange(n), graph.degree())
    adjacency = csr_matrix((np.ones(graph.n_arcs), (tails, graph.indices)), shape=(n, n))
    return connected_components(adjacency, directed=False)[1]


@pytest.fixture
def two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Theory: bond percolation on configuration-model graphs (Newman 2002, PRE 66:016128)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "transmissibility"),
    [("poisson", 0.5), ("power_law_cutoff", 0.4)],
)
def test_large_outbreaks_match_bond_percolation(family, transmissibility):
    n, replicates = 20_000, 2_000
    rng = np.random.default_rng(20020128)
    if family == "poisson":
        degrees = rng.poisson(4.0, n)
    else:
        k = np.arange(2, 101)
        pk = k**-2.5 / np.sum(k**-2.5)
        degrees = rng.choice(k, size=n, p=pk)
    graph = _configuration_graph(degrees, rng)
    share = _percolation_theory(graph.degree(), transmissibility)

    sizes = cascade_sizes(graph, transmissibility, 1, replicates, seed=7) / n
    # Small outbreaks stay O(1) nodes (a few dozen at most here); 5% of n separates them from
    # the giant cluster cleanly.
    large = sizes[sizes > 0.05]

    # Mean size of large outbreaks within 1% of S n. The per-run spread of a giant cluster is
    # O(sqrt(n)): its standard error over the 1,200+ large runs is < 0.02% of S n, and the
    # quenched (one graph) and finite-size biases, measured over several graph seeds at this n,
    # stay within 0.4%, so 1% is robust.
    assert large.mean() == pytest.approx(share, rel=0.01)

    # With one uniformly random seed, P(large) = S for undirected bond percolation. Binomial
    # standard error sqrt(S (1 - S) / R) is about 0.01 at R = 2,000; allow 3 of them.
    sigma = np.sqrt(share * (1 - share) / replicates)
    assert abs(large.size / replicates - share) < 3 * sigma


# ---------------------------------------------------------------------------------------------
# Agreement in distribution with the plain-Python reference
# ---------------------------------------------------------------------------------------------


def _small_graph() -> CSRGraph:
    rng = np.random.default_rng(3)
    return _configuration_graph(rng.poisson(3.0, 300), rng)


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("uniform p, random seeds", {"p": 0.35, "seeds": 2}),
        ("per-node p, fixed seeds", {"p": "per-node", "seeds": np.array([0, 5, 9])}),
        ("per-arc p", {"p": "per-arc", "seeds": 1}),
        ("wave cap", {"p": 0.5, "seeds": 3, "max_waves": 2}),
    ],
)
def test_matches_reference_in_distribution(case, kwargs):
    graph = _small_graph()
    rng = np.random.default_rng(11)
    if kwargs["p"] == "per-node":
        kwargs = {**kwargs, "p": rng.uniform(0.1, 0.7, graph.n_nodes)}
    elif kwargs["p"] == "per-arc":
        kwargs = {**kwargs, "p": rng.uniform(0.1, 0.7, graph.n_arcs)}
    replicates = 3_000
    fast = cascade_sizes(graph, replicates=replicates, seed=1, **kwargs)
    slow = cascade_sizes_reference(graph, replicates=replicates, seed=2, **kwargs)
    # Two-sample KS at alpha = 0.001 per case (4 cases): with 3,000 draws each it detects a
    # shift of the size CDF of about 0.05. KS is conservative on discrete sizes, which only
    # makes a false alarm rarer; the seeds are fixed, so the outcome is deterministic.
    assert stats.ks_2samp(fast, slow).pvalue > 0.001, case
    # And the means agree within 4 standard errors of their difference.
    se = np.sqrt(np.var(fast) / replicates + np.var(slow) / replicates)
    assert abs(np.mean(fast) - np.mean(slow)) < 4 * se + 1e-12, case


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------------------------


@st.composite
def graphs_with_seeds(draw):
    n = draw(st.integers(1, 25))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    graph = CSRGraph.from_edges(n, src, dst)
    seeds = np.array(
        draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=min(n, 5), unique=True)),
        dtype=np.int32,
    )
    key = np.uint64(draw(st.integers(0, 2**64 - 1)))
    return graph, seeds, key


def _run(graph, seeds, key, p, max_waves=-1):
    prob = np.array([p])
    return propagate(graph.indptr, graph.indices, prob, P_UNIFORM, seeds, key, max_waves)


@settings(max_examples=60, deadline=None)
@given(graphs_with_seeds())
def test_p_zero_reaches_only_seeds(case):
    graph, seeds, key = case
    wave, order = _run(graph, seeds, key, 0.0)
    assert sorted(order.tolist()) == sorted(seeds.tolist())
    assert cascade_sizes(graph, 0.0, seeds, 3, seed=int(key % 1000)).tolist() == [seeds.size] * 3


@settings(max_examples=60, deadline=None)
@given(graphs_with_seeds())
def test_p_one_reaches_exactly_the_seeds_components(case):
    graph, seeds, key = case
    labels = _components(graph)
    expected = np.isin(labels, labels[seeds])
    wave, _ = _run(graph, seeds, key, 1.0)
    np.testing.assert_array_equal(wave >= 0, expected)
    # With p = 1 the wave of reach is the BFS distance from the nearest seed.
    g = graph.to_networkx()
    dist = nx.multi_source_dijkstra_path_length(g, set(seeds.tolist()))
    assert {v: int(wave[v]) for v in dist} == dist
    assert cascade_sizes(graph, 1.0, seeds, 2, seed=0).tolist() == [int(expected.sum())] * 2


@settings(max_examples=80, deadline=None)
@given(graphs_with_seeds(), st.floats(0.0, 1.0))
def test_reached_set_is_a_tree_of_waves_inside_the_seeds_components(case, p):
    graph, seeds, key = case
    labels = _components(graph)
    wave, order = _run(graph, seeds, key, p)
    reached = wave >= 0
    assert np.all(np.isin(labels[reached], labels[seeds]))
    assert np.all(wave[seeds] == 0)
    assert order.size == reached.sum() and np.all(wave[order] >= 0)
    assert np.all(np.diff(wave[order]) >= 0)  # listed wave by wave
    for v in np.flatnonzero(reached & (wave > 0)):
        # Every non-seed was reached from a neighbour of the previous wave.
        assert np.any(wave[graph.neighbours(v)] == wave[v] - 1)


@settings(max_examples=60, deadline=None)
@given(graphs_with_seeds(), st.floats(0.0, 1.0))
def test_wave_cap(case, p):
    graph, seeds, key = case
    wave0, _ = _run(graph, seeds, key, p, max_waves=0)
    assert set(np.flatnonzero(wave0 >= 0).tolist()) == set(seeds.tolist())
    wave1, _ = _run(graph, seeds, key, p, max_waves=1)
    allowed = set(seeds.tolist())
    for s in seeds:
        allowed.update(graph.neighbours(s).tolist())
    assert set(np.flatnonzero(wave1 >= 0).tolist()) <= allowed
    # A cap only truncates the same cascade: the first waves agree with the uncapped run.
    full, _ = _run(graph, seeds, key, p)
    np.testing.assert_array_equal(wave1, np.where(full <= 1, full, -1))
    sizes = cascade_sizes(graph, p, seeds, 4, seed=1, max_waves=0)
    assert sizes.tolist() == [seeds.size] * 4


# ---------------------------------------------------------------------------------------------
# Per-node and per-arc probabilities
# ---------------------------------------------------------------------------------------------


def test_per_node_probability_applies_to_arcs_leaving_the_node():
    star = CSRGraph.from_edges(6, np.zeros(5, dtype=np.int64), np.arange(1, 6))
    hub_tells = np.array([1.0, 0, 0, 0, 0, 0])
    assert cascade_sizes(star, hub_tells, np.array([0]), 3, seed=1).tolist() == [6, 6, 6]
    # A leaf that never passes it on keeps it to itself, even though the hub would.
    assert cascade_sizes(star, hub_tells, np.array([2]), 3, seed=1).tolist() == [1, 1, 1]
    assert cascade_sizes_reference(star, hub_tells, np.array([2]), 3, seed=1) == [1, 1, 1]


def test_per_arc_probability_from_weights_or_array():
    path = CSRGraph.from_edges(4, np.array([0, 1, 2]), np.array([1, 2, 3]))
    # Arcs in CSR order: 0->1, 1->0, 1->2, 2->1, 2->3, 3->2; open only the rightward ones.
    rightward = np.array([1.0, 0, 1, 0, 1, 0])
    assert cascade_sizes(path, rightward, np.array([0]), 2, seed=0).tolist() == [4, 4]
    assert cascade_sizes(path, rightward, np.array([3]), 2, seed=0).tolist() == [1, 1]
    weighted = path.with_weights(rightward)
    assert cascade_sizes(weighted, None, np.array([1]), 2, seed=0).tolist() == [3, 3]


def test_networkx_graph_is_read_in_node_order():
    g = nx.relabel_nodes(nx.karate_club_graph(), {i: f"n{i}" for i in range(34)})
    csr = CSRGraph.from_networkx(g)
    a = cascade_sizes(g, 0.3, 2, 50, seed=5)
    b = cascade_sizes(csr, 0.3, 2, 50, seed=5)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# Reproducibility and threads
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mid_graph() -> CSRGraph:
    # Mean degree ~8 so that waves grow past 512 nodes and take the parallel branch.
    rng = np.random.default_rng(42)
    return _configuration_graph(rng.poisson(8.0, 30_000), rng)


@pytest.mark.parametrize("kind", ["uniform 0.2", "uniform 0.6", "per-node", "per-arc"])
def test_frontier_parallel_kernel_equals_serial_kernel(mid_graph, kind, two_threads):
    g = mid_graph
    rng = np.random.default_rng(5)
    prob, code = {
        "uniform 0.2": (np.array([0.2]), P_UNIFORM),
        "uniform 0.6": (np.array([0.6]), P_UNIFORM),
        "per-node": (rng.uniform(0.1, 0.5, g.n_nodes), P_PER_NODE),
        "per-arc": (rng.uniform(0.1, 0.5, g.n_arcs), P_PER_ARC),
    }[kind]
    seeds = np.array([1, 2, 3], dtype=np.int32)
    for key in (np.uint64(1), np.uint64(2**63 + 12345)):
        wave, order = propagate(g.indptr, g.indices, prob, code, seeds, key, -1)
        # Some wave is large enough (>= 512 nodes) to take the parallel branch.
        assert np.bincount(wave[wave >= 0]).max() >= 512
        for threads in (1, 2):
            numba.set_num_threads(threads)
            for n_chunks in (1, 2, 3, 8):
                w2, o2 = propagate_parallel(
                    g.indptr, g.indices, prob, code, seeds, key, -1, n_chunks
                )
                np.testing.assert_array_equal(w2, wave)
                np.testing.assert_array_equal(o2, order)
        w3, _ = propagate_parallel(g.indptr, g.indices, prob, code, seeds, key, 3, 4)
        np.testing.assert_array_equal(w3, np.where(wave <= 3, wave, -1))


def test_uniform_and_constant_per_node_probabilities_draw_alike(mid_graph):
    # Both use the same geometric jumps keyed on the node, so they agree draw for draw.
    g = mid_graph
    seeds = np.array([7], dtype=np.int32)
    a = propagate(g.indptr, g.indices, np.array([0.3]), P_UNIFORM, seeds, np.uint64(9), -1)
    b = propagate(g.indptr, g.indices, np.full(g.n_nodes, 0.3), P_PER_NODE, seeds, np.uint64(9), -1)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("p", [5e-324, 1e-300, 1e-17, np.nextafter(1.0, 0.0)])
def test_extreme_probabilities_stay_in_bounds(p):
    # Subnormal p once made the geometric gap inf and its integer conversion garbage.
    star = CSRGraph.from_edges(50, np.zeros(49, dtype=np.int64), np.arange(1, 50))
    sizes = cascade_sizes(star, p, np.array([0]), 200, seed=3)
    assert np.all(sizes == (1 if p < 0.5 else 50))


@pytest.mark.parametrize("p", [0.001, 0.05, 0.3, 0.9, 0.999])
@pytest.mark.parametrize("per_arc", [False, True])
def test_successes_from_a_hub_are_binomial(p, per_arc):
    # A star with the hub as seed: the leaves reached count the hub's successful arcs, which
    # must be Binomial(d, p). This checks the geometric jumps (and the per-arc draws) directly.
    d, replicates = 2_000, 400
    star = CSRGraph.from_edges(d + 1, np.zeros(d, dtype=np.int64), np.arange(1, d + 1))
    prob = np.full(star.n_arcs, p) if per_arc else p
    leaves = cascade_sizes(star, prob, np.array([0]), replicates, seed=17) - 1
    mean, var = d * p, d * p * (1 - p)
    # The sample mean has standard error sqrt(var / R); allow 4 of them.
    assert abs(leaves.mean() - mean) < 4 * np.sqrt(var / replicates)
    # The sample variance has relative standard error ~ sqrt(2 / R) = 7%; allow 30%.
    assert leaves.var(ddof=1) == pytest.approx(var, rel=0.3)
    assert leaves.min() >= 0 and leaves.max() <= d


@pytest.mark.parametrize("replicates", [1, 3, 40])
def test_same_seed_same_output_for_any_thread_count(
    mid_graph, replicates, two_threads, monkeypatch
):
    # Let single cascades take the frontier-parallel path on this 30k-node graph too, so that
    # replicates=1 on 2 threads (frontier-parallel) is compared with 1 thread (serial).
    monkeypatch.setattr(propagation, "_FRONTIER_PARALLEL_MIN_NODES", 0)
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        results.append(cascade_sizes(mid_graph, 0.15, 5, replicates, seed=123))
    np.testing.assert_array_equal(results[0], results[1])
    again = cascade_sizes(mid_graph, 0.15, 5, replicates, seed=123)
    np.testing.assert_array_equal(again, results[0])
    other = cascade_sizes(mid_graph, 0.15, 5, replicates, seed=124)
    assert not np.array_equal(other, results[0])
    assert results[0].dtype == np.int64 and results[0].shape == (replicates,)


def test_generator_is_shared_and_advanced():
    g = _small_graph()
    rng = np.random.default_rng(9)
    first = cascade_sizes(g, 0.3, 1, 20, seed=rng)
    second = cascade_sizes(g, 0.3, 1, 20, seed=rng)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, cascade_sizes(g, 0.3, 1, 20, seed=9))


def test_no_global_random_state_is_touched():
    g = _small_graph()
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    cascade_sizes(g, 0.3, 2, 5)
    cascade_sizes(g, 0.3, 2, 5, seed=1)
    cascade_sizes(g.to_networkx(), 0.3, np.array([1, 2]), 5, seed=np.random.default_rng(1))
    cascade_sizes_reference(g, 0.3, 2, 5)
    cascade_sizes_reference(g, 0.3, 2, 5, seed=1)
    after_np = np.random.get_state()  # noqa: NPY002
    assert after_np[0] == np_state[0] and np.array_equal(after_np[1], np_state[1])
    assert after_np[2:] == np_state[2:]
    assert random.getstate() == py_state


# ---------------------------------------------------------------------------------------------
# Argument errors name the argument
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p": 1.5}, "p"),
        ({"p": -0.1}, "p"),
        ({"p": float("nan")}, "p"),
        ({"p": True}, "p"),
        ({"p": "high"}, "p"),
        ({"p": np.full(7, 0.5)}, "p"),
        ({"p": np.full(10, 2.0)}, "p"),
        ({"p": None}, "p"),
        ({"seeds": 11}, "seeds"),
        ({"seeds": -1}, "seeds"),
        ({"seeds": np.array([0, 10])}, "seeds"),
        ({"seeds": np.array([-1])}, "seeds"),
        ({"seeds": np.array([3, 3])}, "seeds"),
        ({"seeds": np.array([0.5])}, "seeds"),
        ({"replicates": 0}, "replicates"),
        ({"replicates": 2.0}, "replicates"),
        ({"max_waves": -1}, "max_waves"),
        ({"seed": -3}, "seed"),
        ({"seed": "x"}, "seed"),
    ],
)
@pytest.mark.parametrize("function", [cascade_sizes, cascade_sizes_reference])
def test_bad_arguments_raise_value_error_naming_them(function, kwargs, name):
    ring = CSRGraph.from_edges(10, np.arange(10), (np.arange(10) + 1) % 10)
    args = {"graph": ring, "p": 0.5, "seeds": 1, "replicates": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name}:"):
        function(args.pop("graph"), args.pop("p"), args.pop("seeds"), **args)


def test_unknown_graph_type_is_named():
    with pytest.raises(ValueError, match="^graph:"):
        cascade_sizes({0: [1]}, 0.5, 1)
    with pytest.raises(ValueError, match="^graph:"):
        cascade_sizes_reference([[1], [0]], 0.5, 1)


def test_ambiguous_array_length_is_refused():
    path3 = CSRGraph.from_edges(3, np.array([0, 1]), np.array([1, 2]))  # 3 nodes, 4 arcs
    assert cascade_sizes(path3, np.ones(4), np.array([0])).tolist() == [3]
    path4 = CSRGraph.from_edges(4, np.array([0, 1]), np.array([1, 2]))  # 4 nodes, 4 arcs
    with pytest.raises(ValueError, match="^p: ambiguous"):
        cascade_sizes(path4, np.ones(4), np.array([0]))

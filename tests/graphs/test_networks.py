"""Tests of sim.graphs: generators (reproducibility, statistics against theory) and loaders."""

from __future__ import annotations

import math
import random
import re

import networkx as nx
import numpy as np
import pytest

from sim.errors import UserInputError
from sim.graphs.csr import CSRGraph
from sim.graphs.generators import (
    community_graph,
    configuration_graph,
    power_law_degrees,
    small_world_graph,
)
from sim.graphs.graph_files import Labels, load_graph

GENERATORS = {
    "community": lambda rng: community_graph(2000, rng),
    "community_localities": lambda rng: community_graph(
        2000, rng, locality_shares=(0.5, 0.3, 0.2), homophily=0.9
    ),
    "configuration": lambda rng: configuration_graph(
        power_law_degrees(2000, 2.5, 2, 100, rng), rng
    ),
    "small_world": lambda rng: small_world_graph(500, 6, 0.2, rng),
    "power_law_degrees": lambda rng: power_law_degrees(2000, 2.5, 2, 100, rng),
}


def _arrays(result) -> list[np.ndarray]:
    if isinstance(result, CSRGraph):
        return [result.indptr, result.indices, *(result.node_attrs[k] for k in result.node_attrs)]
    return [result]


def _same(x, y) -> bool:
    ax, ay = _arrays(x), _arrays(y)
    return len(ax) == len(ay) and all(np.array_equal(a, b) for a, b in zip(ax, ay, strict=True))


def _arc_tails(g: CSRGraph) -> np.ndarray:
    return np.repeat(np.arange(g.n_nodes), g.degree())


def _share_alike(g: CSRGraph, attr: str) -> float:
    values = g.node_attrs[attr]
    return float(np.mean(values[_arc_tails(g)] == values[g.indices]))


def _is_simple_symmetric(g: CSRGraph) -> bool:
    tails = _arc_tails(g)
    if np.any(tails == g.indices):
        return False
    fwd = tails.astype(np.int64) * g.n_nodes + g.indices
    back = g.indices.astype(np.int64) * g.n_nodes + tails
    return np.unique(fwd).size == fwd.size and np.array_equal(np.sort(fwd), np.sort(back))


# --------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_graph_other_seed_other_graph(name):
    make = GENERATORS[name]
    assert _same(make(7), make(7))
    assert _same(make(np.random.default_rng(7)), make(np.random.default_rng(7)))
    assert not _same(make(7), make(8))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_leave_global_random_state_alone(name):
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is the point
    py_state = random.getstate()
    GENERATORS[name](None)
    GENERATORS[name](3)
    after = np.random.get_state()  # noqa: NPY002
    assert random.getstate() == py_state
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])
    assert np_state[2:] == after[2:]


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_passed_in_is_the_stream_used(name):
    rng = np.random.default_rng(11)
    before = rng.bit_generator.state
    GENERATORS[name](rng)
    assert rng.bit_generator.state != before
    # Two successive calls on one stream differ: the stream advanced.
    rng = np.random.default_rng(11)
    assert not _same(GENERATORS[name](rng), GENERATORS[name](rng))


# --------------------------------------------------------------------------- community_graph


@pytest.fixture(scope="module")
def default_community() -> CSRGraph:
    return community_graph(20_000, 2024)


def test_community_graph_is_simple_with_attributes(default_community):
    g = default_community
    assert _is_simple_symmetric(g)
    assert set(g.node_attrs) == {"locality", "community", "gender", "age_band"}
    for values in g.node_attrs.values():
        assert np.issubdtype(values.dtype, np.integer)
    sizes = np.bincount(g.node_attrs["community"])
    assert sizes.min() >= 25 and sizes.max() <= 75  # near community_size=50


def test_community_graph_mean_degree_near_target(default_community):
    # Target degrees are rescaled to sum to n * mean_degree; only erased leftovers (about one
    # stub per pool) are lost, so 2% is loose; the brief allows 10%.
    for n in (1000, 20_000):
        g = default_community if n == 20_000 else community_graph(n, 5)
        assert g.degree().mean() == pytest.approx(10.0, rel=0.02)
    g = community_graph(5000, 5, mean_degree=4.0, community_size=100)
    assert g.degree().mean() == pytest.approx(4.0, rel=0.05)


def test_community_graph_degrees_heavy_tailed(default_community):
    d = default_community.degree()
    # Log-normal with sigma 0.8: variance = mean**2 * (exp(0.64) - 1) ~ 90, far above a
    # Poisson's variance (= mean); the maximum of 20k draws is about 15x the mean.
    assert d.var() > 4 * d.mean()
    assert d.max() > 6 * d.mean()
    assert np.median(d) < d.mean()  # right-skewed


def test_community_graph_sigma_zero_gives_near_equal_degrees():
    d = community_graph(3000, 1, degree_sigma=0.0, community_size=200).degree()
    assert d.var() < d.mean()


def test_community_graph_subgroup_shares():
    g = community_graph(20_000, 9, subgroup_shares={"gender": (0.7, 0.3), "x": (0.5, 0.25, 0.25)})
    # Binomial standard error sqrt(p(1-p)/n) ~ 0.0032 at n=20k; allow 4 SE.
    assert np.mean(g.node_attrs["gender"] == 0) == pytest.approx(0.7, abs=0.013)
    assert np.mean(g.node_attrs["x"] == 1) == pytest.approx(0.25, abs=0.013)


def test_community_graph_homophily_raises_same_gender_ties():
    alike = {}
    for h in (0.0, 0.9):
        g = community_graph(20_000, 31, homophily=h)
        alike[h] = _share_alike(g, "gender")
        if h == 0.0:
            # Random mixing: a stub's partner is gender g with probability D_g / D (degree
            # sums). About 100k ties give a standard error near 0.002; communities of 50 add a
            # composition term near 2 * p(1-p) / 50 ~ 0.008, hence the tolerance 0.02.
            gender = g.node_attrs["gender"]
            d_g = np.bincount(gender, weights=g.degree())
            expected = float(np.sum((d_g / d_g.sum()) ** 2))
            assert alike[h] == pytest.approx(expected, abs=0.02)
    assert alike[0.9] > alike[0.0] + 0.15
    ages = [_share_alike(community_graph(5000, 4, homophily=h), "age_band") for h in (0, 0.5, 1)]
    assert ages[0] < ages[1] < ages[2]


def test_community_graph_cross_locality_share():
    g = community_graph(20_000, 12, locality_shares=(0.4, 0.35, 0.25), p_cross_locality=0.05)
    loc = g.node_attrs["locality"]
    assert np.bincount(loc).tolist() == [8000, 7000, 5000]
    cross = float(np.mean(loc[_arc_tails(g)] != loc[g.indices]))
    # ~100k ties: standard error sqrt(0.05 * 0.95 / 1e5) ~ 0.0007; 5 SE plus erased leftovers.
    assert cross == pytest.approx(0.05, abs=0.005)
    # Communities nest inside localities.
    com = g.node_attrs["community"]
    assert np.unique(com.astype(np.int64) * 10 + loc).size == np.unique(com).size
    p0 = community_graph(5000, 12, locality_shares=(0.5, 0.5), p_cross_locality=0.0)
    loc0 = p0.node_attrs["locality"]
    assert np.all(loc0[_arc_tails(p0)] == loc0[p0.indices])


def test_community_graph_ties_mostly_within_community(default_community):
    g = default_community
    com = g.node_attrs["community"]
    cross = float(np.mean(com[_arc_tails(g)] != com[g.indices]))
    # p_cross_community + p_cross_locality (one locality) = 0.12, plus the documented overflow
    # of hubs in communities of 50 (about 0.07).
    assert 0.10 < cross < 0.25


def test_community_graph_same_for_any_thread_count(monkeypatch):
    # Every draw is keyed by person, stub or pool, never by thread: one thread and all threads
    # build the identical graph. PARALLEL_MIN = 0 makes even this small graph use the threads.
    import numba

    from sim.graphs import community

    monkeypatch.setattr(community, "PARALLEL_MIN", 0)
    most = numba.get_num_threads()
    kwargs = {
        "locality_shares": (0.6, 0.4),
        "homophily": 0.7,
        "p_cross_locality": 0.05,
        "degree_factors": {"gender": (1.0, 1.5)},
    }
    graphs = []
    for threads in sorted({1, most}):
        numba.set_num_threads(threads)
        try:
            graphs.append(community_graph(20_000, 77, **kwargs))
        finally:
            numba.set_num_threads(most)
    assert numba.get_num_threads() == most
    assert all(_same(graphs[0], g) for g in graphs[1:])
    assert _is_simple_symmetric(graphs[0])
    # Rows come out sorted, as CSRGraph promises.
    g = graphs[0]
    rows = np.repeat(np.arange(g.n_nodes), g.degree())
    assert np.all(np.diff(g.indices.astype(np.int64) + rows * g.n_nodes) > 0)


def test_community_graph_degree_factors_scale_degrees():
    g = community_graph(20_000, 3, degree_factors={"gender": (1.0, 2.0)}, community_size=200)
    d, gender = g.degree(), g.node_attrs["gender"]
    # Targets of group 1 are twice group 0's before rescaling; about 6k people per group give
    # means within a few per cent, and erased ties (hubs out of partners) pull the ratio down
    # a little, hence 1.8 to 2.1.
    assert 1.8 < d[gender == 1].mean() / d[gender == 0].mean() < 2.1


def test_community_graph_small_and_degenerate_cases():
    g = community_graph(2, 0, mean_degree=1.0)
    assert g.n_nodes == 2 and g.n_edges <= 1
    g = community_graph(30, 0, mean_degree=3, subgroup_shares={}, locality_shares=(0.5, 0.5))
    assert g.n_nodes == 30 and set(g.node_attrs) == {"locality", "community"}
    assert _is_simple_symmetric(g)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_nodes": 1}, "n_nodes"),
        ({"n_nodes": 10.5}, "n_nodes"),
        ({"mean_degree": 0}, "mean_degree"),
        ({"mean_degree": 5000}, "mean_degree"),
        ({"degree_sigma": -1}, "degree_sigma"),
        ({"community_size": 1}, "community_size"),
        ({"locality_shares": (0.5, 0.6)}, "locality_shares"),
        ({"locality_shares": ()}, "locality_shares"),
        ({"subgroup_shares": {"gender": (1.2, -0.2)}}, "subgroup_shares['gender']"),
        ({"subgroup_shares": {"locality": (1.0,)}}, "subgroup_shares"),
        ({"homophily": 1.5}, "homophily"),
        ({"p_cross_community": -0.1}, "p_cross_community"),
        ({"p_cross_locality": math.nan}, "p_cross_locality"),
        ({"p_cross_community": 0.6, "p_cross_locality": 0.6}, "p_cross_community + p_cross"),
    ],
)
def test_community_graph_validates_arguments(kwargs, name):
    args = {"n_nodes": 100, **kwargs}
    with pytest.raises(ValueError, match=re.escape(name)):
        community_graph(rng=0, **args)


# --------------------------------------------------------------------------- configuration


def test_configuration_graph_keeps_sparse_degree_sequence():
    rng = np.random.default_rng(3)
    degrees = rng.poisson(4, size=20_000)
    degrees[0] += degrees.sum() % 2
    g = configuration_graph(degrees, 5)
    achieved = g.degree()
    assert _is_simple_symmetric(g)
    assert np.all(achieved <= degrees)
    # Expected erased stubs: self-loops ~ <k^2>/(2<k>) and multi-edges ~ (<k^2>/<k>)^2/4 ties
    # (Newman 2010), a few dozen stubs here out of 80k.
    lost = int(degrees.sum() - achieved.sum())
    assert lost < 100
    assert np.mean(achieved == degrees) > 0.99


def test_configuration_graph_power_law_and_validation():
    degrees = power_law_degrees(100_000, 2.5, 4, 1000, 1)
    assert degrees.sum() % 2 == 0
    assert degrees.min() >= 4 and degrees.max() <= 1000
    assert 8 < degrees.mean() < 13
    g = configuration_graph(degrees, 1)
    assert g.n_nodes == 100_000
    assert g.degree().sum() > 0.98 * degrees.sum()
    with pytest.raises(ValueError, match="degrees: the sum must be even"):
        configuration_graph([1, 2], 0)
    with pytest.raises(ValueError, match="degrees: must be non-negative"):
        configuration_graph([-1, 1], 0)
    with pytest.raises(ValueError, match="degrees"):
        configuration_graph([1.5, 0.5], 0)
    assert configuration_graph(np.zeros(0, dtype=int), 0).n_nodes == 0


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((1, 2.5, 1, 1), "n_nodes"),
        ((100, 1.0, 1, 10), "exponent"),
        ((100, 2.5, -1, 10), "k_min"),
        ((100, 2.5, 5, 4), "k_max"),
        ((100, 2.5, 1, 100), "k_max"),
    ],
)
def test_power_law_degrees_validates(args, name):
    with pytest.raises(ValueError, match=name):
        power_law_degrees(*args, rng=0)


def test_power_law_degrees_tail_follows_exponent():
    d = power_law_degrees(200_000, 2.5, 1, 10_000, 2)
    # P(k) ~ k**-2.5 gives P(k=2)/P(k=1) = 2**-2.5 = 0.177; binomial SE ~ 0.002 here.
    assert np.mean(d == 2) / np.mean(d == 1) == pytest.approx(2**-2.5, abs=0.01)


# --------------------------------------------------------------------------- small world


def _clustering(g: CSRGraph) -> float:
    return nx.average_clustering(g.to_networkx())


def test_small_world_tie_count_and_clustering():
    n, k = 1000, 10
    ring = small_world_graph(n, k, 0.0, 0)
    assert ring.n_edges == n * k // 2
    assert np.all(ring.degree() == k)
    # Ring lattice clustering 3(k-2)/(4(k-1)) = 2/3 at k=10 (Watts & Strogatz 1998).
    assert _clustering(ring) == pytest.approx(3 * (k - 2) / (4 * (k - 1)))
    c = []
    for p in (0.0, 0.05, 0.3, 1.0):
        g = small_world_graph(n, k, p, 1)
        assert g.n_edges == n * k // 2
        assert _is_simple_symmetric(g)
        c.append(_clustering(g))
    assert c[0] > c[1] > c[2] > c[3]
    assert c[3] < 0.05  # random graph: about k / n


def test_small_world_dense_case_keeps_exact_tie_count():
    g = small_world_graph(12, 10, 1.0, 3)
    assert g.n_edges == 60 and _is_simple_symmetric(g)


@pytest.mark.parametrize(
    ("args", "name"),
    [((2, 2, 0.1), "n_nodes"), ((10, 3, 0.1), "k"), ((10, 10, 0.1), "k"), ((10, 2, 2), "p_rewire")],
)
def test_small_world_validates(args, name):
    with pytest.raises(ValueError, match=name):
        small_world_graph(*args, rng=0)


# --------------------------------------------------------------------------- loading


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_round_trip_with_string_ids(tmp_path):
    g = community_graph(300, 4, mean_degree=5)
    ids = [f"person-{i:04d}" for i in reversed(range(g.n_nodes))]
    tails = _arc_tails(g)
    mask = tails < g.indices
    lines = ["source,target,weight"]
    lines += [
        f"{ids[u]},{ids[v]},{(u + v) % 7 / 10}"
        for u, v in zip(tails[mask].tolist(), g.indices[mask].tolist(), strict=True)
    ]
    edges = _write(tmp_path / "edges.csv", "\n".join(lines) + "\n")
    nodes_lines = ["id,gender,age_band,site"]
    gender_label = ("woman", "man")  # not in sorted order: labels must map by name
    nodes_lines += [
        f"{ids[i]},{gender_label[g.node_attrs['gender'][i]]},{g.node_attrs['age_band'][i]},s{i % 3}"
        for i in range(g.n_nodes)
        if g.degree()[i] > 0
    ]
    nodes = _write(tmp_path / "nodes.csv", "\n".join(nodes_lines) + "\n")

    labels = {"gender": Labels(gender_label), "age_band": Labels(("young", "middle", "old"))}
    loaded, loaded_ids = load_graph(edges, nodes, labels=labels)
    assert loaded.n_edges == g.n_edges
    assert loaded.weights is not None
    # Map loaded positions back to the generator's positions through the identifiers.
    back = np.array([ids.index(x) for x in loaded_ids])
    orig = {(int(u), int(v)) for u, v in zip(tails[mask], g.indices[mask], strict=True)}
    lt = _arc_tails(loaded)
    got = {
        tuple(sorted((int(back[u]), int(back[v])))) for u, v in zip(lt, loaded.indices, strict=True)
    }
    assert got == orig
    w = {
        tuple(sorted((int(back[u]), int(back[v])))): x
        for u, v, x in zip(lt, loaded.indices, loaded.weights, strict=True)
    }
    assert all(w[(u, v)] == pytest.approx((u + v) % 7 / 10) for u, v in orig)
    # Labels coded by their position in the given names, integer columns read as codes; an
    # extra column ('site') keeps its labels as written.
    assert np.array_equal(loaded.node_attrs["gender"], g.node_attrs["gender"][back])
    assert np.array_equal(loaded.node_attrs["age_band"], g.node_attrs["age_band"][back])
    assert sorted(set(loaded.node_attrs["site"].tolist())) == ["s0", "s1", "s2"]


def test_load_csv_without_weights_and_custom_weight_column(tmp_path):
    f = _write(tmp_path / "e.csv", "target,source,p\nb,a,0.5\nc,b,0.25\na,b,0.9\n")
    g, ids = load_graph(f)
    assert ids == ["a", "b", "c"] and g.weights is None and g.n_edges == 2
    g, _ = load_graph(f, weight="p")
    assert g.weights is not None
    assert g.weights[g.indptr[0]] == 0.5  # the first listing of a-b wins


def test_load_graphml(tmp_path):
    h = nx.Graph()
    h.add_node("x", gender="woman", age_band=2)
    h.add_node("y", gender="man", age_band=0)
    h.add_node("z", gender="man", age_band=1)
    h.add_edge("x", "y", weight=0.3)
    h.add_edge("y", "z", weight=0.7)
    path = tmp_path / "net.graphml"
    nx.write_graphml(h, path)
    g, ids = load_graph(
        path, labels={"gender": Labels(("woman", "man")), "age_band": Labels(("a", "b", "c"))}
    )
    assert ids == ["x", "y", "z"]
    assert g.n_edges == 2
    assert g.node_attrs["gender"].tolist() == [0, 1, 1]
    assert g.node_attrs["age_band"].tolist() == [2, 0, 1]
    assert sorted(g.weights.tolist()) == [0.3, 0.3, 0.7, 0.7]
    extra = _write(tmp_path / "n.csv", "id,site\nx,1\ny,2\nz,2\n")
    g, _ = load_graph(path, extra)
    assert g.node_attrs["site"].tolist() == [1, 2, 2]


CSV_ERRORS = [
    ("missing", None, "e.csv", "file not found"),
    ("empty", "", "e.csv", "empty"),
    ("no_target", "source,dest\na,b\n", "e.csv", "'target'"),
    ("no_rows", "source,target\n", "e.csv", "'source', 'target'"),
    ("self_loop", "source,target\na,b\nc,c\n", "e.csv", "line 3: columns 'source', 'target'"),
    ("bad_weight", "source,target,weight\na,b,x\n", "e.csv", "line 2: column 'weight'"),
    ("neg_weight", "source,target,weight\na,b,-1\n", "e.csv", "line 2: column 'weight'"),
    ("nan_weight", "source,target,weight\na,b,nan\n", "e.csv", "column 'weight'"),
    ("short_row", "source,target\na,b\nc\n", "e.csv", "line 3"),
    ("empty_id", "source,target\na,\n", "e.csv", "column 'target'"),
]


@pytest.mark.parametrize(("case", "text", "name", "needle"), CSV_ERRORS, ids=lambda x: str(x))
def test_load_csv_errors_name_file_and_column(tmp_path, case, text, name, needle):
    path = tmp_path / name
    if text is not None:
        _write(path, text)
    with pytest.raises(UserInputError, match=None) as info:
        load_graph(path)
    message = str(info.value)
    assert name in message and needle in message
    assert "\n" not in message


def test_load_weight_column_missing(tmp_path):
    f = _write(tmp_path / "e.csv", "source,target\na,b\n")
    with pytest.raises(UserInputError, match=r"e\.csv: line 1: no weight column 'w'"):
        load_graph(f, weight="w")


NODE_ERRORS = [
    # (an id the edge list lacks is a person with no ties: tests/cli/test_reliability.py)
    ("id,gender\na,1\n,0\nb,1\n", "line 3: column 'id' is empty"),
    ("name,gender\na,1\nb,0\n", "missing column 'id'"),
    ("id,gender\na,1\n", "column 'id': no row for node 'b'"),
    ("id,gender\na,1\nb,\n", "line 3: column 'gender' is empty"),
    ("id,gender\na,1\na,0\nb,1\n", "column 'id': node 'a' listed twice"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "needle"), NODE_ERRORS)
def test_load_nodes_csv_errors(tmp_path, text, needle):
    edges = _write(tmp_path / "e.csv", "source,target\na,b\n")
    nodes = _write(tmp_path / "people.csv", text)
    with pytest.raises(UserInputError) as info:
        load_graph(edges, nodes)
    assert "people.csv" in str(info.value) and needle in str(info.value)


def test_load_graphml_errors(tmp_path):
    bad = _write(tmp_path / "bad.graphml", "<graphml><graph><node id='a'>")
    with pytest.raises(UserInputError, match=r"bad\.graphml: malformed GraphML"):
        load_graph(bad)
    h = nx.Graph()
    h.add_edge("a", "a")
    nx.write_graphml(h, tmp_path / "loop.graphml")
    with pytest.raises(UserInputError, match=r"loop\.graphml.*'source', 'target': self-loop"):
        load_graph(tmp_path / "loop.graphml")
    h = nx.Graph()
    h.add_edge("a", "b", weight=-2.0)
    nx.write_graphml(h, tmp_path / "neg.graphml")
    with pytest.raises(UserInputError, match=r"neg\.graphml.*'weight'"):
        load_graph(tmp_path / "neg.graphml")
    h = nx.Graph()
    h.add_node("a", gender=1)
    h.add_edge("a", "b")
    nx.write_graphml(h, tmp_path / "part.graphml")
    with pytest.raises(UserInputError, match=r"part\.graphml: node attribute 'gender'"):
        load_graph(tmp_path / "part.graphml")

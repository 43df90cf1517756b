"""Generators of the social graph of a hidden population.

Generators (vectorised numpy, or numba kernels for the community graph; no per-edge Python
loop; each takes ``rng``, a numpy Generator, an int seed or None, and never touches numpy's or
Python's global random state):

- :func:`community_graph`: the default hidden-population graph, heavy-tailed (log-normal)
  degrees, communities nested in localities, homophily by subgroup.
- :func:`configuration_graph`: the erased configuration model for a given degree sequence.
- :func:`small_world_graph`: the Watts-Strogatz small world.
- :func:`power_law_degrees`: a power-law degree sequence, for benchmarks and theory checks.

A user's own graph file is read by :mod:`sim.graphs.graph_files`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from sim.graphs.csr import CSRGraph
from sim.streams import as_generator

__all__ = [
    "community_graph",
    "configuration_graph",
    "power_law_degrees",
    "small_world_graph",
]

# Finnish problem drug use is over 70% men (Rönkä et al., Duodecim); three age bands.
DEFAULT_SUBGROUP_SHARES: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {"gender": (0.7, 0.3), "age_band": (0.35, 0.4, 0.25)}
)

_MAX_NODES = int(np.iinfo(np.int32).max)
# Tie levels of a stub in community_graph.
_WITHIN_COMMUNITY, _CROSS_COMMUNITY, _CROSS_LOCALITY = 0, 1, 2
# Redraw rounds of small_world_graph before clashing ties go back to their ring ends.
_MAX_REDRAWS = 200


# --------------------------------------------------------------------------- validation


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: must be an integer in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name}: must be an integer in [{lo}, {hi}], got {value}")
    return int(value)


def _check_real(name: str, value, lo: float, hi: float, *, open_lo: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"{name}: must be a number in {_range(lo, hi, open_lo)}, got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and (lo < x if open_lo else lo <= x) and x <= hi):
        raise ValueError(f"{name}: must be a number in {_range(lo, hi, open_lo)}, got {value}")
    return x


def _range(lo: float, hi: float, open_lo: bool) -> str:
    return f"{'(' if open_lo else '['}{lo:g}, {hi:g}]"


def _check_shares(name: str, shares) -> np.ndarray:
    try:
        p = np.asarray(shares, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a sequence of shares summing to 1") from None
    # A zero share is a category no one falls in (a programme for men only), as a scenario
    # allows; it is simply never drawn.
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(
            f"{name}: must be a non-empty sequence of non-negative shares, got {shares!r}"
        )
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name}: shares must sum to 1, got {shares!r} (sum {p.sum():g})")
    return p / p.sum()


# --------------------------------------------------------------------------- generators


def _block_sizes(n: int, shares: np.ndarray) -> np.ndarray:
    """Split ``n`` by ``shares`` with the largest-remainder rule (sizes sum to ``n``)."""
    exact = shares * n
    sizes = np.floor(exact).astype(np.int64)
    short = n - int(sizes.sum())
    if short:
        sizes[np.argsort(-(exact - sizes), kind="stable")[:short]] += 1
    return sizes


def community_graph(
    n_nodes: int,
    rng=None,
    *,
    mean_degree: float = 10.0,
    degree_sigma: float = 0.8,
    community_size: int = 50,
    locality_shares: Sequence[float] = (1.0,),
    subgroup_shares: Mapping[str, Sequence[float]] = DEFAULT_SUBGROUP_SHARES,
    homophily: float = 0.5,
    p_cross_community: float = 0.1,
    p_cross_locality: float = 0.02,
    degree_factors: Mapping[str, Sequence[float]] | None = None,
) -> CSRGraph:
    """A hidden-population social graph: heavy-tailed degrees, communities, localities, homophily.

    Algorithm (a Chung-Lu style degree model realised by block-wise stub matching):

    1. Nodes are split into localities by ``locality_shares`` (contiguous blocks, largest
       remainder rounding), each locality into ``round(size / community_size)`` communities of
       near-equal size; every subgroup attribute is drawn independently by its shares.
    2. Each node gets a target degree ``w`` from a log-normal distribution with shape
       ``degree_sigma`` (personal network sizes of people who use drugs are roughly log-normal,
       median about 10: Avery et al. 2021), rescaled so the targets sum to
       ``n_nodes * mean_degree`` (after multiplying each by its ``degree_factors``, so some
       subgroups have more ties than others), then rounded stochastically to an integer
       number of stubs (expected degrees as in Chung & Lu 2002).
    3. Each stub independently becomes cross-locality with probability ``p_cross_locality``,
       cross-community (same locality) with probability ``p_cross_community``, and otherwise
       within-community; and homophilous with probability ``homophily``. A stub with no block to
       cross to (one locality; one community in its locality) falls back a level.
    4. Stubs are shuffled and paired within pools: the community (or locality, or the whole
       graph) of the tie level, further split by the full subgroup cell (every attribute equal)
       for homophilous stubs, so homophily raises the share of ties between alike people
       (assortative mixing by age, less by gender: Smith et al. 2018). Pairs that make a
       self-loop, repeat a tie or stay inside the block they should cross are returned to the
       pool and re-paired in later rounds (erased configuration model with repair: Newman 2002);
       of several pairs making one tie, the one from the earliest round and smallest stub stays.
       Stubs still unpaired after two rounds relax their pool in steps: a homophilous stub
       then needs only the same value of one subgroup attribute (chosen at random), then any
       partner in its block, and last a within-community stub may go to another community of
       its locality; the few left after that (about one per pool) are dropped.

    The achieved mean degree is within about 1% of ``mean_degree`` for ``n_nodes >= 1000``
    and the share of cross-locality ties is close to ``p_cross_locality``. Two departures
    from the parameters, both from small communities: hubs and dense communities run out of
    new partners, so about 9% of ties at the defaults (2% with ``community_size=200``) overflow
    to other communities of the locality, on top of ``p_cross_community``; and a small subgroup
    cell (say 4 young women in a community of 50) cannot hold most of its members' ties, so
    the same-subgroup share rises with ``homophily`` but stays below ``homophily`` itself
    (same-gender ties at the defaults: 0.58 at ``homophily=0``, random mixing; 0.78 at 0.9;
    0.89 at 0.9 with ``community_size=200``).

    Randomness and threads: the generator ``rng`` gives one 64-bit key per process (subgroups,
    degrees, rounding, tie level, homophily, relaxing, pairing), and every draw is a
    counter-based number keyed by the person, the stub or the pool it decides
    (:func:`sim.streams.uniform`), so the graph is the same for any number of numba threads.

    Cost: O(m) time for ``m = n_nodes * mean_degree / 2`` ties (counting sorts of the stubs by
    pool, each pool shuffled and paired in parallel; later rounds touch only the leftover
    stubs) and about 40 bytes per tie at the peak (the result keeps 8 per tie and 8 per
    person): 1M people and 5M ties build in about as long as NetworKit's Chung-Lu generator
    takes for the same degree sequence (``experiments/bench/networks.py``). Kernels are in
    :mod:`sim.graphs.community`.

    Args:
        n_nodes: number of people, in ``[2, 2**31 - 1]``.
        rng: a numpy Generator (used as is), an int seed, or None (fresh OS entropy).
        mean_degree: target mean number of ties per person, in ``(0, n_nodes - 1]``.
        degree_sigma: shape (log-scale standard deviation) of the log-normal degrees, ``>= 0``;
            0 gives near-equal degrees.
        community_size: typical number of people per community, ``>= 2``.
        locality_shares: share of people in each locality (non-negative, summing to 1).
        subgroup_shares: per subgroup attribute (such as ``"gender"``), the share of each of its
            values ``0, 1, ...`` (non-negative, summing to 1; a zero share is never drawn).
        homophily: in ``[0, 1]``; the share of stubs paired only with a person of the same
            subgroup cell (every subgroup attribute equal).
        p_cross_community: in ``[0, 1]``; the share of ties to another community of the same
            locality.
        p_cross_locality: in ``[0, 1]``; the share of ties to another locality;
            ``p_cross_community + p_cross_locality <= 1``.
        degree_factors: optional, per subgroup attribute, the relative number of ties of each
            of its values (positive; for example deeper involvement in the subculture, more
            ties). The mean degree stays ``mean_degree``.

    Returns:
        The graph, with integer ``node_attrs`` ``"locality"``, ``"community"`` (numbered across
        the whole graph) and one per subgroup key.

    Raises:
        ValueError: an argument out of range (the message names it and the allowed range).
    """
    n = _check_int("n_nodes", n_nodes, 2, _MAX_NODES)
    mean_degree = _check_real("mean_degree", mean_degree, 0.0, n - 1, open_lo=True)
    degree_sigma = _check_real("degree_sigma", degree_sigma, 0.0, 10.0)
    community_size = _check_int("community_size", community_size, 2, _MAX_NODES)
    loc_shares = _check_shares("locality_shares", locality_shares)
    if not isinstance(subgroup_shares, Mapping):
        raise ValueError("subgroup_shares: must be a mapping of attribute name to shares")
    groups: dict[str, np.ndarray] = {}
    for key, shares in subgroup_shares.items():
        if not isinstance(key, str) or key in ("locality", "community"):
            raise ValueError(
                f"subgroup_shares: key {key!r} must be a name other than 'locality', 'community'"
            )
        groups[key] = _check_shares(f"subgroup_shares[{key!r}]", shares)
    factors: dict[str, np.ndarray] = {}
    for key, values in (degree_factors or {}).items():
        if key not in groups:
            raise ValueError(f"degree_factors: key {key!r} is not a subgroup attribute")
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != groups[key].shape or not np.all(arr > 0) or not np.all(np.isfinite(arr)):
            raise ValueError(
                f"degree_factors[{key!r}]: must be {groups[key].size} positive "
                "numbers, one per value"
            )
        factors[key] = arr
    homophily = _check_real("homophily", homophily, 0.0, 1.0)
    p_comm = _check_real("p_cross_community", p_cross_community, 0.0, 1.0)
    p_loc = _check_real("p_cross_locality", p_cross_locality, 0.0, 1.0)
    if p_comm + p_loc > 1.0 + 1e-12:
        raise ValueError(
            f"p_cross_community + p_cross_locality: must be at most 1, got {p_comm + p_loc:g}"
        )
    gen = as_generator(rng)

    from sim.graphs.community import KEY_NAMES, build_community_csr
    from sim.streams import uint64_seeds

    keys = uint64_seeds(gen, len(KEY_NAMES))

    # 1. Localities and communities: contiguous blocks of persons, numbered along them.
    loc_sizes = _block_sizes(n, loc_shares)
    locality = np.repeat(np.arange(loc_sizes.size, dtype=np.int32), loc_sizes)
    loc_start = np.concatenate([[0], np.cumsum(loc_sizes)[:-1]])
    n_comm_in_loc = np.maximum(1, np.rint(loc_sizes / community_size)).astype(np.int64)
    n_comm_in_loc[loc_sizes == 0] = 0
    comm_offset = np.concatenate([[0], np.cumsum(n_comm_in_loc)[:-1]])
    local_index = np.arange(n, dtype=np.int64) - loc_start[locality]
    sizes_of_node = loc_sizes[locality]
    community = (
        comm_offset[locality] + local_index * n_comm_in_loc[locality] // sizes_of_node
    ).astype(np.int32)
    del local_index, sizes_of_node

    # 2-4. Subgroups, degrees and stub matching, in numba (sim.graphs.community).
    names = list(groups)
    indptr, indices, values = build_community_csr(
        keys,
        n,
        mean_degree=mean_degree,
        degree_sigma=degree_sigma,
        locality=locality,
        community=community,
        n_comm_in_loc=n_comm_in_loc,
        group_shares=[groups[k] for k in names],
        factors={names.index(k): arr for k, arr in factors.items()},
        homophily=homophily,
        p_cross_community=p_comm,
        p_cross_locality=p_loc,
    )
    attrs: dict[str, np.ndarray] = {"locality": locality, "community": community}
    attrs.update(zip(names, values, strict=True))
    return CSRGraph(indptr, indices, None, attrs)


def configuration_graph(degrees, rng=None) -> CSRGraph:
    """The erased configuration model for a degree sequence.

    Stubs (``degrees[i]`` copies of node ``i``) are shuffled and paired in order, then
    self-loops and repeated ties are dropped (Molloy & Reed 1995; Newman 2002, "Spread of
    epidemic disease on networks"). For a sparse sequence with bounded second moment the erased
    ties are a vanishing share, so degrees match the input apart from a few.

    Cost: O(m log m) time and O(m) memory for ``m = sum(degrees) / 2``.

    Args:
        degrees: non-negative integer degrees, one per node, with an even sum.
        rng: a numpy Generator (used as is), an int seed, or None.

    Returns:
        The graph (no node attributes).

    Raises:
        ValueError: degrees not a 1-d sequence of non-negative integers, or an odd sum.
    """
    d = np.asarray(degrees)
    if d.ndim != 1 or (d.size and not np.issubdtype(d.dtype, np.integer)):
        raise ValueError("degrees: must be a 1-d sequence of non-negative integers")
    d = d.astype(np.int64)
    if d.size > _MAX_NODES:
        raise ValueError(f"degrees: at most {_MAX_NODES} nodes, got {d.size}")
    if d.size and d.min() < 0:
        raise ValueError(f"degrees: must be non-negative integers, got minimum {d.min()}")
    if int(d.sum()) % 2:
        raise ValueError(f"degrees: the sum must be even, got {int(d.sum())}")
    gen = as_generator(rng)
    stubs = np.repeat(np.arange(d.size, dtype=np.int64), d)
    gen.shuffle(stubs)
    return CSRGraph.from_edges(int(d.size), stubs[0::2], stubs[1::2])


def small_world_graph(n_nodes: int, k: int, p_rewire: float, rng=None) -> CSRGraph:
    """The Watts-Strogatz small world (Watts & Strogatz 1998), vectorised.

    Start from a ring where each node is tied to its ``k / 2`` nearest neighbours on each side;
    each tie ``(u, u + j)`` then has its far end rewired, with probability ``p_rewire``, to a
    node drawn uniformly from all others. A rewired tie that would repeat an existing tie is
    redrawn (ties that were not rewired keep priority), so the graph has exactly
    ``n_nodes * k / 2`` ties, as in networkx's ``watts_strogatz_graph``. Should redraws not
    settle (only in near-complete graphs), the remaining ties go back to their ring ends.

    Cost: O(m log m) per redraw round for ``m = n_nodes * k / 2``; the rounds needed are few
    unless ``k`` is close to ``n_nodes``.

    Args:
        n_nodes: number of nodes, ``>= 3``.
        k: ring degree, an even integer in ``[2, n_nodes - 2]``.
        p_rewire: probability of rewiring each tie, in ``[0, 1]``.
        rng: a numpy Generator (used as is), an int seed, or None.

    Returns:
        The graph (no node attributes).

    Raises:
        ValueError: an argument out of range.
    """
    n = _check_int("n_nodes", n_nodes, 3, _MAX_NODES)
    k = _check_int("k", k, 2, n - 2)
    if k % 2:
        raise ValueError(f"k: must be an even integer in [2, {n - 2}], got {k}")
    p = _check_real("p_rewire", p_rewire, 0.0, 1.0)
    gen = as_generator(rng)
    half = k // 2
    u = np.repeat(np.arange(n, dtype=np.int64), half)
    ring_v = (u + np.tile(np.arange(1, half + 1, dtype=np.int64), n)) % n
    v = ring_v.copy()
    pending = np.flatnonzero(gen.random(u.size) < p)
    fixed = np.ones(u.size, dtype=bool)
    fixed[pending] = False
    for _ in range(_MAX_REDRAWS):
        if pending.size == 0:
            break
        # Uniform over the other n - 1 nodes, never u itself.
        v[pending] = (u[pending] + 1 + gen.integers(0, n - 1, size=pending.size)) % n
        keys = np.minimum(u, v) * n + np.maximum(u, v)
        # Sorting by (key, not fixed, random) keeps a fixed tie, else one random claimant.
        order = np.lexsort((gen.random(u.size), ~fixed, keys))
        repeat = np.zeros(u.size, dtype=bool)
        repeat[1:] = keys[order][1:] == keys[order][:-1]
        loser = np.zeros(u.size, dtype=bool)
        loser[order[repeat]] = True
        fixed[pending[~loser[pending]]] = True
        pending = pending[loser[pending]]
    if pending.size:
        # Ring ends are all distinct, so reverting every rewired tie in a clash terminates.
        v[pending] = ring_v[pending]
        while True:
            keys = np.minimum(u, v) * n + np.maximum(u, v)
            order = np.argsort(keys, kind="stable")
            same = keys[order][1:] == keys[order][:-1]
            clash = np.zeros(u.size, dtype=bool)
            clash[order[1:][same]] = True
            clash[order[:-1][same]] = True
            clash &= v != ring_v
            if not clash.any():
                break
            v[clash] = ring_v[clash]
    return CSRGraph.from_edges(n, u, v)


def power_law_degrees(
    n_nodes: int, exponent: float, k_min: int, k_max: int, rng=None
) -> np.ndarray:
    """A degree sequence drawn from a discrete power law ``P(k) ~ k**-exponent``.

    Degrees are drawn independently on ``k_min .. k_max``; if their sum is odd, one node below
    ``k_max`` (chosen at random) gets one more, so the sequence can be paired into ties.
    With ``exponent = 2.5, k_min = 4, k_max = 1000`` the mean is about 10.

    Cost: O(n_nodes + k_max - k_min) time and memory.

    Args:
        n_nodes: number of nodes, ``>= 2``.
        exponent: power-law exponent, in ``(1, 10]``.
        k_min: smallest degree, ``>= 0``.
        k_max: largest degree, in ``[max(k_min, 1), n_nodes - 1]``.
        rng: a numpy Generator (used as is), an int seed, or None.

    Returns:
        An ``int64`` array of ``n_nodes`` degrees with an even sum.

    Raises:
        ValueError: an argument out of range.
    """
    n = _check_int("n_nodes", n_nodes, 2, _MAX_NODES)
    exponent = _check_real("exponent", exponent, 1.0, 10.0, open_lo=True)
    k_min = _check_int("k_min", k_min, 0, n - 1)
    k_max = _check_int("k_max", k_max, max(k_min, 1), n - 1)
    gen = as_generator(rng)
    support = np.arange(k_min, k_max + 1, dtype=np.int64)
    # k = 0 has no power-law weight; give it the weight of k = 1 so k_min = 0 stays usable.
    weight = np.maximum(support, 1).astype(np.float64) ** -exponent
    degrees = support[gen.choice(support.size, size=n, p=weight / weight.sum())]
    if int(degrees.sum()) % 2:
        below = np.flatnonzero(degrees < k_max)
        if below.size:
            degrees[below[gen.integers(below.size)]] += 1
        else:  # every node at k_max: one fewer keeps the sum even
            degrees[0] -= 1
    return degrees

"""Generators of the social graph of a hidden population.

Generators (all vectorised numpy, no per-edge Python loop; each takes ``rng``, a numpy
Generator, an int seed or None, and never touches numpy's or Python's global random state):

- :func:`community_graph`: the default hidden-population graph, heavy-tailed (log-normal)
  degrees, communities nested in localities, homophily by subgroup.
- :func:`configuration_graph`: the erased configuration model for a given degree sequence.
- :func:`small_world_graph`: the Watts-Strogatz small world.
- :func:`power_law_degrees`: a power-law degree sequence, for benchmarks and theory checks.

A user's own graph file is read by :mod:`sim.graphs.files`.
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
            f"{name}: must be a non-empty sequence of non-negative shares, got {shares!r}")
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


def _pair_within_pools(pool: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Randomly pair up positions that share a pool key.

    Positions are shuffled, stably sorted by pool, and consecutive positions of one pool are
    paired (ranks 0-1, 2-3, ...); a pool of odd size leaves one position unpaired.

    Returns:
        Two arrays ``a, b`` of positions into ``pool``, the paired partners.
    """
    k = pool.shape[0]
    if k < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    spare_bits = 62 - int(pool.max()).bit_length()
    if spare_bits >= 24:
        # One sort of (pool, random tiebreak) packed in an int64 beats shuffle + stable sort.
        tagged = (pool << spare_bits) | rng.integers(0, 1 << spare_bits, size=k)
        order = np.argsort(tagged)
    else:
        order = rng.permutation(k)
        order = order[np.argsort(pool[order], kind="stable")]
    sorted_pool = pool[order]
    idx = np.arange(k)
    starts = np.ones(k, dtype=bool)
    starts[1:] = sorted_pool[1:] != sorted_pool[:-1]
    rank = idx - np.maximum.accumulate(np.where(starts, idx, 0))
    first = np.flatnonzero(((rank % 2) == 0)[:-1] & ~starts[1:])
    return order[first], order[first + 1]


def _is_known(keys: np.ndarray, chunks: list[np.ndarray]) -> np.ndarray:
    """Whether each edge key is already in one of the sorted ``chunks``."""
    # Searching sorted needles walks each chunk in order, far kinder to the cache.
    order = np.argsort(keys)
    needles = keys[order]
    found = np.zeros(keys.shape[0], dtype=bool)
    for chunk in chunks:
        if chunk.size:
            pos = np.searchsorted(chunk, needles)
            found |= chunk[np.minimum(pos, chunk.size - 1)] == needles
    known = np.empty_like(found)
    known[order] = found
    return known


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
       pool and re-paired in later rounds (erased configuration model with repair: Newman 2002).
       Stubs still unpaired after four rounds relax their pool in steps: a homophilous stub
       then needs only the same value of one subgroup attribute (chosen at random), then any
       partner in its block, and last a within-community stub may go to another community of
       its locality; the few left after that (about one per pool) are dropped.

    The achieved mean degree is within about 1% of ``mean_degree`` for ``n_nodes >= 1000``
    and the share of cross-locality ties is close to ``p_cross_locality``. Two departures
    from the parameters, both from small communities: hubs and dense communities run out of
    new partners, so about 7% of ties at the defaults (2% with ``community_size=200``) overflow
    to other communities of the locality, on top of ``p_cross_community``; and a small subgroup
    cell (say 4 young women in a community of 50) cannot hold most of its members' ties, so
    the same-subgroup share rises with ``homophily`` but stays below ``homophily`` itself
    (same-gender ties at the defaults: 0.57 at ``homophily=0``, random mixing; 0.79 at 0.9;
    0.90 at 0.9 with ``community_size=200``).

    Cost: O(m log m) time for ``m = n_nodes * mean_degree / 2`` ties (a few sorts of the stubs;
    later rounds touch only the leftover stubs) and O(m) memory: 1M nodes and 5M ties take
    seconds and well under 2 GB.

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
            raise ValueError(f"degree_factors[{key!r}]: must be {groups[key].size} positive "
                             "numbers, one per value")
        factors[key] = arr
    homophily = _check_real("homophily", homophily, 0.0, 1.0)
    p_comm = _check_real("p_cross_community", p_cross_community, 0.0, 1.0)
    p_loc = _check_real("p_cross_locality", p_cross_locality, 0.0, 1.0)
    if p_comm + p_loc > 1.0 + 1e-12:
        raise ValueError(
            f"p_cross_community + p_cross_locality: must be at most 1, got {p_comm + p_loc:g}"
        )
    gen = as_generator(rng)

    # 1. Localities, communities, subgroups.
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
    attrs: dict[str, np.ndarray] = {"locality": locality, "community": community}
    cell = np.zeros(n, dtype=np.int64)
    n_cells = 1
    for key, p in groups.items():
        values = gen.choice(p.size, size=n, p=p).astype(np.int32)
        attrs[key] = values
        cell = cell * p.size + values
        n_cells *= p.size
    group_values = [attrs[key] for key in groups]
    group_offset = np.cumsum([0] + [p.size for p in groups.values()])
    no_group = n_cells + int(group_offset[-1])  # the sub-pool of stubs without homophily

    # 2. Log-normal target degrees, rescaled to the target mean, rounded stochastically.
    mu = math.log(mean_degree) - degree_sigma**2 / 2.0
    target = gen.lognormal(mu, degree_sigma, size=n)
    for key, arr in factors.items():
        target *= arr[attrs[key]]
    target *= n * mean_degree / target.sum()
    np.minimum(target, n - 1, out=target)
    stubs_per_node = np.floor(target).astype(np.int64)
    stubs_per_node += gen.random(n) < (target - stubs_per_node)
    stub_node = np.repeat(np.arange(n, dtype=np.int32), stubs_per_node)
    n_stubs = stub_node.shape[0]

    # 3. Tie level and homophily of each stub.
    level = gen.choice(3, size=n_stubs, p=[max(0.0, 1.0 - p_comm - p_loc), p_comm, p_loc])
    level = level.astype(np.int8)
    homophilous = gen.random(n_stubs) < homophily
    if loc_sizes.size == 1 or np.count_nonzero(loc_sizes) == 1:
        level[level == _CROSS_LOCALITY] = _CROSS_COMMUNITY
    single_comm = n_comm_in_loc[locality[stub_node]] <= 1
    level[(level == _CROSS_COMMUNITY) & single_comm] = _WITHIN_COMMUNITY
    sub_pool = np.where(homophilous, cell[stub_node], no_group)
    del homophilous

    # 4. Pair stubs in pools, repairing rejected pairs in later rounds. Phases relax the pools:
    # same subgroup cell -> same value of one random attribute -> any subgroup -> locality.
    n_comm = int(n_comm_in_loc.sum())
    n_loc = int(loc_sizes.size)
    chunks: list[np.ndarray] = []
    active = np.arange(n_stubs, dtype=np.int64)
    for phase in range(4):
        if phase == 1 and group_values:
            still = active[sub_pool[active] != no_group]
            which = gen.integers(len(group_values), size=still.size)
            value = np.zeros(still.size, dtype=np.int64)
            for j, values in enumerate(group_values):
                value[which == j] = values[stub_node[still[which == j]]]
            sub_pool[still] = n_cells + group_offset[which] + value
        if phase == 2:
            sub_pool[active] = no_group
        if phase == 3:
            lift = active[(level[active] == _WITHIN_COMMUNITY) & ~single_comm[active]]
            level[lift] = _CROSS_COMMUNITY
        for _ in range(4):
            if active.size < 2:
                break
            nodes = stub_node[active].astype(np.int64)
            lv = level[active]
            block = np.where(
                lv == _WITHIN_COMMUNITY,
                community[nodes],
                np.where(lv == _CROSS_COMMUNITY, locality[nodes], 0),
            ).astype(np.int64)
            sub = sub_pool[active]
            pool = (lv.astype(np.int64) * (max(n_comm, n_loc) + 1) + block) * (no_group + 1) + sub
            a, b = _pair_within_pools(pool, gen)
            u, v = nodes[a], nodes[b]
            ok = u != v
            pair_level = lv[a]
            ok &= np.where(
                pair_level == _CROSS_COMMUNITY,
                community[u] != community[v],
                np.where(pair_level == _CROSS_LOCALITY, locality[u] != locality[v], True),
            )
            keys = np.minimum(u, v) * n + np.maximum(u, v)
            ok &= ~_is_known(keys, chunks)
            good = np.flatnonzero(ok)
            _, first = np.unique(keys[good], return_index=True)
            good = good[first]
            if good.size == 0:
                break
            chunks.append(np.sort(keys[good]))
            if len(chunks) > 2:  # one big first chunk and one merged chunk of later rounds
                chunks = [chunks[0], np.sort(np.concatenate(chunks[1:]))]
            used = np.zeros(active.size, dtype=bool)
            used[a[good]] = True
            used[b[good]] = True
            active = active[~used]

    keys = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)
    return CSRGraph.from_edges(n, keys // n, keys % n, node_attrs=attrs)


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

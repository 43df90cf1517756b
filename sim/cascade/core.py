"""Independent-cascade propagation over CSR arrays.

The independent cascade (IC) model of Kempe, Kleinberg & Tardos (2003, "Maximizing the spread
of influence through a social network", KDD): the seeds are reached in wave 0; a node reached in
wave ``w`` gets exactly one chance, in wave ``w + 1``, to pass the cascade along each of its arcs
``u -> v`` to a not yet reached neighbour, succeeding with the arc's probability, independently
of everything else. On an undirected graph only one arc of a tie is ever tried (the one leaving
whichever end is reached first), so with a uniform probability ``p`` the final reached set from
one seed is that seed's cluster in bond percolation with transmissibility ``T = p`` (Newman
2002, "Spread of epidemic disease on networks", Phys. Rev. E 66:016128).

Probabilities reach the kernels as a ``float64`` array ``prob`` and a ``kind``:

- ``P_UNIFORM`` (``prob`` has one value): every arc;
- ``P_PER_NODE`` (``prob[u]`` for each node): every arc leaving ``u``;
- ``P_PER_ARC`` (``prob[a]`` for each arc, CSR order).

Random numbers come only from :mod:`sim.streams`, keyed by counters that each cascade uses at
most once, so an outcome never depends on the order arcs are tried nor on the thread count:

- per-arc probabilities: arc ``a`` succeeds iff ``uniform(key, a) < prob[a]``;
- uniform or per-node probabilities: all of ``u``'s arcs share one probability, so the
  successes among them are a Bernoulli process and the kernel jumps from one success to the
  next with geometric gaps drawn by inversion, node ``u``'s ``j``-th from
  ``uniform(key, indptr[u] + u + j)`` (each node is expanded at most once per cascade and
  makes at most ``degree + 1`` draws, so no counter repeats). A node then costs
  O(1 + p * degree) instead of O(degree), and the arcs skipped are never read.

Kernels (small, pure, ``@njit(cache=True)``; compiled on first call, never at import):

- :func:`propagate_into` / :func:`propagate`: one cascade, serial.
- :func:`propagate_parallel_into` / :func:`propagate_parallel`: one cascade, each large wave
  split over threads (``prange`` over chunks of the frontier); output identical to the serial
  kernel's, for any number of chunks or threads.
- :func:`cascade_sizes_kernel`: many replicates, ``prange`` over blocks of replicates.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import get_num_threads, njit, prange

from sim.graphs.csr import CSRGraph
from sim.streams import as_generator, uint64_seeds, uniform

__all__ = [
    "P_PER_ARC",
    "P_PER_NODE",
    "P_UNIFORM",
    "as_csr",
    "cascade_sizes",
    "cascade_sizes_kernel",
    "clear_waves",
    "fixed_seed_nodes",
    "probabilities",
    "propagate",
    "propagate_into",
    "propagate_parallel",
    "propagate_parallel_into",
]

P_UNIFORM = 0
P_PER_NODE = 1
P_PER_ARC = 2

# A wave with a smaller frontier is expanded serially: starting threads costs a few
# microseconds, about what expanding a few hundred nodes costs.
_PARALLEL_MIN_FRONTIER = 512

# cascade_sizes splits single cascades over threads only on graphs this big. Below it the
# waves are too short to pay for the parallel regions, and on a machine whose cores are busy
# with other processes every region waits for a descheduled thread (OpenMP barriers), which
# can make a frontier-parallel cascade 10-30x slower than the serial one.
_FRONTIER_PARALLEL_MIN_NODES = 50_000


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _place_seeds(seeds, wave, order):
    """Mark the seeds as wave 0 (a repeated seed counts once); return how many were placed."""
    count = 0
    for i in range(seeds.shape[0]):
        s = seeds[i]
        if wave[s] < 0:
            wave[s] = 0
            order[count] = s
            count += 1
    return count


@njit(cache=True, inline="always")
def _inv_log_q(prob, kind):
    """``1 / log(1 - p)`` for uniform ``p`` strictly inside (0, 1), hoisted out of the loops."""
    if kind == P_UNIFORM and 0.0 < prob[0] < 1.0:
        return 1.0 / math.log1p(-prob[0])
    return 0.0


@njit(cache=True, inline="always")
def _jumps(u, indptr, indices, inv_log_q, key, wave, out, pos, mark):
    """Like :func:`_expand` for one probability ``p`` on all of ``u``'s arcs, 0 < p < 1.

    Jumps from one successful arc to the next: gaps between successes of Bernoulli(p) trials
    are Geometric(p), ``floor(log(1 - U) / log(1 - p))`` failures before the next success with
    ``U`` uniform on [0, 1). ``inv_log_q`` is ``1 / log(1 - p)``.
    """
    if not math.isfinite(inv_log_q):
        # p below ~1e-308: log1p(-p) is subnormal and its inverse overflows. The chance of
        # any success is then below degree * 1e-308, so treat the node as passing nothing.
        return pos
    lo = indptr[u]
    hi = indptr[u + 1]
    # Node u's j-th draw uses counter lo + u + j. It makes at most degree + 1 draws, so its
    # counters lie in [lo + u, hi + u] and the next node's start at hi + u + 1: every counter
    # is used once per cascade, with no extra hash per node.
    counter = lo + u
    a = lo - 1
    while True:
        # np.floor keeps a float; math.floor in numba returns an int, undefined for inf.
        failures = np.floor(math.log(1.0 - uniform(key, counter)) * inv_log_q)
        counter += 1
        # Compare as floats first: a tiny p can give a gap too large for an integer (or inf).
        # Written as "not <" so that a NaN, should one ever arise, ends the node too.
        if not failures < hi - 1 - a:
            return pos
        a += 1 + int(failures)
        v = indices[a]
        if wave[v] < 0:
            if mark:
                wave[v] = wave[u] + 1
            out[pos] = v
            pos += 1


@njit(cache=True, inline="always")
def _expand(u, indptr, indices, prob, kind, inv_log_q_uniform, key, wave, out, pos, mark):
    """Try the arcs of newly reached node ``u``; write heads of successes to ``out[pos:]``.

    Only heads not reached in an earlier wave are written. With ``mark`` the head is also
    given wave ``wave[u] + 1`` at once (serial use, so a later arc to it is skipped); without,
    ``wave`` is only read (parallel use). ``inv_log_q_uniform`` is ``1 / log(1 - p)`` for
    ``P_UNIFORM``, computed once per cascade. Returns the new ``pos``.
    """
    lo = indptr[u]
    hi = indptr[u + 1]
    if kind == P_PER_ARC:
        for a in range(lo, hi):
            v = indices[a]
            # Test "already reached" first: the draw is then never needed, and skipping it
            # changes nothing because each draw is keyed on its own arc.
            if wave[v] < 0 and uniform(key, a) < prob[a]:
                if mark:
                    wave[v] = wave[u] + 1
                out[pos] = v
                pos += 1
        return pos
    p = prob[0] if kind == P_UNIFORM else prob[u]
    if p <= 0.0:
        return pos
    if p >= 1.0:
        for a in range(lo, hi):
            v = indices[a]
            if wave[v] < 0:
                if mark:
                    wave[v] = wave[u] + 1
                out[pos] = v
                pos += 1
        return pos
    inv_log_q = inv_log_q_uniform if kind == P_UNIFORM else 1.0 / math.log1p(-p)
    return _jumps(u, indptr, indices, inv_log_q, key, wave, out, pos, mark)


@njit(cache=True)
def propagate_into(indptr, indices, prob, kind, seeds, key, max_waves, wave, order):
    """Run one independent cascade serially, writing into caller-owned buffers.

    Nodes are expanded in breadth-first (FIFO) order, so ``order`` lists them wave by wave and,
    within a wave, by the first successful arc in the order the previous wave is listed.
    Cost O(n_seeds + sum over reached u of (1 + p_u * degree(u))) for uniform or per-node
    probabilities, O(n_seeds + arcs leaving reached nodes) for per-arc ones.

    Args:
        indptr: ``int64`` CSR row pointers, shape ``(n + 1,)``.
        indices: ``int32`` arc heads, shape ``(n_arcs,)``.
        prob: ``float64`` probabilities, shape ``(1,)``, ``(n,)`` or ``(n_arcs,)`` by ``kind``.
        kind: ``P_UNIFORM``, ``P_PER_NODE`` or ``P_PER_ARC``.
        seeds: integer node positions reached in wave 0 (repeats are ignored).
        key: ``uint64`` key of this cascade's random stream.
        max_waves: last wave to form (0 = seeds only); -1 for no limit.
        wave: ``int32`` array of shape ``(n,)``, all -1 on entry; on return the wave in which
            each node was reached, or -1.
        order: ``int32`` array of shape ``(n,)``; on return ``order[:count]`` are the reached
            nodes in the order reached.

    Returns:
        ``count``, the number of reached nodes (seeds included).
    """
    count = _place_seeds(seeds, wave, order)
    inv = _inv_log_q(prob, kind)
    # The common case (one p strictly inside (0, 1)) gets its own loop: without the branches
    # of the general case it runs ~15% faster.
    fast = kind == P_UNIFORM and 0.0 < prob[0] < 1.0
    head = 0
    while head < count:
        u = order[head]
        head += 1
        # FIFO order means waves never decrease along ``order``: once one node sits in the
        # last allowed wave, all the rest do too.
        if wave[u] == max_waves:
            break
        if fast:
            count = _jumps(u, indptr, indices, inv, key, wave, order, count, True)
        else:
            count = _expand(u, indptr, indices, prob, kind, inv, key, wave, order, count, True)
    return count


@njit(cache=True)
def clear_waves(wave, order, count):
    """Reset ``wave`` to -1 on the ``count`` nodes listed in ``order``: O(reached), not O(n)."""
    for i in range(count):
        wave[order[i]] = -1


@njit(cache=True)
def propagate(indptr, indices, prob, kind, seeds, key, max_waves):
    """One independent cascade: the wave in which each node was reached.

    Args:
        indptr: ``int64`` CSR row pointers.
        indices: ``int32`` arc heads.
        prob: ``float64`` probabilities (see :func:`propagate_into`).
        kind: ``P_UNIFORM``, ``P_PER_NODE`` or ``P_PER_ARC``.
        seeds: integer node positions reached in wave 0.
        key: ``uint64`` random key of the cascade.
        max_waves: last wave to form; -1 for no limit.

    Returns:
        ``(wave, order)``: ``wave`` is an ``int32`` array of shape ``(n,)`` with the wave of
        reach or -1 (so ``wave >= 0`` are the reached flags); ``order`` lists the reached nodes
        in the order reached.
    """
    n = indptr.shape[0] - 1
    wave = np.full(n, -1, dtype=np.int32)
    order = np.empty(n, dtype=np.int32)
    count = propagate_into(indptr, indices, prob, kind, seeds, key, max_waves, wave, order)
    return wave, order[:count]


@njit(cache=True, parallel=True)
def propagate_parallel_into(
    indptr, indices, prob, kind, seeds, key, max_waves, wave, order, candidates, found, n_chunks
):
    """One independent cascade with each large wave split over threads.

    A wave is expanded in two phases. First, ``prange`` over ``n_chunks`` contiguous chunks of
    the frontier (equal node counts): each frontier node writes the heads of its successful
    arcs that were not reached in an earlier wave to its own slice of ``candidates``. Nothing
    shared is written, so no race. Second, serially, the candidates are read in frontier
    order, and a node is appended the first time it is seen. That is the node
    sequence the serial kernel appends, so the output equals :func:`propagate_into`'s for any
    ``n_chunks`` and any thread count. Small waves are expanded serially.

    Args:
        indptr: ``int64`` CSR row pointers.
        indices: ``int32`` arc heads.
        prob: ``float64`` probabilities (see :func:`propagate_into`).
        kind: ``P_UNIFORM``, ``P_PER_NODE`` or ``P_PER_ARC``.
        seeds: integer node positions reached in wave 0.
        key: ``uint64`` random key of the cascade.
        max_waves: last wave to form; -1 for no limit.
        wave: ``int32`` array of shape ``(n,)``, all -1 on entry (see :func:`propagate_into`).
        order: ``int32`` array of shape ``(n,)``.
        candidates: ``int32`` scratch array of shape ``(n_arcs,)``.
        found: ``int64`` scratch array of shape ``(n,)``.
        n_chunks: number of frontier chunks per parallel wave (>= 1), such as 4 per thread.

    Returns:
        The number of reached nodes.
    """
    count = _place_seeds(seeds, wave, order)
    inv = _inv_log_q(prob, kind)
    fast = kind == P_UNIFORM and 0.0 < prob[0] < 1.0
    lo = 0
    w = 0
    while lo < count and w != max_waves:
        hi = count
        size = hi - lo
        if size < _PARALLEL_MIN_FRONTIER or n_chunks == 1:
            for i in range(lo, hi):
                u = order[i]
                if fast:
                    count = _jumps(u, indptr, indices, inv, key, wave, order, count, True)
                else:
                    count = _expand(
                        u, indptr, indices, prob, kind, inv, key, wave, order, count, True
                    )
        else:
            # Node u writes its candidates into candidates[indptr[u]:indptr[u + 1]], its own
            # arc range: it has at most degree(u) successes and is expanded once, so slices
            # never overlap and no offsets need computing. One parallel region per wave.
            for c in prange(n_chunks):
                for i in range(lo + c * size // n_chunks, lo + (c + 1) * size // n_chunks):
                    u = order[i]
                    first = indptr[u]
                    if fast:
                        end = _jumps(u, indptr, indices, inv, key, wave, candidates, first, False)
                    else:
                        end = _expand(
                            u, indptr, indices, prob, kind, inv, key, wave, candidates, first, False
                        )
                    found[i - lo] = end - first
            for i in range(lo, hi):
                first = indptr[order[i]]
                for j in range(first, first + found[i - lo]):
                    v = candidates[j]
                    if wave[v] < 0:
                        wave[v] = w + 1
                        order[count] = v
                        count += 1
        lo = hi
        w += 1
    return count


@njit(cache=True)
def propagate_parallel(indptr, indices, prob, kind, seeds, key, max_waves, n_chunks):
    """Like :func:`propagate`, with large waves split over ``n_chunks`` parallel chunks."""
    n = indptr.shape[0] - 1
    wave = np.full(n, -1, dtype=np.int32)
    order = np.empty(n, dtype=np.int32)
    candidates = np.empty(indices.shape[0], dtype=np.int32)
    found = np.empty(n, dtype=np.int64)
    count = propagate_parallel_into(
        indptr, indices, prob, kind, seeds, key, max_waves, wave, order, candidates, found, n_chunks
    )
    return wave, order[:count]


@njit(cache=True, parallel=True)
def cascade_sizes_kernel(indptr, indices, prob, kind, seeds, keys, max_waves, n_blocks):
    """Final sizes of many independent cascades, ``prange`` over blocks of replicates.

    Each block owns one pair of buffers and runs its replicates serially, clearing only the
    reached entries between them. Replicate ``r`` uses key ``keys[r]`` and seed row
    ``seeds[r]`` (or ``seeds[0]`` if ``seeds`` has one row), so its size does not depend on the
    blocking or the thread count.

    Args:
        indptr: ``int64`` CSR row pointers.
        indices: ``int32`` arc heads.
        prob: ``float64`` probabilities (see :func:`propagate_into`).
        kind: ``P_UNIFORM``, ``P_PER_NODE`` or ``P_PER_ARC``.
        seeds: ``int32`` array of shape ``(replicates, k)`` or ``(1, k)``.
        keys: ``uint64`` array of shape ``(replicates,)``.
        max_waves: last wave to form; -1 for no limit.
        n_blocks: number of replicate blocks (>= 1).

    Returns:
        ``int64`` array of shape ``(replicates,)``: reached nodes per replicate, seeds included.
    """
    n = indptr.shape[0] - 1
    replicates = keys.shape[0]
    sizes = np.zeros(replicates, dtype=np.int64)
    shared_seeds = seeds.shape[0] == 1
    for b in prange(n_blocks):
        wave = np.full(n, -1, dtype=np.int32)
        order = np.empty(n, dtype=np.int32)
        for r in range(b * replicates // n_blocks, (b + 1) * replicates // n_blocks):
            row = 0 if shared_seeds else r
            count = propagate_into(
                indptr, indices, prob, kind, seeds[row], keys[r], max_waves, wave, order
            )
            sizes[r] = count
            clear_waves(wave, order, count)
    return sizes


# --------------------------------------------------------------------------------------------
# Argument handling and the public entry point
# --------------------------------------------------------------------------------------------


def as_csr(graph) -> CSRGraph:
    """``graph`` as a :class:`CSRGraph` (a networkx graph's nodes take positions in its order).

    Raises:
        ValueError: ``graph`` is neither a CSRGraph nor a networkx graph.
    """
    if isinstance(graph, CSRGraph):
        return graph
    # networkx is imported only when a networkx graph may be in hand, to keep imports light.
    if type(graph).__module__.split(".")[0] == "networkx":
        import networkx as nx

        if isinstance(graph, nx.Graph):
            return CSRGraph.from_networkx(graph)
    raise ValueError(
        f"graph: must be a sim.graphs.csr.CSRGraph or a networkx graph, got {type(graph).__name__}"
    )


def _check_probabilities(values: np.ndarray, what: str) -> None:
    if values.size and not (np.all(values >= 0.0) and np.all(values <= 1.0)):
        # NaN fails both comparisons, so it lands here too.
        bad = values[~((values >= 0.0) & (values <= 1.0))][0]
        raise ValueError(f"p: {what} must lie in [0, 1], got {bad!r}")


def probabilities(csr: CSRGraph, p) -> tuple[np.ndarray, int]:
    """Normalise ``p`` to the ``(prob, kind)`` pair the kernels take.

    Args:
        csr: the graph.
        p: one of

            - a float in [0, 1]: every arc passes the cascade with probability ``p``;
            - None: per-arc probabilities from ``csr.weights``;
            - an array of shape ``(n_nodes,)``: per node, ``p[u]`` is the probability that
              ``u``, once reached, passes the cascade along each of its arcs ``u -> v`` (a
              node's propensity to tell others; the arcs into ``u`` do not use it);
            - an array of shape ``(n_arcs,)``: per arc, in CSR order (the order of
              ``csr.indices``). If ``n_arcs == n_nodes`` such an array is ambiguous and is
              refused; pass per-arc values as ``csr.with_weights(values)`` with ``p=None``.

    Returns:
        A contiguous ``float64`` array and ``P_UNIFORM``, ``P_PER_NODE`` or ``P_PER_ARC``.

    Raises:
        ValueError: a value outside [0, 1] or NaN, a wrong shape, or ``p=None`` without weights.
    """
    if p is None:
        if csr.weights is None:
            raise ValueError("p: None means per-arc weights, but the graph has no weights")
        values = np.ascontiguousarray(csr.weights, dtype=np.float64)
        _check_probabilities(values, "graph weights used as arc probabilities")
        return values, P_PER_ARC
    if isinstance(p, (bool, np.bool_)):
        raise ValueError(f"p: must be a probability in [0, 1], got {p!r}")
    if isinstance(p, numbers.Real):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: must be a probability in [0, 1], got {p!r}")
        return np.array([p], dtype=np.float64), P_UNIFORM
    try:
        values = np.ascontiguousarray(p, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"p: must be a float or an array of floats, got {p!r}") from err
    if values.ndim != 1:
        raise ValueError(f"p: an array of probabilities must be 1-D, got shape {values.shape}")
    n, m = csr.n_nodes, csr.n_arcs
    if values.shape[0] == m and m == n:
        raise ValueError(
            "p: ambiguous, the graph has as many arcs as nodes; pass per-arc probabilities as "
            "graph.with_weights(values) with p=None"
        )
    if values.shape[0] == m:
        _check_probabilities(values, "per-arc probabilities")
        return values, P_PER_ARC
    if values.shape[0] == n:
        _check_probabilities(values, "per-node probabilities")
        return values, P_PER_NODE
    raise ValueError(
        f"p: an array must have one value per node ({n}) or per arc ({m}), got {values.shape[0]}"
    )


def _check_int(value, name: str, lowest: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: must be an int >= {lowest}, got {value!r}")
    if value < lowest:
        raise ValueError(f"{name}: must be an int >= {lowest}, got {value}")
    return int(value)


def fixed_seed_nodes(seeds, n_nodes: int) -> np.ndarray:
    """Validate an array of seed node positions; return it as ``int32``.

    Raises:
        ValueError: not 1-D integers, a position outside ``[0, n_nodes)``, or a repeat.
    """
    values = np.asarray(seeds)
    if values.ndim != 1 or not (values.size == 0 or np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"seeds: must be an int or a 1-D array of node positions, got {seeds!r}")
    if values.size and (values.min() < 0 or values.max() >= n_nodes):
        raise ValueError(f"seeds: node positions must lie in [0, {n_nodes}), got {values.tolist()}")
    if np.unique(values).size != values.size:
        raise ValueError(f"seeds: node positions must be distinct, got {values.tolist()}")
    return values.astype(np.int32)


def cascade_sizes(graph, p, seeds, replicates=1, seed=None, *, max_waves=None) -> np.ndarray:
    """Final sizes of independent cascades (Kempe, Kleinberg & Tardos 2003).

    Each replicate starts from its seeds (wave 0); a node reached in wave ``w`` tries each of
    its arcs to a not yet reached neighbour once, in wave ``w + 1``. With uniform ``p`` on an
    undirected graph the reached set is the seeds' cluster in bond percolation with
    transmissibility ``p`` (Newman 2002). Cost per replicate O(k + sum over reached nodes of
    1 + p * degree) for uniform or per-node ``p`` (successes are found by geometric jumps),
    O(k + arcs leaving reached nodes) for per-arc ``p``. Replicates run in parallel (or, with
    fewer replicates than threads on a graph of 50,000 nodes or more, each cascade's waves
    do), and the result is the same for any thread count.

    Args:
        graph: a :class:`sim.graphs.csr.CSRGraph` or a networkx graph (nodes are positions in its
            node order).
        p: a float in [0, 1] (every arc); None (per-arc probabilities from the CSRGraph's
            ``weights``); an array of shape ``(n_nodes,)`` (``p[u]`` applies to every arc
            leaving ``u``); or an array of shape ``(n_arcs,)`` (per arc, CSR order). See
            :func:`probabilities`.
        seeds: an int ``k``: ``k`` distinct nodes drawn uniformly at random, afresh for every
            replicate; or an array of distinct node positions used by every replicate.
        replicates: number of independent cascades (>= 1).
        seed: None, an int or a numpy Generator (see :func:`sim.streams.as_generator`). The
            replicates' random keys are drawn first, then (for an int ``seeds``) the seed sets.
        max_waves: last wave to form (0 = the seeds only, 1 = seeds and the neighbours they
            reach, ...); None for no limit.

    Returns:
        ``int64`` array of shape ``(replicates,)``: reached nodes per replicate, seeds
        included.

    Raises:
        ValueError: a bad argument; the message starts with the argument's name.

    Examples:
        On a path of 10 nodes a cascade that always passes reaches everyone; one that never
        passes stays with its seeds:

        >>> import networkx as nx
        >>> from sim import cascade_sizes
        >>> path = nx.path_graph(10)
        >>> cascade_sizes(path, 1.0, [0], replicates=3, seed=1)
        array([10, 10, 10])
        >>> cascade_sizes(path, 0.0, [0, 5], replicates=2, seed=1)
        array([2, 2])

        Five random seeds on a random graph, four replicates:

        >>> graph = nx.gnm_random_graph(1000, 3000, seed=2)
        >>> sizes = cascade_sizes(graph, 0.1, 5, replicates=4, seed=3)
        >>> sizes.shape, bool((sizes >= 5).all())
        ((4,), True)
    """
    csr = as_csr(graph)
    prob, kind = probabilities(csr, p)
    n = csr.n_nodes
    replicates = _check_int(replicates, "replicates", 1)
    waves = -1 if max_waves is None else _check_int(max_waves, "max_waves", 0)
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, (bool, np.bool_)):
        k = int(seeds)
        if not 0 <= k <= n:
            raise ValueError(f"seeds: the number of random seeds must lie in [0, {n}], got {k}")
        fixed = None
    else:
        fixed = fixed_seed_nodes(seeds, n)
    rng = as_generator(seed)
    keys = uint64_seeds(rng, replicates)
    if fixed is None:
        seed_rows = np.empty((replicates, k), dtype=np.int32)
        for r in range(replicates):
            seed_rows[r] = rng.choice(n, size=k, replace=False)
    else:
        seed_rows = fixed.reshape(1, -1)
    n_blocks = min(replicates, 4 * get_num_threads())
    if n_blocks < get_num_threads() and n >= _FRONTIER_PARALLEL_MIN_NODES:
        # Fewer cascades than threads on a big graph: parallelise within each cascade instead.
        # Same output either way.
        return _sizes_frontier_parallel(csr, prob, kind, seed_rows, keys, waves)
    return cascade_sizes_kernel(
        csr.indptr, csr.indices, prob, kind, seed_rows, keys, waves, n_blocks
    )


def _sizes_frontier_parallel(csr, prob, kind, seed_rows, keys, max_waves) -> np.ndarray:
    n = csr.n_nodes
    wave = np.full(n, -1, dtype=np.int32)
    order = np.empty(n, dtype=np.int32)
    candidates = np.empty(csr.n_arcs, dtype=np.int32)
    found = np.empty(n, dtype=np.int64)
    n_chunks = 4 * get_num_threads()
    sizes = np.zeros(keys.shape[0], dtype=np.int64)
    for r in range(keys.shape[0]):
        row = seed_rows[0 if seed_rows.shape[0] == 1 else r]
        count = propagate_parallel_into(
            csr.indptr,
            csr.indices,
            prob,
            kind,
            row,
            keys[r],
            max_waves,
            wave,
            order,
            candidates,
            found,
            n_chunks,
        )
        sizes[r] = count
        clear_waves(wave, order, count)
    return sizes

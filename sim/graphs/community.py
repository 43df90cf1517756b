"""Numba kernels of :func:`sim.graphs.generators.community_graph`, straight into CSR.

The builder is block-wise stub matching (a Chung-Lu style expected-degree model, Chung & Lu
2002, realised as an erased configuration model with repair, Newman 2002). Every random number
is a counter-based draw (:func:`sim.streams.uniform`) keyed by a process key and the index of
the person, the stub or the pool it decides, so the graph is the same for any number of numba
threads: threads only split the work, never the random numbers, and every sum whose rounding
could depend on the split is taken serially.

Layout. Stubs are numbered person by person (person ``i`` owns stubs
``stub_ptr[i] .. stub_ptr[i + 1] - 1``), and localities and communities are contiguous blocks
of persons, so the stubs of one community form one contiguous range. The person a stub is
paired to is kept in ``head`` (-1 while unpaired), which makes the stub ranges the rows of the
final CSR: a person's ties are the heads of their paired stubs.

Memory while building: 8 bytes per stub (owner and head, ``int32``) and 20 for the pairing's
work (the list of stubs to pair and the next round's, ``int64`` past 2**31 stubs, and each
stub's sub-pool, group and place in the grouped order), then the CSR itself (``int32`` heads,
``int64`` row pointers): at 10 million people and 50 million ties the whole process peaks
below 4 GB.
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np
from numba import njit, prange

from sim.streams import splitmix64, subkey, uniform

__all__ = ["KEY_NAMES", "build_community_csr"]

#: The process keys the builder takes, in order (one 64-bit key each).
KEY_NAMES = ("subgroups", "degree", "rounding", "level", "homophily", "relax", "pairing")
_K_GROUPS, _K_DEGREE, _K_ROUND, _K_LEVEL, _K_HOMO, _K_RELAX, _K_PAIR = range(len(KEY_NAMES))

# Tie levels of a stub.
_WITHIN_COMMUNITY, _CROSS_COMMUNITY, _CROSS_LOCALITY = 0, 1, 2
#: Least work (persons or stubs) worth a parallel kernel: below it one thread is faster, as
#: starting and joining the threads costs more than the work (tens of ms on a busy machine).
PARALLEL_MIN = 200000
#: Groups a thread takes at a time when pairing (dynamic scheduling; any value gives the same
#: graph).
_GROUP_CHUNK = 64
#: Pool-relaxing phases and the pairing rounds in each (as in the documented algorithm).
PHASES, ROUNDS_PER_PHASE = 4, 2


# --------------------------------------------------------------------------- persons


@njit(cache=True, parallel=True, nogil=True)
def _draw_categories(key, cum_shares, n):
    """One category per person by inversion of a uniform keyed by the person."""
    out = np.empty(n, np.int32)
    last = cum_shares.shape[0] - 1
    for i in prange(n):
        u = uniform(key, i)
        j = np.searchsorted(cum_shares, u, side="right")
        out[i] = min(j, last)
    return out


@njit(cache=True, parallel=True, nogil=True)
def _stub_counts(key_degree, key_round, n, mu, sigma, factor, mean_degree):
    """Log-normal target degrees, rescaled to the target mean, rounded stochastically.

    The normal deviates come from the Box-Muller transform of two keyed uniforms per person.
    """
    target = np.empty(n, np.float64)
    for i in prange(n):
        u1 = 1.0 - uniform(key_degree, 2 * i)  # in (0, 1]: the logarithm stays finite
        u2 = uniform(key_degree, 2 * i + 1)
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        target[i] = math.exp(mu + sigma * z) * factor[i]
    total = 0.0
    for i in range(n):  # serial: the rounding of the sum must not depend on the threads
        total += target[i]
    scale = n * mean_degree / total
    stubs = np.empty(n, np.int64)
    for i in prange(n):
        t = min(target[i] * scale, n - 1.0)
        k = math.floor(t)
        stubs[i] = int(k) + (1 if uniform(key_round, i) < t - k else 0)
    return stubs


@njit(cache=True, parallel=True, nogil=True)
def _stub_owners(stub_ptr, n):
    out = np.empty(stub_ptr[n], np.int32)
    for i in prange(n):
        for s in range(stub_ptr[i], stub_ptr[i + 1]):
            out[s] = i
    return out


# --------------------------------------------------------------------------- stubs


@njit(cache=True, parallel=True, nogil=True)
def _start_work(head, first_list):
    """Mark every stub unpaired and still to pair.

    Filled by all threads, which then also share the first touch of these fresh pages: the
    kernel's zeroing of a build's new pages is about a tenth of its time.
    """
    for s in prange(head.shape[0]):
        head[s] = -1
        first_list[s] = s


@njit(cache=True, inline="always")
def _level(stub, node, phase, keys, p_within, p_to_comm, one_locality, single_comm, locality):
    """The tie level of a stub: drawn once, then the documented fall-backs and the phase-3 lift."""
    u = uniform(keys[_K_LEVEL], stub)
    lv = (
        _WITHIN_COMMUNITY
        if u < p_within
        else (_CROSS_COMMUNITY if u < p_to_comm else _CROSS_LOCALITY)
    )
    lonely = single_comm[locality[node]]
    if lv == _CROSS_LOCALITY and one_locality:
        lv = _CROSS_COMMUNITY
    if lv == _CROSS_COMMUNITY and lonely:
        lv = _WITHIN_COMMUNITY
    if phase >= 3 and lv == _WITHIN_COMMUNITY and not lonely:
        lv = _CROSS_COMMUNITY
    return lv


@njit(cache=True, inline="always")
def _sub_pool(stub, node, phase, keys, homophily, cell, groups, group_offset, n_cells, no_group):
    """The sub-pool of a stub: its full subgroup cell, one attribute's value, or none."""
    if phase >= 2 or not uniform(keys[_K_HOMO], stub) < homophily:
        return no_group
    n_groups = groups.shape[0]
    if phase == 0 or n_groups == 0:
        return cell[node]
    j = min(int(uniform(keys[_K_RELAX], stub) * n_groups), n_groups - 1)
    return n_cells + group_offset[j] + groups[j, node]


@njit(cache=True, parallel=True, nogil=True)
def _classify(
    active,
    phase,
    keys,
    stub_node,
    p_within,
    p_to_comm,
    one_locality,
    single_comm,
    locality,
    community,
    n_comm,
    n_loc,
    homophily,
    cell,
    groups,
    group_offset,
    n_cells,
    no_group,
    sb,
    grp,
):
    """The sub-pool and group of every stub still to pair, in this phase.

    The group is the block the stub pairs in: its community for level 0 (groups ``0 ..
    n_comm - 1``), its locality for level 1 (``n_comm + locality``) and the whole graph for
    level 2 (``n_comm + n_loc``). Written into ``sb`` and ``grp`` (one entry per stub of
    ``active``).
    """
    m = active.shape[0]
    for i in prange(m):
        a = active[i]
        node = stub_node[a]
        level = _level(
            a, node, phase, keys, p_within, p_to_comm, one_locality, single_comm, locality
        )
        sb[i] = _sub_pool(
            a, node, phase, keys, homophily, cell, groups, group_offset, n_cells, no_group
        )
        if level == _WITHIN_COMMUNITY:
            grp[i] = community[node]
        elif level == _CROSS_COMMUNITY:
            grp[i] = n_comm + locality[node]
        else:
            grp[i] = n_comm + n_loc


#: Chunks the counting passes split their list into (any number gives the same result: the
#: chunks' counts are summed in chunk order, so the grouping stays stable).
_CHUNKS = 16


@njit(cache=True, parallel=True, nogil=True)
def _group(active, grp, n_groups, order):
    """Positions in the list grouped by :func:`_classify`'s group, stably, and group starts.

    Group ``g`` is ``[starts[g], starts[g + 1])`` of the positions written to ``order``:
    level 0's groups (communities) first, then level 1's (localities), then level 2's
    (everyone). A counting sort in chunks: each chunk counts its groups, the counts are
    summed group by group in chunk order, and each chunk writes from its own offsets, so the
    result is the serial stable sort's for any number of threads. Returns ``starts``.
    """
    m = active.shape[0]
    step = (m + _CHUNKS - 1) // _CHUNKS
    counts = np.zeros((_CHUNKS, n_groups), np.int64)
    for ch in prange(_CHUNKS):
        for i in range(ch * step, min(m, (ch + 1) * step)):
            counts[ch, grp[i]] += 1
    starts = np.zeros(n_groups + 1, np.int64)
    run = 0
    for g in range(n_groups):
        starts[g] = run
        for ch in range(_CHUNKS):
            c = counts[ch, g]
            counts[ch, g] = run  # now the chunk's first place in the group
            run += c
    starts[n_groups] = run
    for ch in prange(_CHUNKS):
        fill = counts[ch]
        for i in range(ch * step, min(m, (ch + 1) * step)):
            order[fill[grp[i]]] = i
            fill[grp[i]] += 1
    return starts


@njit(cache=True, parallel=True, nogil=True)
def _pair_groups(
    active,
    pos,
    starts,
    sb,
    n_sub,
    n_comm,
    n_loc,
    round_key,
    this_round,
    stub_node,
    stub_ptr,
    head,
    community,
    locality,
):
    """Pair the stubs of each group of :func:`_group`, keeping the pairs that make new ties.

    Within a group the stubs are bucketed by sub-pool (a counting sort, in stub order), each
    bucket is shuffled (Fisher-Yates with draws keyed by the round, the group, the pool and the
    position) and consecutive stubs are paired; an odd bucket leaves its last stub unpaired.
    A pair goes back to the pool (its stubs stay unpaired) if it is a self-loop, stays inside
    the block its level should leave, repeats a tie kept in an earlier round, or repeats
    another pair of this round made from a smaller stub. Ties within a community come only
    from level 0, between communities of a locality only from level 1 and between localities
    only from level 2, so every repeat within a round lies in one group, and a group's work
    touches only its own stubs: the result needs no order of work.

    Returns:
        The number of ties kept.
    """
    n = stub_ptr.shape[0] - 1
    n_groups = starts.shape[0] - 1
    kept = np.zeros(n_groups, np.int64)
    for g in prange(n_groups):
        lo, hi = starts[g], starts[g + 1]
        if hi - lo < 2:
            continue
        level = (
            _WITHIN_COMMUNITY
            if g < n_comm
            else (_CROSS_COMMUNITY if g < n_comm + n_loc else _CROSS_LOCALITY)
        )
        counts = np.zeros(n_sub + 1, np.int64)
        for k in range(lo, hi):
            counts[sb[pos[k]] + 1] += 1
        for b in range(n_sub):
            counts[b + 1] += counts[b]
        # Each stub with its holder, so pairing reads no other memory.
        bucket = np.empty_like(active[: hi - lo])
        holder = np.empty(hi - lo, np.int32)
        fill = counts[:n_sub].copy()
        for k in range(lo, hi):
            q = sb[pos[k]]
            bucket[fill[q]] = active[pos[k]]
            holder[fill[q]] = stub_node[active[pos[k]]]
            fill[q] += 1
        group_key = subkey(round_key, g)
        first = np.empty_like(active[: (hi - lo) // 2])
        second = np.empty_like(first)
        first_node = np.empty(first.shape[0], np.int32)
        second_node = np.empty(first.shape[0], np.int32)
        n_pairs = 0
        for b in range(n_sub):
            start, m = counts[b], counts[b + 1] - counts[b]
            if m < 2:
                continue
            pool_key = subkey(group_key, b)
            for j in range(m - 1, 0, -1):
                r = min(int(uniform(pool_key, j) * (j + 1)), j)
                tmp = bucket[start + j]
                bucket[start + j] = bucket[start + r]
                bucket[start + r] = tmp
                tmp_node = holder[start + j]
                holder[start + j] = holder[start + r]
                holder[start + r] = tmp_node
            for j in range(0, m - 1, 2):
                x, y = bucket[start + j], bucket[start + j + 1]
                hx, hy = holder[start + j], holder[start + j + 1]
                if y < x:
                    x, y, hx, hy = y, x, hy, hx
                first[n_pairs], second[n_pairs] = x, y
                first_node[n_pairs], second_node[n_pairs] = hx, hy
                n_pairs += 1
        if n_pairs == 0:
            continue
        # Ties kept in earlier rounds: each pair reads the shorter of its two rows, or, when
        # that is more reading (hubs holding many of the group's stubs), each person's row is
        # read once into a hash set.
        known = np.empty(0, np.int64)
        if this_round > 1:
            per_pair = 0
            for j in range(n_pairs):
                u, v = first_node[j], second_node[j]
                per_pair += min(stub_ptr[u + 1] - stub_ptr[u], stub_ptr[v + 1] - stub_ptr[v])
            per_person = _rows_length(active, pos, lo, hi, stub_node, stub_ptr)
            if 4 * per_person < per_pair:
                known = _known_ties(
                    active, pos, lo, hi, level, stub_node, stub_ptr, head, community, locality, n
                )
        # Ties the pairs would make (-1: the pair goes back).
        tie = np.full(n_pairs, -1, np.int64)
        for j in range(n_pairs):
            u, v = first_node[j], second_node[j]
            if _fails(level, u, v, community, locality):
                continue
            t = min(u, v) * np.int64(n) + max(u, v)
            if this_round > 1:
                if known.shape[0] == 0:
                    if _tied(u, v, stub_ptr, head):
                        continue
                elif _find(known, t) >= 0:
                    continue
            tie[j] = t
        # Of pairs making the same tie, the one with the smallest stub wins: an open-addressing
        # table from tie to the best pair so far, then each pair asks whether it won.
        size = 4
        while size < 2 * n_pairs:
            size *= 2
        table = np.full(size, -1, np.int64)
        mask = np.uint64(size - 1)
        for j in range(n_pairs):
            t = tie[j]
            if t < 0:
                continue
            h = np.int64(splitmix64(np.uint64(t)) & mask)
            while table[h] >= 0 and tie[table[h]] != t:
                h = (h + 1) & (size - 1)
            if table[h] < 0 or first[j] < first[table[h]]:
                table[h] = j
        for j in range(n_pairs):
            t = tie[j]
            if t < 0:
                continue
            h = np.int64(splitmix64(np.uint64(t)) & mask)
            while tie[table[h]] != t:
                h = (h + 1) & (size - 1)
            if table[h] != j:
                continue
            x, y = first[j], second[j]
            head[x] = second_node[j]
            head[y] = first_node[j]
            kept[g] += 1
    return kept.sum()


@njit(cache=True, nogil=True)
def _known_ties(active, pos, lo, hi, level, stub_node, stub_ptr, head, community, locality, n):
    """A hash set of the ties kept in earlier rounds by the holders of some stubs.

    The stubs are ``active[pos[lo:hi]]``, in stub order, so each person's stubs are
    consecutive and each row is read once. Only ties of the group's ``level`` are kept (a new
    tie between communities cannot repeat a tie within one). Look keys up with :func:`_find`.
    """
    total = _rows_length(active, pos, lo, hi, stub_node, stub_ptr)
    size = 4
    while size < 2 * total:
        size *= 2
    table = np.full(size, -1, np.int64)
    prev = -1
    for k in range(lo, hi):
        u = stub_node[active[pos[k]]]
        if u == prev:
            continue
        prev = u
        for s in range(stub_ptr[u], stub_ptr[u + 1]):
            v = head[s]
            if v >= 0 and _level_of_tie(u, v, community, locality) == level:
                t = min(u, v) * np.int64(n) + max(u, v)
                h = _slot(table, t)
                table[h] = t
    return table


@njit(cache=True, inline="always")
def _rows_length(active, pos, lo, hi, stub_node, stub_ptr):
    """How many stubs the holders of ``active[pos[lo:hi]]`` own, each holder counted once.

    The stubs are in stub order, so each holder's stubs are consecutive.
    """
    total = 0
    prev = -1
    for k in range(lo, hi):
        u = stub_node[active[pos[k]]]
        if u != prev:
            total += stub_ptr[u + 1] - stub_ptr[u]
            prev = u
    return total


@njit(cache=True, inline="always")
def _slot(table, key):
    """The slot of ``key`` in an open-addressing table, or the empty slot where it would go.

    The table holds non-negative keys (-1 marks an empty slot), placed by linear probing from
    their SplitMix64 hash.
    """
    size = table.shape[0]
    h = np.int64(splitmix64(np.uint64(key)) & np.uint64(size - 1))
    while table[h] >= 0 and table[h] != key:
        h = (h + 1) & (size - 1)
    return h


@njit(cache=True, inline="always")
def _find(table, key):
    """The slot holding ``key`` in a table from :func:`_known_ties`, or -1."""
    h = _slot(table, key)
    return h if table[h] == key else -1


@njit(cache=True, inline="always")
def _level_of_tie(u, v, community, locality):
    """The tie level of a tie between persons ``u`` and ``v``."""
    if locality[u] != locality[v]:
        return _CROSS_LOCALITY
    if community[u] != community[v]:
        return _CROSS_COMMUNITY
    return _WITHIN_COMMUNITY


@njit(cache=True, inline="always")
def _tied(u, v, stub_ptr, head):
    """Whether persons ``u`` and ``v`` have a tie kept in an earlier round (the shorter row)."""
    row, other = u, v
    if stub_ptr[v + 1] - stub_ptr[v] < stub_ptr[u + 1] - stub_ptr[u]:
        row, other = v, u
    for s in range(stub_ptr[row], stub_ptr[row + 1]):
        if head[s] == other:
            return True
    return False


@njit(cache=True, inline="always")
def _fails(level, u, v, community, locality):
    """Whether a pair of persons ``u, v`` at a tie level is a self-loop or fails to cross."""
    if u == v:
        return True
    if level == _CROSS_COMMUNITY:
        return community[u] == community[v]
    if level == _CROSS_LOCALITY:
        return locality[u] == locality[v]
    return False


@njit(cache=True, parallel=True, nogil=True)
def _unpaired(active, head, out):
    """Write the stubs of ``active`` still unpaired to ``out``, in stub order; their count.

    In chunks, each writing from the count of the chunks before it (the same for any number
    of threads).
    """
    m = active.shape[0]
    step = (m + _CHUNKS - 1) // _CHUNKS
    counts = np.zeros(_CHUNKS + 1, np.int64)
    for ch in prange(_CHUNKS):
        k = 0
        for i in range(ch * step, min(m, (ch + 1) * step)):
            if head[active[i]] < 0:
                k += 1
        counts[ch + 1] = k
    for ch in range(_CHUNKS):
        counts[ch + 1] += counts[ch]
    for ch in prange(_CHUNKS):
        j = counts[ch]
        for i in range(ch * step, min(m, (ch + 1) * step)):
            if head[active[i]] < 0:
                out[j] = active[i]
                j += 1
    return counts[_CHUNKS]


@njit(cache=True, nogil=True)
def _compact_rows(stub_ptr, head, n):
    """Move each person's partners to the front of ``head``, row after row, in place.

    Returns the row pointers of the CSR whose heads are ``head[:indptr[n]]``. A row only moves
    left, so one pass in person order never overwrites a slot it still has to read.
    """
    indptr = np.zeros(n + 1, np.int64)
    j = 0
    for i in range(n):
        for s in range(stub_ptr[i], stub_ptr[i + 1]):
            x = head[s]
            if x >= 0:
                head[j] = x
                j += 1
        indptr[i + 1] = j
    return indptr


@njit(cache=True, parallel=True, nogil=True)
def _sort_rows(indptr, indices, n):
    """Sort every row of a CSR in place (insertion sort: rows are short, a hub's few hundred)."""
    for i in prange(n):
        lo = indptr[i]
        for j in range(lo + 1, indptr[i + 1]):
            x = indices[j]
            k = j
            while k > lo and indices[k - 1] > x:
                indices[k] = indices[k - 1]
                k -= 1
            indices[k] = x


# --------------------------------------------------------------------------- driver


def _serial_twin(kernel):
    """The same Python function compiled without ``parallel=True``, cached under its own name.

    A parallel kernel on one thread runs its ``prange`` loops in order, as a plain loop does,
    so the twin gives the same graph; it compiles in a fraction of the time (numba's parallel
    lowering makes each ``prange`` loop a function of its own). numba's cache tells versions
    of a function apart by name, not by options, hence the new name.
    """
    f = kernel.py_func
    twin = types.FunctionType(
        f.__code__, f.__globals__, f.__name__ + "_serial", f.__defaults__, f.__closure__
    )
    twin.__qualname__ = f.__qualname__ + "_serial"
    twin.__doc__ = f.__doc__
    return njit(cache=True, nogil=True)(twin)


#: The kernels with ``prange`` loops, by name: the parallel versions and their serial twins. A
#: world too small for threads (below :data:`PARALLEL_MIN` stubs) uses the twins throughout,
#: so a first run on small worlds compiles no parallel kernel, and a large one no twin.
_PARALLEL_KERNELS = {
    f.__name__: f
    for f in (
        _draw_categories,
        _stub_counts,
        _stub_owners,
        _start_work,
        _classify,
        _group,
        _pair_groups,
        _unpaired,
        _sort_rows,
    )
}
_SERIAL_KERNELS = {name: _serial_twin(f) for name, f in _PARALLEL_KERNELS.items()}


def kernels_for(n: int, mean_degree: float, threads: int) -> types.SimpleNamespace:
    """The kernels that build a world of ``n`` persons on ``threads`` numba threads.

    The parallel ones when the stubs (about ``n * mean_degree``) reach :data:`PARALLEL_MIN`
    and there is more than one thread, else their serial twins. Either set builds the same
    graph.
    """
    parallel = threads > 1 and n * max(mean_degree, 1.0) >= PARALLEL_MIN
    chosen = _PARALLEL_KERNELS if parallel else _SERIAL_KERNELS
    return types.SimpleNamespace(**{name.lstrip("_"): f for name, f in chosen.items()})


def build_community_csr(
    keys: np.ndarray,
    n: int,
    *,
    mean_degree: float,
    degree_sigma: float,
    locality: np.ndarray,
    community: np.ndarray,
    n_comm_in_loc: np.ndarray,
    group_shares: list[np.ndarray],
    factors: dict[int, np.ndarray],
    homophily: float,
    p_cross_community: float,
    p_cross_locality: float,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Draw subgroups and degrees, pair the stubs, and return the CSR arrays.

    Args:
        keys: one ``uint64`` key per name in :data:`KEY_NAMES`.
        n: number of persons.
        mean_degree: target mean degree.
        degree_sigma: log-normal shape.
        locality: locality of each person (``int32``, non-decreasing).
        community: community of each person (``int32``, non-decreasing, nested in localities).
        n_comm_in_loc: communities in each locality.
        group_shares: the shares of each subgroup attribute's values, in attribute order.
        factors: relative degree of each value, by attribute position (optional per attribute).
        homophily: share of stubs paired within their subgroup cell.
        p_cross_community: share of stubs to another community of the locality.
        p_cross_locality: share of stubs to another locality.

    Returns:
        ``indptr`` (``int64``), ``indices`` (``int32``, ascending in each row) and the value of
        each subgroup attribute for every person (``int32``), in attribute order.
    """
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    most = numba.get_num_threads()
    k = kernels_for(n, mean_degree, most)
    try:
        n_groups = len(group_shares)
        groups = np.zeros((n_groups, n), np.int32)
        cell = np.zeros(n, np.int64)
        n_cells = 1
        factor = np.ones(n, np.float64)
        for j, p in enumerate(group_shares):
            cum = np.cumsum(p)
            cum[-1] = 1.0
            _threads(most, n)
            groups[j] = k.draw_categories(np.uint64(subkey(keys[_K_GROUPS], j)), cum, n)
            cell = cell * p.size + groups[j]
            n_cells *= p.size
            if j in factors:
                factor *= factors[j][groups[j]]
        group_offset = np.cumsum([0] + [p.size for p in group_shares]).astype(np.int64)
        no_group = n_cells + int(group_offset[-1])

        mu = math.log(mean_degree) - degree_sigma**2 / 2.0
        _threads(most, n)
        stubs = k.stub_counts(
            keys[_K_DEGREE], keys[_K_ROUND], n, mu, degree_sigma, factor, mean_degree
        )
        stub_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(stubs, out=stub_ptr[1:])
        del stubs, factor
        stub_node = k.stub_owners(stub_ptr, n)
        n_stubs = int(stub_ptr[-1])
        # Stub numbers fit in int32 up to 2**31 stubs (about 200 million persons at degree 10).
        index_type = np.int32 if n_stubs < np.iinfo(np.int32).max else np.int64
        head = np.empty(n_stubs, np.int32)
        first_list = np.empty(n_stubs, index_type)
        _threads(most, n_stubs)
        k.start_work(head, first_list)

        n_loc = int(n_comm_in_loc.size)
        n_comm = int(n_comm_in_loc.sum())
        single_comm = n_comm_in_loc <= 1
        one_locality = int(np.count_nonzero(np.bincount(locality, minlength=n_loc))) <= 1
        p_within = max(0.0, 1.0 - p_cross_community - p_cross_locality)
        p_to_comm = p_within + p_cross_community

        # Work buffers, allocated once: fresh arrays each round would cost page faults.
        lists = (first_list, np.empty(n_stubs, index_type))
        current = 0  # the list holding the stubs still to pair; the other takes the next
        active = lists[current]
        order = np.empty_like(active)
        sb = np.empty(n_stubs, np.int32)
        grp = np.empty(n_stubs, np.int32)
        this_round = 0
        for phase in range(PHASES):
            for _ in range(ROUNDS_PER_PHASE):
                m = active.size
                if m < 2:
                    break
                this_round += 1
                round_key = np.uint64(subkey(keys[_K_PAIR], this_round))
                _threads(most, m)
                k.classify(
                    active,
                    phase,
                    keys,
                    stub_node,
                    p_within,
                    p_to_comm,
                    one_locality,
                    single_comm,
                    locality,
                    community,
                    n_comm,
                    n_loc,
                    homophily,
                    cell,
                    groups,
                    group_offset,
                    n_cells,
                    no_group,
                    sb[:m],
                    grp[:m],
                )
                starts = k.group(active, grp[:m], n_comm + n_loc + 1, order[:m])
                # Groups differ in size (a locality's pool holds thousands of communities'
                # stubs): threads take small chunks of groups as they finish, not equal halves.
                with numba.parallel_chunksize(_GROUP_CHUNK):
                    kept = k.pair_groups(
                        active,
                        order[:m],
                        starts,
                        sb[:m],
                        no_group + 1,
                        n_comm,
                        n_loc,
                        round_key,
                        this_round,
                        stub_node,
                        stub_ptr,
                        head,
                        community,
                        locality,
                    )
                left = k.unpaired(active, head, lists[1 - current])
                current = 1 - current
                active = lists[current][:left]
                if kept == 0:
                    break
        del active, lists, order, sb, grp
        del stub_node
        indptr = _compact_rows(stub_ptr, head, n)
        indices = head[: indptr[n]]  # the few unpaired stubs' slots stay behind, unused
        _threads(most, n_stubs)
        k.sort_rows(indptr, indices, n)
        return indptr, indices, list(groups)
    finally:
        numba.set_num_threads(most)


def _threads(most: int, work: int) -> None:
    """Give the next kernel every thread (up to ``most``) if its work is worth it, else one."""
    numba.set_num_threads(most if work >= PARALLEL_MIN else 1)

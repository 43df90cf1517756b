"""Influence maximisation by reverse-reachable sets (IMM), for large graphs.

The objective is :mod:`sim.cascade.influence`'s: the expected number of persons the two-stage
propagation (contact for at most ``hops`` waves along per-arc probabilities ``contact``, then
referral without a wave limit along per-node probabilities ``refer``) reaches from the chosen
seeds, seeds included. CELF evaluates every candidate's forward reach once, which costs about
the sum of all candidates' reaches; on a 100,000-person graph with two contact steps that is
a minute. Sampling backwards costs about the reach of the chosen few instead.

**Reverse-reachable sets** (Borgs, Brautbar, Chayes & Lucier 2014, "Maximizing social
influence in nearly optimal time", SODA). In one live-edge draw of the propagation (every arc
live or not, independently: contact arc ``a`` with probability ``contact[a]``, each referral
arc ``w -> x`` with probability ``refer[w]``, as in :mod:`sim.cascade.core`), a seed set ``S``
reaches ``v`` iff some seed lies within ``hops`` live contact arcs of some ``w`` from which
``v`` is reachable along live referral arcs (``w = v`` included). The RR set of a target
``v`` drawn uniformly is therefore built by

1. a reverse breadth-first search from ``v`` along live referral arcs (arc ``w -> x`` entered
   from ``x``, live with probability ``refer[w]``): the set ``W`` reaching ``v`` by referral;
2. a reverse breadth-first search of at most ``hops`` waves from all of ``W`` along live
   contact arcs (arc ``a = y -> w`` live with probability ``contact[a]``): everyone within
   ``hops`` contact steps of ``W``.

``S`` hits the RR set iff ``S`` reaches ``v`` in that draw, so ``n`` times the share of RR sets
that ``S`` hits is an unbiased estimate of ``S``'s expected reach, and choosing seeds is a
maximum coverage problem over the RR sets, solved greedily (each pick the candidate in the most
RR sets not yet hit; counts kept exact and a lazy max-heap, O(total RR size + picks x log n)).

**How many RR sets.** IMM (Tang, Shi & Xiao 2015, "Influence maximization in near-linear
time: a martingale approach", SIGMOD, Algorithms 1-3): a first phase halves a guess ``x`` of
the optimum until the greedy picks on ``lambda' / x`` RR sets cover enough to show, with high
probability, that the optimum is at least ``LB``; the second phase draws
``theta = lambda* / LB`` RR sets, with ``lambda* = 2 n ((1 - 1/e) alpha + beta)^2 / eps^2``,
``alpha = sqrt(l ln n + ln 2)``, ``beta = sqrt((1 - 1/e)(ln C(n, k) + l ln n + ln 2))``
(``l`` raised by ``1 + ln 2 / ln n`` so both phases together fail with probability at most
``1 / n^l``). The second phase draws fresh RR sets rather than reusing the first phase's, the
correction of Chen (2018, "An issue in the martingale analysis of the influence maximization
algorithm IMM", CSoNet). **Guarantee:** the ``k`` greedy picks reach at least
``(1 - 1/e - eps)`` of the best ``k`` candidates' expected reach with probability at least
``1 - 1/n^l`` (Tang et al. 2015, Theorem 3), for the ``k`` the sets were sized for; more picks
continue the same greedy on the same sets (so the first ``k`` never change, whether asked for
at once or in steps) with the coverage greedy's own ``1 - 1/e`` on those sets.

With a candidate pool, the RR sets keep only pool members (and the persons already seeded),
and ``C(n, k)`` becomes ``C(pool, k)``. With persons already seeded the objective is the reach
beyond theirs: RR sets they hit are set aside as covered before the first pick.

Random numbers: RR set ``i`` of a phase has key ``subkey(phase_key, i)``; its target is drawn
from its counter 0, its referral arcs from its sub-key 2 and its contact arcs from sub-key 1,
each keyed by the arc's CSR position (each arc is tried at most once per RR set). The sets, and
so the picks, are the same on any thread count.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from numba import njit

from sim.streams import subkey, uniform

__all__ = [
    "DEFAULT_EPSILON",
    "DEFAULT_FAILURE_EXPONENT",
    "DEFAULT_PLANNED_PICKS",
    "RRSets",
    "imm_theta",
    "rr_cover_share",
]

#: IMM's ``eps``: the picks reach ``1 - 1/e - eps`` of the optimum with high probability. A
#: worst-case bound; the measured reach of the picks is far closer to CELF's (see the README).
DEFAULT_EPSILON = 0.2
#: IMM's ``l``: the guarantee fails with probability at most ``1 / n^l``.
DEFAULT_FAILURE_EXPONENT = 1.0
#: The number of picks the RR sets are sized for when the caller does not say (issue 13's 50).
DEFAULT_PLANNED_PICKS = 50

_PHASE1_TAG = 0x52520001
_PHASE2_TAG = 0x52520002


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _transpose(indptr, indices):
    """In-arcs of every node: ``tarc[tptr[x]:tptr[x + 1]]``, CSR positions of arcs into ``x``.

    ``ttail`` holds each such arc's tail, in the same order.
    """
    n = indptr.shape[0] - 1
    m = indices.shape[0]
    tptr = np.zeros(n + 1, np.int64)
    for a in range(m):
        tptr[indices[a] + 1] += 1
    for x in range(n):
        tptr[x + 1] += tptr[x]
    fill = tptr[:-1].copy()
    tarc = np.empty(m, np.int64)
    ttail = np.empty(m, np.int32)
    for u in range(n):
        for a in range(indptr[u], indptr[u + 1]):
            x = indices[a]
            tarc[fill[x]] = a
            ttail[fill[x]] = u
            fill[x] += 1
    return tptr, tarc, ttail


@njit(cache=True)
def _rr_set(tptr, tarc, ttail, contact, hops, refer, target, key, mark, queue):
    """The persons of one RR set, ``queue[:count]``; ``mark`` is left all -1. Returns count."""
    kc = subkey(key, 1)
    kr = subkey(key, 2)
    mark[target] = 0
    queue[0] = target
    count = 1
    head = 0
    # 1. Who reaches the target by referral: arc w -> x is live with probability refer[w].
    while head < count:
        x = queue[head]
        head += 1
        for j in range(tptr[x], tptr[x + 1]):
            w = ttail[j]
            if mark[w] < 0:
                p = refer[w]
                if p > 0.0 and uniform(kr, tarc[j]) < p:
                    mark[w] = 0
                    queue[count] = w
                    count += 1
    # 2. Who reaches any of them within ``hops`` live contact arcs (all of W is wave 0).
    head = 0
    while head < count:
        y = queue[head]
        head += 1
        if mark[y] >= hops:
            break  # FIFO: waves never decrease along the queue
        for j in range(tptr[y], tptr[y + 1]):
            u = ttail[j]
            if mark[u] < 0:
                a = tarc[j]
                if uniform(kc, a) < contact[a]:
                    mark[u] = mark[y] + 1
                    queue[count] = u
                    count += 1
    for i in range(count):
        mark[queue[i]] = -1
    return count


@njit(cache=True)
def _generate(tptr, tarc, ttail, contact, hops, refer, keep, key, first, stop):
    """RR sets ``first .. stop - 1`` of the stream ``key``, members restricted to ``keep``.

    Returns ``(members, sizes)``: the sets' kept members one after another, and each set's
    count of them.
    """
    n = tptr.shape[0] - 1
    mark = np.full(n, -1, np.int32)
    queue = np.empty(n, np.int32)
    sizes = np.zeros(stop - first, np.int64)
    members = np.empty(max(16, 4 * (stop - first)), np.int32)
    pos = 0
    for i in range(first, stop):
        k = subkey(key, i)
        target = min(int(uniform(k, 0) * n), n - 1)
        count = _rr_set(tptr, tarc, ttail, contact, hops, refer, target, k, mark, queue)
        if pos + count > members.shape[0]:
            grown = np.empty(max(2 * members.shape[0], pos + count), np.int32)
            grown[:pos] = members[:pos]
            members = grown
        m = 0
        for t in range(count):
            v = queue[t]
            if keep[v]:
                members[pos + m] = v
                m += 1
        pos += m
        sizes[i - first] = m
    return members[:pos].copy(), sizes


@njit(cache=True)
def _index(members, offsets, n):
    """The sets each node is in (counting sort): ``sets[ptr[v]:ptr[v + 1]]``."""
    ptr = np.zeros(n + 1, np.int64)
    for v in members:
        ptr[v + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    fill = ptr[:-1].copy()
    sets = np.empty(members.shape[0], np.int64)
    for s in range(offsets.shape[0] - 1):
        for t in range(offsets[s], offsets[s + 1]):
            v = members[t]
            sets[fill[v]] = s
            fill[v] += 1
    return ptr, sets


@njit(cache=True)
def _cover(v, members, offsets, ptr, sets, covered, counts):
    """Mark the uncovered sets holding ``v`` covered, updating ``counts``; how many there were."""
    gain = 0
    for t in range(ptr[v], ptr[v + 1]):
        s = sets[t]
        if not covered[s]:
            covered[s] = True
            gain += 1
            for q in range(offsets[s], offsets[s + 1]):
                counts[members[q]] -= 1
    return gain


@njit(cache=True)
def _greedy_hits(members, offsets, ptr, sets, covered, counts, candidate, k):
    """Sets newly covered by ``k`` greedy picks among ``candidate`` nodes (argmax each round).

    For IMM's sampling phase, whose picks are used only for what they cover; ``covered`` and
    ``counts`` are as :func:`_cover` leaves them, and are changed.
    """
    n = ptr.shape[0] - 1
    for v in range(n):
        if not candidate[v]:
            counts[v] = -1  # never above the -1 a pick must beat; _cover lowers it further
    hit = 0
    for _ in range(k):
        best = -1
        top = -1
        for v in range(n):
            if counts[v] > top:
                top = counts[v]
                best = v
        if best < 0:
            break
        hit += _cover(best, members, offsets, ptr, sets, covered, counts)
        counts[best] = -1
    return hit


@njit(cache=True)
def _hits(members, offsets, chosen):
    """How many sets hold at least one node flagged in ``chosen``."""
    hit = 0
    for s in range(offsets.shape[0] - 1):
        for t in range(offsets[s], offsets[s + 1]):
            if chosen[members[t]]:
                hit += 1
                break
    return hit


# --------------------------------------------------------------------------------------------
# The coverage greedy
# --------------------------------------------------------------------------------------------


class _Coverage:
    """Greedy maximum coverage over fixed RR sets, one pick at a time, with a lazy max-heap.

    ``counts[v]`` is kept exact (the uncovered sets holding ``v``); the heap holds counts that
    may be stale, but they only fall, so a popped entry whose count is current is the maximum.
    Ties go to the lower position.
    """

    def __init__(self, members, sizes, n, pool, seeded, group_of=None):
        self.members = members
        self.offsets = np.zeros(sizes.size + 1, np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        self.ptr, self.sets = _index(members, self.offsets, n)
        self.covered = np.zeros(sizes.size, bool)
        self.counts = np.diff(self.ptr)
        self.pops = 0
        self.seeded_hits = 0
        for s in seeded:
            self.seeded_hits += self.cover(int(s))
        group_of = (
            np.zeros(pool.size, np.int64)
            if group_of is None
            else np.asarray(group_of, np.int64)[pool]
        )
        self.heaps: dict[int, list] = {}
        for group in np.unique(group_of):
            members_of = pool[group_of == group]
            heap = list(zip((-self.counts[members_of]).tolist(), members_of.tolist(), strict=True))
            heapq.heapify(heap)
            self.heaps[int(group)] = heap

    def cover(self, v: int) -> int:
        return int(
            _cover(v, self.members, self.offsets, self.ptr, self.sets, self.covered, self.counts)
        )

    def pick(self, group: int = 0) -> tuple[int, int] | None:
        """``(node, sets newly covered)`` of the next pick from ``group``; None if none left."""
        heap = self.heaps.get(int(group), [])
        while heap:
            c, v = heapq.heappop(heap)
            self.pops += 1
            if -c == self.counts[v]:
                return v, self.cover(v)
            heapq.heappush(heap, (-int(self.counts[v]), v))
        return None


def _log_binomial(n: int, k: int) -> float:
    k = max(0, min(k, n))
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def imm_theta(n: int, pool: int, k: int, epsilon: float, ell: float, lower_bound: float) -> int:
    """IMM's second-phase number of RR sets, ``lambda* / LB`` (Tang et al. 2015, Eq. 6)."""
    e1 = 1.0 - 1.0 / math.e
    log_c = _log_binomial(pool, k)
    alpha = math.sqrt(ell * math.log(n) + math.log(2.0))
    beta = math.sqrt(e1 * (log_c + ell * math.log(n) + math.log(2.0)))
    lam = 2.0 * n * (e1 * alpha + beta) ** 2 / epsilon**2
    return int(math.ceil(lam / max(lower_bound, 1.0)))


class RRSets:
    """IMM's RR sets for one propagation, sized for ``k`` picks, and the greedy over them.

    Args:
        graph: the social graph (:class:`sim.graphs.csr.CSRGraph`).
        contact: per-arc contact probabilities (CSR order, checked by the caller).
        hops: waves of the contact stage.
        refer: per-node referral probabilities.
        k: picks the sets are sized for.
        candidates: positions that may be chosen (None: everyone).
        seeded: positions already seeded (never chosen; their reach is set aside).
        key: the 64-bit key of the sets.
        epsilon: IMM's ``eps``, in (0, 1).
        ell: IMM's ``l`` (> 0): the guarantee fails with probability at most ``1 / n^l``.
        groups: each person's group, for picks constrained to groups.
    """

    def __init__(
        self,
        graph,
        contact,
        hops,
        refer,
        k,
        *,
        candidates=None,
        seeded=None,
        key: int = 0,
        epsilon: float = DEFAULT_EPSILON,
        ell: float = DEFAULT_FAILURE_EXPONENT,
        groups=None,
    ):
        if not 0.0 < epsilon < 1.0:
            raise ValueError(f"epsilon: must lie in (0, 1), got {epsilon!r}")
        if not ell > 0.0:
            raise ValueError(f"ell: must be > 0, got {ell!r}")
        n = graph.n_nodes
        self.n = n
        pool = np.arange(n) if candidates is None else np.unique(np.asarray(candidates, np.int64))
        seeded = (
            np.zeros(0, np.int64)
            if seeded is None or not len(seeded)
            else np.unique(np.asarray(seeded, np.int64))
        )
        pool = np.setdiff1d(pool, seeded)
        keep = np.zeros(n, bool)
        keep[pool] = True
        keep[seeded] = True
        tptr, tarc, ttail = _transpose(graph.indptr, graph.indices)
        args = (tptr, tarc, ttail, contact, int(hops), refer, keep)
        k = max(1, min(int(k), max(pool.size, 1)))
        self.lower_bound, phase1 = self._lower_bound(
            args, n, pool, seeded, k, epsilon, ell, np.uint64(subkey(np.uint64(key), _PHASE1_TAG))
        )
        self.theta = imm_theta(
            n, max(pool.size, 1), k, epsilon, self._ell(n, ell), self.lower_bound
        )
        members, sizes = _generate(
            *args, np.uint64(subkey(np.uint64(key), _PHASE2_TAG)), 0, self.theta
        )
        self.phase1_sets = phase1
        self.coverage = _Coverage(
            members,
            sizes,
            n,
            pool,
            seeded,
            None if groups is None else np.asarray(groups, np.int64),
        )
        self.k = k

    @staticmethod
    def _ell(n: int, ell: float) -> float:
        # Both phases share the failure budget (Tang et al. 2015, Section 4.2).
        return ell * (1.0 + math.log(2.0) / math.log(max(n, 3)))

    def _lower_bound(self, args, n, pool, seeded, k, epsilon, ell, key):
        """IMM's sampling phase (Algorithm 2): a lower bound of the optimum, and sets drawn."""
        ell = self._ell(n, ell)
        eps1 = math.sqrt(2.0) * epsilon
        log_c = _log_binomial(max(pool.size, 1), k)
        lam1 = (
            (2.0 + 2.0 / 3.0 * eps1)
            * (log_c + ell * math.log(n) + math.log(max(math.log2(n), 1.0)))
            * n
            / eps1**2
        )
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        drawn = 0
        for i in range(1, max(2, int(math.ceil(math.log2(n))))):
            x = n / 2.0**i
            theta = int(math.ceil(lam1 / x))
            if theta > drawn:
                parts.append(_generate(*args, key, drawn, theta))
                drawn = theta
            members = np.concatenate([p[0] for p in parts])
            sizes = np.concatenate([p[1] for p in parts])
            offsets = np.zeros(sizes.size + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            ptr, sets = _index(members, offsets, n)
            covered = np.zeros(sizes.size, bool)
            counts = np.diff(ptr)
            for s in seeded:
                _cover(int(s), members, offsets, ptr, sets, covered, counts)
            candidate = np.zeros(n, bool)
            candidate[pool] = True
            hit = _greedy_hits(members, offsets, ptr, sets, covered, counts, candidate, k)
            estimate = n * hit / drawn
            if estimate >= (1.0 + eps1) * x:
                return estimate / (1.0 + eps1), drawn
        return 1.0, drawn

    def pick(self, group: int = 0) -> tuple[int, int] | None:
        """The next pick of the coverage greedy and the RR sets it newly covers."""
        return self.coverage.pick(group)


def rr_cover_share(graph, contact, hops, refer, seed_sets, *, sets: int, key: int = 0):
    """The share of ``sets`` fresh RR sets that each seed set hits (``n`` times it: its reach).

    For checking the reverse sampling against the forward propagation.

    Args:
        graph: the social graph.
        contact: per-arc contact probabilities (CSR order).
        hops: waves of the contact stage.
        refer: per-node referral probabilities.
        seed_sets: sequences of person positions.
        sets: RR sets to draw.
        key: their key.

    Returns:
        ``float64`` array, one share per seed set.
    """
    n = graph.n_nodes
    tptr, tarc, ttail = _transpose(graph.indptr, graph.indices)
    keep = np.ones(n, bool)
    members, sizes = _generate(
        tptr,
        tarc,
        ttail,
        np.ascontiguousarray(contact, np.float64),
        int(hops),
        np.ascontiguousarray(refer, np.float64),
        keep,
        np.uint64(key),
        0,
        int(sets),
    )
    offsets = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    out = np.empty(len(seed_sets))
    for j, s in enumerate(seed_sets):
        chosen = np.zeros(n, bool)
        chosen[np.asarray(s, np.int64)] = True
        out[j] = _hits(members, offsets, chosen) / int(sets)
    return out

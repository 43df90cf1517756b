"""Recruitment policies: who in the population becomes a peer.

- ``random``: anyone who is not yet a peer, with equal chance.
- ``degree``: the best-connected first (ties broken at random).
- ``nomination``: a random friend of a random person, which favours the well-connected by the
  friendship paradox without knowing the network (Cohen, Havlin & ben-Avraham 2003, acquaintance
  immunisation; Hellard et al. 2014 for its use in drug-user networks).
- ``from_engaged``: a client engaged (or beyond) for at least ``promote_after_weeks`` weeks
  becomes a peer, as Street Clinic clients became distant peers; the longest-engaged first.
  While no client qualifies, the vacancy stays open.
- ``cover_subgroups``: recruits in turn from every gender x age-band cell, so each subgroup has
  peers like them ("different peers reach different clients").
- ``influence``: the persons whose outreach and referral chains are expected to reach the most
  people, by greedy influence maximisation with lazy evaluation on the contact-propagation core
  (Kempe, Kleinberg & Tardos 2003; Leskovec et al. 2007), within the kind's
  ``influence_pool``: see :mod:`sim.model.influence`.

A kind's ``age_band_shares``, when given, first draws each recruit's age band, then applies the
policy within that band.

Common random numbers: each peer kind has its own :class:`KindStreams`. Every person holds a
fixed random *priority* for each kind, a counter-based draw keyed by the person
(:func:`sim.streams.uniform`), and a policy that chooses at random takes the eligible persons in
order of priority. Who one kind recruits therefore does not depend on how many the other kind
recruits: one more close peer leaves the distant peers as they were, unless the new close peer is
a person the distant kind would have chosen (then the distant kind takes its next in line).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model import state as S
from sim.model.scenario import PeerKind
from sim.streams import stream, uint64_seeds, uniform

__all__ = ["KindStreams", "kind_streams", "priorities", "recruit"]


class KindStreams:
    """The random streams of one peer kind's recruitment in one replicate.

    Attributes:
        rng: draws made in sequence (age bands of recruits, nomination attempts).
        priority_key: key of each person's priority for this kind.
        energy_key: key of each recruit's start-energy draw.
        influence_key: key of the propagation samples of the ``influence`` policy.
        influence_cache: what the ``influence`` policy computes once per replicate.
        queues: the fixed-order policies' queues, by (policy, age band).
    """

    def __init__(self, rng: np.random.Generator, priority_key: np.uint64,
                 energy_key: np.uint64, influence_key: np.uint64 | None = None):
        self.rng = rng
        self.priority_key = priority_key
        self.energy_key = energy_key
        self.influence_key = np.uint64(0) if influence_key is None else influence_key
        self.influence_cache: dict = {}
        self.kind = -1  # CLOSE or DISTANT, set by kind_streams
        self._priority: np.ndarray | None = None
        self.queues: dict[tuple[str, int], list] = {}

    def priority(self, nodes: np.ndarray, n: int) -> np.ndarray:
        """The priorities of ``nodes`` among ``n`` persons (all drawn once, then looked up)."""
        if self._priority is None or self._priority.size != n:
            self._priority = priorities(self.priority_key, np.arange(n))
        return self._priority[nodes]


    def queue(self, policy: str, band: int, model) -> list:
        """A fixed-order policy's queue for one age band (-1: everyone): ``[persons, cursor]``.

        ``persons`` are in the order the policy takes them, and the cursor says how far down
        the taken or ineligible persons reach. ``random`` takes the lowest priority first and
        ``degree`` the best-connected (ties by priority): orders fixed for a replicate, so
        they are sorted once and a vacancy walks on from the cursor. A person stops being
        eligible only by becoming a peer, for good, so no one before the cursor is ever
        eligible again.
        """
        key = (policy, band)
        if key not in self.queues:
            if (policy, -1) not in self.queues:
                n = model.role.size
                prio = self.priority(np.arange(n), n)
                order = prio - model.world.graph.degree() if policy == "degree" else prio
                # Priorities are 53-bit uniform draws: ties (which _first breaks by position)
                # have a chance of about n^2 / 2^54, so an unstable sort gives the same order.
                self.queues[policy, -1] = [np.argsort(order), 0]
            persons = self.queues[policy, -1][0]
            if band >= 0:
                self.queues[key] = [persons[model.world.age_band[persons] == band], 0]
        return self.queues[key]


@njit(cache=True)
def _walk(persons, cursor, role, want):
    """Up to ``want`` clients from ``persons[cursor:]`` in order, and the cursor after them."""
    out = np.empty(want, np.int64)
    m = 0
    j = cursor
    while j < persons.shape[0] and m < want:
        if role[persons[j]] == S.CLIENT:
            out[m] = persons[j]
            m += 1
        j += 1
    return out[:m], j


def _take(streams: KindStreams, policy: str, band: int, want: int, model) -> np.ndarray:
    """The next ``want`` eligible persons of a fixed-order policy's queue (see ``queue``)."""
    entry = streams.queue(policy, band, model)
    chosen, entry[1] = _walk(entry[0], entry[1], model.role, want)
    return chosen.astype(np.intp)


def kind_streams(seed: int, replicate: int, kind: int) -> KindStreams:
    """The recruitment streams of peer kind ``kind`` (``CLOSE`` or ``DISTANT``)."""
    name = S.KIND_SECTIONS[kind]
    keys = uint64_seeds(stream(seed, replicate, f"recruitment-keys/{name}"), 2)
    # A stream of its own, so the other policies' draws are as they were without it.
    influence = uint64_seeds(stream(seed, replicate, f"influence/{name}"), 1)[0]
    streams = KindStreams(stream(seed, replicate, f"recruitment/{name}"), keys[0], keys[1],
                          influence)
    streams.kind = kind
    return streams


@njit(cache=True)
def _uniforms(key, nodes):
    out = np.empty(nodes.shape[0])
    for j in range(nodes.shape[0]):
        out[j] = uniform(key, nodes[j])
    return out


def priorities(key: np.uint64, nodes: np.ndarray) -> np.ndarray:
    """Each person's uniform draw under ``key``: the same for a person whatever the pool."""
    return _uniforms(np.uint64(key), np.asarray(nodes, np.int64))


@njit(cache=True, _nrt=False)
def start_energy(key, node, mean, spread):
    """A new peer's energy: ``mean`` plus a uniform draw within ``+/- spread``, within [0, 1].

    The draw is keyed by the person (``node``) under the kind's energy ``key``.
    """
    return min(1.0, max(0.0, mean + spread * (2.0 * uniform(key, node) - 1.0)))


@njit(cache=True)
def _start_energies(key, nodes, mean, spread):
    out = np.empty(nodes.shape[0])
    for j in range(nodes.shape[0]):
        out[j] = start_energy(key, nodes[j], mean, spread)
    return out


def start_energies(streams: KindStreams, nodes: np.ndarray, mean: float,
                   spread: float) -> np.ndarray:
    """New peers' energies, each by :func:`start_energy`."""
    return _start_energies(np.uint64(streams.energy_key), np.asarray(nodes, np.int64),
                           float(mean), float(spread))


@njit(cache=True)
def _lowest(order, k):
    """Positions of the ``k`` lowest values of ``order``, lowest first (ties: earlier first).

    One pass keeping the best ``k`` in a sorted buffer: linear in ``order`` for the few recruits
    a vacancy asks for, where a full sort of a large population would dominate a run.
    """
    best = np.empty(k, np.int64)
    m = 0
    for j in range(order.shape[0]):
        x = order[j]
        if m == k and x >= order[best[m - 1]]:
            continue
        pos = m if m < k else k - 1
        while pos > 0 and order[best[pos - 1]] > x:
            if pos < k:
                best[pos] = best[pos - 1]
            pos -= 1
        best[pos] = j
        if m < k:
            m += 1
    return best[:m]


def _first(pool: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` members of ``pool`` with the lowest ``order``, in that order."""
    k = min(k, pool.size)
    if k == 0:
        return pool[:0]
    return pool[_lowest(np.asarray(order, np.float64), k)]


def _pick(policy: str, pool: np.ndarray, k: int, model, streams: KindStreams) -> np.ndarray:
    """Choose up to ``k`` distinct persons from ``pool`` by a policy without a fixed order.

    ``random`` and ``degree`` take a fixed order and walk its queue instead (:func:`_take`).
    """
    k = min(k, pool.size)
    if k == 0:
        return pool[:0]
    prio = streams.priority(pool, model.role.size)
    if policy == "nomination":
        return _nominate(pool, k, model, streams)
    if policy == "cover_subgroups":
        w = model.world
        n_age = int(w.age_band.max()) + 1 if w.age_band.size else 1
        cell = w.gender[pool].astype(np.int64) * n_age + w.age_band[pool]
        cells = [_first(pool[cell == c], prio[cell == c], k) for c in np.unique(cell)]
        cells.sort(key=len, reverse=True)
        chosen: list[int] = []
        depth = 0
        while len(chosen) < k:
            for members in cells:
                if depth < members.size and len(chosen) < k:
                    chosen.append(members[depth])
            depth += 1
        return np.asarray(chosen, dtype=pool.dtype)
    raise ValueError(f"recruitment: unknown policy {policy!r}")


def _nominate(pool: np.ndarray, k: int, model, streams: KindStreams) -> np.ndarray:
    """Ask random persons to name a random friend; a friend in the pool is recruited.

    Every attempt draws two numbers from the kind's stream whether or not it succeeds, so the
    sequence of attempts does not depend on who else is taken.
    """
    g = model.world.graph
    in_pool = np.zeros(g.n_nodes, bool)
    in_pool[pool] = True
    chosen: list[int] = []
    for _ in range(50 * k):
        if len(chosen) == k:
            break
        asked, pick = streams.rng.random(2)
        friends = g.neighbours(int(asked * g.n_nodes))
        if friends.size:
            f = int(friends[int(pick * friends.size)])
            if in_pool[f]:
                chosen.append(f)
                in_pool[f] = False
    if len(chosen) < k:  # isolated people everywhere: the rest by priority
        rest = pool[in_pool[pool]]
        chosen += _first(rest, streams.priority(rest, model.role.size),
                         k - len(chosen)).tolist()
    return np.asarray(chosen, dtype=pool.dtype)


def _influence(model, pk: PeerKind, count: int, streams: KindStreams) -> np.ndarray:
    """The ``influence`` policy (:mod:`sim.model.influence`).

    Greedy queues, or for the ``engaged`` pool a fresh choice counting the reach of the kind's
    peers at work.
    """
    from sim.model.influence import choose, eligible_pool, take

    kind = streams.kind
    if pk.influence_pool == "engaged":
        pool = eligible_pool(model, pk, kind)
        working = np.flatnonzero(model.role == kind)
        if not pk.age_band_shares:
            return choose(model, kind, count, pool, streams, working).astype(np.intp)
        bands = streams.rng.choice(len(pk.age_band_shares), size=count, p=pk.age_band_shares)
        chosen = [choose(model, kind, int(np.sum(bands == b)),
                         pool[model.world.age_band[pool] == b], streams, working)
                  for b in range(len(pk.age_band_shares))]
        return np.concatenate(chosen).astype(np.intp)
    return take(model, pk, kind, count, streams).astype(np.intp)


def recruit(model, kind: PeerKind, count: int, streams: KindStreams) -> np.ndarray:
    """Persons to recruit as peers of one kind.

    Args:
        model: the outreach model (its arrays tell who is a client and in which state).
        kind: the peer kind's settings (``recruitment``, ``age_band_shares``, ...).
        count: how many are wanted.
        streams: the kind's recruitment streams.

    Returns:
        Up to ``count`` distinct person positions; fewer only when too few qualify.
    """
    policy = kind.recruitment
    if policy == "influence":
        return _influence(model, kind, count, streams)
    if policy == "from_engaged":
        eligible = (model.role == S.CLIENT) & (model.cstate >= S.ENGAGED) & (
            model.week - model.since >= kind.promote_after_weeks)
        pool = np.flatnonzero(eligible)
        # Weeks are whole numbers: since + priority orders by week first, ties by priority.
        return _first(pool, model.since[pool] + streams.priority(pool, model.role.size), count)
    fixed = policy in ("random", "degree")  # a queue per band, walked on (KindStreams.queue)
    pool = None if fixed else np.flatnonzero(model.role == S.CLIENT)
    if not kind.age_band_shares:
        if fixed:
            return _take(streams, policy, -1, count, model)
        return _pick(policy, pool, count, model, streams)
    bands = streams.rng.choice(len(kind.age_band_shares), size=count, p=kind.age_band_shares)
    chosen = []
    for band in range(len(kind.age_band_shares)):
        want = int(np.sum(bands == band))
        if fixed:
            chosen.append(_take(streams, policy, band, want, model))
        else:
            in_band = pool[model.world.age_band[pool] == band]
            chosen.append(_pick(policy, in_band, want, model, streams))
    return np.concatenate(chosen) if chosen else np.zeros(0, np.intp)

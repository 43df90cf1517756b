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
  ``influence_pool``: see :mod:`sim.model.recruitment.influence`.

A kind's ``age_band_shares``, when given, first draws each recruit's age band, then applies the
policy within that band.

Common random numbers: each peer kind has its own
:class:`~sim.model.recruitment.draws.KindStreams`. Every person holds a
fixed random *priority* for each kind, a counter-based draw keyed by the person
(:func:`sim.streams.uniform`), and a policy that chooses at random takes the eligible persons in
order of priority. Who one kind recruits therefore does not depend on how many the other kind
recruits: one more close peer leaves the distant peers as they were, unless the new close peer is
a person the distant kind would have chosen (then the distant kind takes its next in line).
"""

from __future__ import annotations

import numpy as np

from sim.model import state as S
from sim.model.recruitment.draws import KindStreams
from sim.model.recruitment.queues import first, take_next
from sim.model.scenario import PeerKind

__all__ = ["recruit"]


def _pick(policy: str, pool: np.ndarray, k: int, model, streams: KindStreams) -> np.ndarray:
    """Choose up to ``k`` distinct persons from ``pool`` by a policy without a fixed order.

    ``random`` and ``degree`` take a fixed order and walk its queue instead
    (:func:`~sim.model.recruitment.queues.take_next`).
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
        cells = [first(pool[cell == c], prio[cell == c], k) for c in np.unique(cell)]
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
        chosen += first(rest, streams.priority(rest, model.role.size), k - len(chosen)).tolist()
    return np.asarray(chosen, dtype=pool.dtype)


def _influence(model, pk: PeerKind, count: int, streams: KindStreams) -> np.ndarray:
    """The ``influence`` policy (:mod:`sim.model.recruitment.influence`).

    Greedy queues, or for the ``engaged`` pool a fresh choice counting the reach of the kind's
    peers at work.
    """
    from sim.model.recruitment.influence import choose, eligible_pool, take

    kind = streams.kind
    if pk.influence_pool == "engaged":
        pool = eligible_pool(model, pk, kind)
        working = np.flatnonzero(model.role == kind)
        if not pk.age_band_shares:
            return choose(model, kind, count, pool, streams, working).astype(np.intp)
        bands = streams.rng.choice(len(pk.age_band_shares), size=count, p=pk.age_band_shares)
        chosen = [
            choose(
                model,
                kind,
                int(np.sum(bands == b)),
                pool[model.world.age_band[pool] == b],
                streams,
                working,
            )
            for b in range(len(pk.age_band_shares))
        ]
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
        eligible = (
            (model.role == S.CLIENT)
            & (model.cstate >= S.ENGAGED)
            & (model.week - model.since >= kind.promote_after_weeks)
        )
        pool = np.flatnonzero(eligible)
        # Weeks are whole numbers: since + priority orders by week first, ties by priority.
        return first(pool, model.since[pool] + streams.priority(pool, model.role.size), count)
    fixed = policy in ("random", "degree")  # a queue per band, walked on (KindStreams.queue)
    pool = None if fixed else np.flatnonzero(model.role == S.CLIENT)
    if not kind.age_band_shares:
        if fixed:
            return take_next(streams, policy, -1, count, model)
        return _pick(policy, pool, count, model, streams)
    bands = streams.rng.choice(len(kind.age_band_shares), size=count, p=kind.age_band_shares)
    chosen = []
    for band in range(len(kind.age_band_shares)):
        want = int(np.sum(bands == band))
        if fixed:
            chosen.append(take_next(streams, policy, band, want, model))
        else:
            in_band = pool[model.world.age_band[pool] == band]
            chosen.append(_pick(policy, in_band, want, model, streams))
    return np.concatenate(chosen) if chosen else np.zeros(0, np.intp)

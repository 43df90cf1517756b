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

A kind's ``age_band_shares``, when given, first draws each recruit's age band, then applies the
policy within that band.
"""

from __future__ import annotations

import numpy as np

from sim.model import kernel as E
from sim.model.scenario import PeerKind

__all__ = ["recruit"]


def _pick(policy: str, pool: np.ndarray, k: int, model, rng: np.random.Generator) -> np.ndarray:
    """Choose up to ``k`` distinct persons from ``pool`` by ``policy``."""
    k = min(k, pool.size)
    if k == 0:
        return pool[:0]
    if policy == "random":
        return rng.choice(pool, size=k, replace=False)
    if policy == "degree":
        deg = model.world.graph.degree()[pool]
        order = np.lexsort((rng.random(pool.size), -deg))
        return pool[order[:k]]
    if policy == "nomination":
        g = model.world.graph
        in_pool = np.zeros(g.n_nodes, bool)
        in_pool[pool] = True
        chosen: list[int] = []
        for _ in range(50 * k):
            if len(chosen) == k:
                break
            asked = int(rng.integers(g.n_nodes))
            friends = g.neighbours(asked)
            friends = friends[in_pool[friends]]
            if friends.size:
                f = int(rng.choice(friends))
                chosen.append(f)
                in_pool[f] = False
        if len(chosen) < k:  # isolated people everywhere: fall back to random
            rest = pool[in_pool[pool]]
            chosen += list(rng.choice(rest, size=k - len(chosen), replace=False))
        return np.asarray(chosen, dtype=pool.dtype)
    if policy == "cover_subgroups":
        w = model.world
        n_age = int(w.age_band.max()) + 1 if w.age_band.size else 1
        cell = w.gender[pool].astype(np.int64) * n_age + w.age_band[pool]
        cells = [rng.permutation(pool[cell == c]) for c in np.unique(cell)]
        cells.sort(key=len, reverse=True)
        chosen = []
        depth = 0
        while len(chosen) < k:
            for members in cells:
                if depth < members.size and len(chosen) < k:
                    chosen.append(members[depth])
            depth += 1
        return np.asarray(chosen, dtype=pool.dtype)
    raise ValueError(f"recruitment: unknown policy {policy!r}")


def recruit(model, kind: PeerKind, count: int, rng: np.random.Generator) -> np.ndarray:
    """Persons to recruit as peers of one kind.

    Args:
        model: the outreach model (its arrays tell who is a client and in which state).
        kind: the peer kind's settings (``recruitment``, ``age_band_shares``, ...).
        count: how many are wanted.
        rng: the recruitment stream.

    Returns:
        Up to ``count`` distinct person positions; fewer only when too few qualify.
    """
    eligible = model.role == E.CLIENT
    policy = kind.recruitment
    if policy == "from_engaged":
        eligible &= (model.cstate >= E.ENGAGED) & (
            model.week - model.since >= kind.promote_after_weeks)
        pool = np.flatnonzero(eligible)
        order = np.lexsort((rng.random(pool.size), model.since[pool]))
        return pool[order[:count]]
    pool = np.flatnonzero(eligible)
    if not kind.age_band_shares:
        return _pick(policy, pool, count, model, rng)
    bands = rng.choice(len(kind.age_band_shares), size=count, p=kind.age_band_shares)
    chosen = []
    for band in range(len(kind.age_band_shares)):
        want = int(np.sum(bands == band))
        in_band = pool[model.world.age_band[pool] == band]
        chosen.append(_pick(policy, in_band, want, model, rng))
    return np.concatenate(chosen) if chosen else pool[:0]

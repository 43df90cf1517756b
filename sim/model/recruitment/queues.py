"""The queues of the fixed-order recruitment policies, and the walk along them.

A fixed-order policy (``random``, ``degree``, and the ``influence`` policy's greedy sequence)
sorts the persons once per replicate and kind; a vacancy then walks on from a cursor and takes
the next persons who are still clients (:func:`walk`), so a person another kind took is passed
over and the next in line takes the place.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model import state as S
from sim.model.recruitment.draws import KindStreams

__all__ = ["first", "take_next", "walk"]


@njit(cache=True)
def walk(persons, cursor, role, want):
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


def take_next(streams: KindStreams, policy: str, band: int, want: int, model) -> np.ndarray:
    """The next ``want`` eligible persons of a fixed-order policy's queue.

    The queue and its cursor are :meth:`~sim.model.recruitment.draws.KindStreams.queue`'s.
    """
    entry = streams.queue(policy, band, model)
    chosen, entry[1] = walk(entry[0], entry[1], model.role, want)
    return chosen.astype(np.intp)


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


def first(pool: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` members of ``pool`` with the lowest ``order``, in that order."""
    k = min(k, pool.size)
    if k == 0:
        return pool[:0]
    return pool[_lowest(np.asarray(order, np.float64), k)]

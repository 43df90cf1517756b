"""Plain-Python independent cascade: the readable yardstick for :mod:`sim.cascade.core`.

The same process as :func:`sim.cascade.core.cascade_sizes` (Kempe, Kleinberg & Tardos 2003): the
seeds form wave 0; every node reached in wave ``w`` tries, in wave ``w + 1``, each of its arcs
to a not yet reached neighbour once, succeeding with the arc's probability. The loop uses only
Python lists, sets and a :class:`random.Random` instance seeded from the caller's numpy
Generator (never the global state). Its random numbers differ from the numba engine's, so the
two agree in distribution, not draw for draw.
"""

from __future__ import annotations

import numbers
import random

from sim.cascade.core import (
    P_PER_ARC,
    P_PER_NODE,
    _check_int,
    as_csr,
    fixed_seed_nodes,
    probabilities,
)
from sim.streams import as_generator

__all__ = ["cascade_sizes_reference", "one_cascade"]


def one_cascade(neighbours, probabilities, seeds, draw, max_waves=None) -> set:
    """The set of nodes one independent cascade reaches.

    Args:
        neighbours: ``neighbours[u]`` is the list of ``u``'s neighbours.
        probabilities: ``probabilities[u][i]`` is the probability of the arc
            ``u -> neighbours[u][i]``.
        seeds: the nodes reached in wave 0.
        draw: a function returning a uniform number in [0, 1).
        max_waves: last wave to form, or None for no limit.

    Returns:
        The reached nodes, seeds included.
    """
    reached = set(seeds)
    frontier = list(reached)
    wave = 0
    while frontier and wave != max_waves:
        next_frontier = []
        for u in frontier:
            for v, p in zip(neighbours[u], probabilities[u], strict=True):
                if v not in reached and draw() < p:
                    reached.add(v)
                    next_frontier.append(v)
        frontier = next_frontier
        wave += 1
    return reached


def cascade_sizes_reference(graph, p, seeds, replicates=1, seed=None, *, max_waves=None):
    """Final cascade sizes, as :func:`sim.cascade.core.cascade_sizes` but in plain Python.

    Arguments are validated and ``p`` is read exactly as by ``cascade_sizes`` (float, None for
    the graph's weights, per-node or per-arc arrays). Cost O(arcs leaving reached nodes) per
    replicate, at Python speed.

    Returns:
        A list of ``replicates`` ints: reached nodes per replicate, seeds included.
    """
    csr = as_csr(graph)
    prob, kind = probabilities(csr, p)
    prob = prob.tolist()
    n = csr.n_nodes
    replicates = _check_int(replicates, "replicates", 1)
    if max_waves is not None:
        max_waves = _check_int(max_waves, "max_waves", 0)
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        k = int(seeds)
        if not 0 <= k <= n:
            raise ValueError(f"seeds: the number of random seeds must lie in [0, {n}], got {k}")
        fixed = None
    else:
        fixed = fixed_seed_nodes(seeds, n).tolist()
    indptr, indices = csr.indptr.tolist(), csr.indices.tolist()
    neighbours = [indices[indptr[u] : indptr[u + 1]] for u in range(n)]
    if kind == P_PER_ARC:
        arc_probabilities = [prob[indptr[u] : indptr[u + 1]] for u in range(n)]
    elif kind == P_PER_NODE:
        arc_probabilities = [[prob[u]] * len(nbrs) for u, nbrs in enumerate(neighbours)]
    else:
        arc_probabilities = [[prob[0]] * len(nbrs) for nbrs in neighbours]
    rng = as_generator(seed)
    sizes = []
    for _ in range(replicates):
        local = random.Random(int(rng.integers(2**63)))
        start = local.sample(range(n), k) if fixed is None else fixed
        reached = one_cascade(neighbours, arc_probabilities, start, local.random, max_waves)
        sizes.append(len(reached))
    return sizes

"""Which people the network view shows, and where: a fixed layout, computed once per world.

A workshop watches outreach spread, so node positions must not move from one week to the next:
the layout is computed once (networkx's spring layout, Fruchterman & Reingold 1991) and cached
per world. A whole population of thousands drawn at once is a hairball, so past ``max_nodes``
people the view shows the peers and the people around them: every peer, their own ties, then a
random sample of their ties' ties (whom distant peers and referrals reach) up to the budget.
Peers recruited later are added next to their placed ties, so nobody already drawn moves.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MAX_NODES", "NetworkView", "network_view"]

#: Most people drawn at once; beyond that a projected network stops being readable.
MAX_NODES = 400

# One layout per world (the graph is fixed for a world; a reset with the same seed reuses it).
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class NetworkView:
    """The people drawn and their fixed positions.

    Attributes:
        nodes: the persons shown (graph node ids), in drawing order.
        pos: their positions, shape ``(len(nodes), 2)``, within about [-1, 1].
        edges: ties among shown persons as pairs of indices into ``nodes``, shape ``(m, 2)``.
        n_total: persons in the whole world (the dormant included).
        sampled: whether the view is a part of the population (peers' neighbourhoods).
    """

    nodes: np.ndarray
    pos: np.ndarray
    edges: np.ndarray
    n_total: int
    sampled: bool
    _index: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    _seed: int = 0

    @property
    def caption(self) -> str:
        """Words for the view, for the figure's title."""
        # The world's people (the dormant too): those not in the population this week are not
        # drawn.
        if not self.sampled:
            return f"all {self.n_total:,} people"
        return f"{len(self.nodes):,} of {self.n_total:,} people: peers and those around them"

    def segments(self) -> np.ndarray:
        """The ties as line segments, shape ``(m, 2, 2)``, for a LineCollection."""
        return self.pos[self.edges]

    def index_of(self, persons: np.ndarray) -> np.ndarray:
        """Position in :attr:`nodes` of each person, -1 for persons not shown."""
        return self._index[np.asarray(persons, np.int64)]

    def ensure(self, graph, persons: np.ndarray, max_new_ties: int = 12) -> bool:
        """Add persons missing from the view (new peers), with a few of their ties.

        Each new person is placed at the mean position of their ties already drawn (or at a
        random free spot), their other ties on a small ring around them, so the existing picture
        stays still. Returns True when the view grew.
        """
        persons = np.asarray(persons, np.int64)
        missing = persons[self._index[persons] < 0]
        if missing.size == 0:
            return False
        rng = np.random.default_rng(self._seed + len(self.nodes))
        new_nodes: list[int] = []
        new_pos: list[np.ndarray] = []
        placed = dict[int, np.ndarray]()
        for u in np.unique(missing).tolist():
            ties = graph.neighbours(u)
            drawn = ties[self._index[ties] >= 0]
            if drawn.size:
                centre = self.pos[self._index[drawn]].mean(axis=0)
            else:
                centre = rng.uniform(-1.0, 1.0, 2)
            centre = centre + rng.normal(0.0, 0.03, 2)
            placed[u] = centre
            new_nodes.append(u)
            new_pos.append(centre)
            others = [v for v in ties[self._index[ties] < 0].tolist() if v not in placed]
            others = others[:max_new_ties]
            angles = rng.uniform(0.0, 2 * np.pi, len(others))
            for v, a in zip(others, angles, strict=True):
                p = centre + 0.08 * np.array([np.cos(a), np.sin(a)])
                placed[v] = p
                new_nodes.append(v)
                new_pos.append(p)
        self.nodes = np.concatenate([self.nodes, np.asarray(new_nodes, np.int64)])
        self.pos = np.vstack([self.pos, np.asarray(new_pos)])
        self._index[self.nodes] = np.arange(self.nodes.size)
        self.edges = _induced_edges(graph, self.nodes, self._index)
        return True


def _induced_edges(graph, nodes: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Ties between shown persons, each once, as index pairs (vectorised over the CSR arrays)."""
    starts, ends = graph.indptr[nodes], graph.indptr[nodes + 1]
    counts = (ends - starts).astype(np.int64)
    if counts.sum() == 0:
        return np.zeros((0, 2), np.int64)
    src = np.repeat(np.arange(nodes.size), counts)
    # Positions of every tie of every shown person in ``indices``, without a Python loop.
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dst = index[graph.indices[np.repeat(starts, counts) + offsets]]
    keep = (dst >= 0) & (src < dst)
    return np.stack([src[keep], dst[keep]], axis=1)


def _choose_nodes(graph, peers: np.ndarray, max_nodes: int, rng) -> np.ndarray:
    """The persons to show in a large population: peers, their ties, then ties' ties."""
    chosen = list(dict.fromkeys(peers.tolist()))
    seen = set(chosen)
    first: list[int] = []
    for p in chosen:
        for v in graph.neighbours(p).tolist():
            if v not in seen:
                seen.add(v)
                first.append(v)
    budget = max_nodes - len(chosen)
    if len(first) > budget:
        first = rng.choice(first, size=max(budget, 0), replace=False).tolist()
    chosen += first
    budget = max_nodes - len(chosen)
    if budget > 0:
        second: list[int] = []
        for u in first:
            for v in graph.neighbours(u).tolist():
                if v not in seen:
                    seen.add(v)
                    second.append(v)
        if len(second) > budget:
            second = rng.choice(second, size=budget, replace=False).tolist()
        chosen += second
    return np.asarray(chosen, np.int64)


def network_view(model, max_nodes: int = MAX_NODES, seed: int = 0) -> NetworkView:
    """The cached view of a model's world, with every current peer in it.

    Args:
        model: an :class:`sim.model.OutreachModel`.
        max_nodes: the whole population is shown up to this many persons; past it, the
            peers' neighbourhoods (see the module docstring).
        seed: seed of the layout and the sample (a fixed picture for a given world).

    Returns:
        The view; costs one spring layout (about a second for 400 people) the first time a
        world is seen, then only the placement of newly recruited peers.
    """
    import networkx as nx

    graph = model.world.graph
    peers = np.asarray(model.p_node[: model.n_peers], np.int64)
    view = _CACHE.get(model.world)
    if view is None:
        n = graph.n_nodes
        rng = np.random.default_rng(seed)
        sampled = n > max_nodes
        nodes = _choose_nodes(graph, peers, max_nodes, rng) if sampled else np.arange(n)
        index = np.full(n, -1, np.int64)
        index[nodes] = np.arange(nodes.size)
        edges = _induced_edges(graph, nodes, index)
        g = nx.Graph()
        g.add_nodes_from(range(nodes.size))
        g.add_edges_from(edges.tolist())
        # k a little above 1/sqrt(n) spreads clusters apart, which reads better on a projector.
        layout = nx.spring_layout(g, k=1.6 / np.sqrt(max(nodes.size, 1)), iterations=60, seed=seed)
        pos = np.array([layout[i] for i in range(nodes.size)]).reshape(-1, 2)
        view = NetworkView(nodes, pos, edges, n, sampled, index, seed)
        _CACHE[model.world] = view
    view.ensure(graph, peers)
    return view

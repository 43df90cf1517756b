"""Compact CSR form of an undirected social graph.

Every undirected tie ``{u, v}`` is stored as two arcs, ``u -> v`` and ``v -> u``, so the
neighbours of node ``u`` are ``indices[indptr[u]:indptr[u + 1]]``. The arrays are plain numpy
arrays that numba kernels take directly. Nodes are positions ``0 .. n_nodes - 1``; identifiers
from a user's file are mapped to positions on load and never written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CSRGraph"]


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """An undirected graph as CSR arrays, with optional per-arc weights and node attributes.

    Attributes:
        indptr: ``int64`` array of shape ``(n_nodes + 1,)``; arcs of node ``u`` are
            ``indptr[u]:indptr[u + 1]``.
        indices: ``int32`` array of shape ``(n_arcs,)``, the arc heads, sorted within each node.
        weights: optional ``float64`` array of shape ``(n_arcs,)`` (for example a per-arc
            contact probability); both arcs of a tie carry the tie's weight.
        node_attrs: per-node integer, float or text (labels) arrays of shape ``(n_nodes,)``,
            by name (for example ``"locality"``, ``"gender"``, ``"age_band"``, ``"community"``).
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None = None
    node_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.indptr.shape[0] - 1
        if n < 0 or self.indptr[0] != 0 or self.indptr[-1] != self.indices.shape[0]:
            raise ValueError("indptr: must start at 0 and end at len(indices)")
        if self.weights is not None and self.weights.shape != self.indices.shape:
            raise ValueError("weights: must have one value per arc")
        for name, values in self.node_attrs.items():
            if np.shape(values) != (n,):
                raise ValueError(f"node_attrs[{name!r}]: must have one value per node ({n})")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_arcs(self) -> int:
        """Number of directed arcs (twice the number of ties)."""
        return int(self.indices.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected ties."""
        return self.n_arcs // 2

    def degree(self) -> np.ndarray:
        """Degree of every node as an ``int64`` array."""
        return np.diff(self.indptr)

    def neighbours(self, node: int) -> np.ndarray:
        """Positions of the neighbours of ``node``."""
        return self.indices[self.indptr[node] : self.indptr[node + 1]]

    def with_weights(self, weights: np.ndarray | None) -> CSRGraph:
        """A copy sharing the structure, with other per-arc weights."""
        w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
        return CSRGraph(self.indptr, self.indices, w, dict(self.node_attrs))

    @classmethod
    def from_edges(
        cls,
        n_nodes: int,
        src: np.ndarray,
        dst: np.ndarray,
        weights: np.ndarray | None = None,
        node_attrs: Mapping[str, np.ndarray] | None = None,
    ) -> CSRGraph:
        """Build from undirected edge lists, vectorised (no per-edge Python loop).

        Self-loops are dropped and a tie listed more than once is kept once (with the first
        weight given for it). Cost O(m log m) for ``m`` edges, from one stable sort.

        Args:
            n_nodes: number of nodes; edge endpoints must lie in ``[0, n_nodes)``.
            src: first endpoints.
            dst: second endpoints.
            weights: optional per-edge weights.
            node_attrs: optional per-node arrays.

        Returns:
            The symmetric CSR graph.

        Raises:
            ValueError: an endpoint out of range or arrays of different lengths.
        """
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        if src.shape != dst.shape:
            raise ValueError("src, dst: must have the same length")
        if n_nodes < 0 or n_nodes > np.iinfo(np.int32).max:
            raise ValueError(f"n_nodes: must be in [0, 2**31 - 1], got {n_nodes}")
        if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n_nodes):
            raise ValueError(f"src, dst: endpoints must lie in [0, {n_nodes})")
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64).ravel()
            if w.shape != src.shape:
                raise ValueError("weights: must have one value per edge")
        keep = src != dst
        src, dst = src[keep], dst[keep]
        lo, hi = np.minimum(src, dst), np.maximum(src, dst)
        key = lo * n_nodes + hi
        _, first = np.unique(key, return_index=True)
        first.sort()
        lo, hi = lo[first], hi[first]
        heads = np.concatenate([lo, hi])
        tails = np.concatenate([hi, lo])
        order = np.lexsort((tails, heads))
        indices = tails[order].astype(np.int32)
        counts = np.bincount(heads, minlength=n_nodes)
        indptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        arc_w = None
        if w is not None:
            w = w[keep][first]
            arc_w = np.ascontiguousarray(np.concatenate([w, w])[order])
        attrs = {k: np.asarray(v) for k, v in (node_attrs or {}).items()}
        return cls(indptr, np.ascontiguousarray(indices), arc_w, attrs)

    @classmethod
    def from_networkx(cls, graph, weight: str | None = None) -> CSRGraph:
        """Build from a networkx graph; nodes take positions in ``graph``'s node order.

        Args:
            graph: an undirected networkx graph (a directed one is read as undirected).
            weight: name of an edge attribute to keep as per-arc weights, or None.

        Returns:
            The CSR graph. Numeric node attributes present on every node are kept.
        """
        nodes = list(graph.nodes)
        pos = {node: i for i, node in enumerate(nodes)}
        m = graph.number_of_edges()
        src = np.fromiter((pos[u] for u, _ in graph.edges()), dtype=np.int64, count=m)
        dst = np.fromiter((pos[v] for _, v in graph.edges()), dtype=np.int64, count=m)
        w = None
        if weight is not None:
            w = np.fromiter(
                (float(d.get(weight, 1.0)) for _, _, d in graph.edges(data=True)),
                dtype=np.float64,
                count=m,
            )
        attrs: dict[str, np.ndarray] = {}
        if nodes:
            for key in graph.nodes[nodes[0]]:
                values = [graph.nodes[node].get(key) for node in nodes]
                if all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
                    attrs[key] = np.asarray(values)
        return cls.from_edges(len(nodes), src, dst, w, attrs)

    def to_networkx(self):
        """This graph as a ``networkx.Graph`` with nodes ``0 .. n_nodes - 1``."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        heads = np.repeat(np.arange(self.n_nodes), self.degree())
        mask = heads < self.indices
        if self.weights is None:
            g.add_edges_from(zip(heads[mask].tolist(), self.indices[mask].tolist(), strict=True))
        else:
            g.add_weighted_edges_from(
                zip(
                    heads[mask].tolist(),
                    self.indices[mask].tolist(),
                    self.weights[mask].tolist(),
                    strict=True,
                )
            )
        for name, values in self.node_attrs.items():
            for i, v in enumerate(values.tolist()):
                g.nodes[i][name] = v
        return g

"""A user's own social graph: edge-list CSV (with an optional node-attribute CSV) or GraphML.

:func:`load_graph` maps the user's node identifiers to positions ``0 .. n - 1`` and returns those
identifiers by position; they are never written back into the simulation state. Every problem
with a file is one :class:`~sim.errors.UserInputError` line naming the file, the line or column,
and what is allowed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from sim.errors import UserInputError
from sim.graphs.csr import CSRGraph

__all__ = ["load_graph"]


def load_graph(path, nodes_path=None, *, weight: str | None = None) -> tuple[CSRGraph, list[str]]:
    """Load a user's social graph from an edge-list CSV or a GraphML file.

    Formats:

    - Edge-list CSV (any suffix but ``.graphml``): a header line with columns ``source`` and
      ``target`` (any order, other columns ignored) and an optional weight column, named by
      ``weight`` or, when ``weight`` is None, used if a column is called ``weight``. Weights
      must be finite, non-negative numbers. A tie listed twice (in either direction) is kept
      once, with its first weight. A self-loop is an error.
    - Node-attribute CSV (``nodes_path``, optional): a column ``id`` matching the edge list's
      identifiers, one row per node of the edge list, and one column per attribute. A column
      whose values are all integers is kept as integers; any other column is read as category
      labels and coded ``0, 1, ...`` in sorted label order (``"man", "woman"`` become 0, 1).
      Empty values are an error.
    - GraphML (suffix ``.graphml``), read with ``networkx.read_graphml``; directed graphs are
      read as undirected. Node attributes follow the same rule as the node CSV (booleans and
      integers kept as integers, floats as floats, strings coded); an attribute must be given
      on every node. ``nodes_path`` may add or override attributes.

    Identifiers are strings; nodes take positions in order of first appearance (in the edge
    list, or GraphML's node order) and the identifiers are returned by position, never written
    into the graph.

    Args:
        path: the edge-list CSV or GraphML file.
        nodes_path: an optional node-attribute CSV.
        weight: name of the weight column or GraphML edge attribute; None uses ``weight`` if
            present, else no weights.

    Returns:
        The graph and the list of original node identifiers by position.

    Raises:
        UserInputError: a missing, empty or malformed file, missing columns, a self-loop, a bad
            weight, or node ids in ``nodes_path`` not in the graph (one line naming the file,
            the line and column where relevant, and what is allowed).
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() == ".graphml":
        n, src, dst, w, ids, attrs = _read_graphml(path, weight)
    else:
        n, src, dst, w, ids = _read_edge_csv(path, weight)
        attrs = {}
    if nodes_path is not None:
        attrs.update(_read_nodes_csv(Path(nodes_path), ids))
    if n == 0:
        raise UserInputError(f"{path}: no nodes found; expected at least one tie")
    return CSRGraph.from_edges(n, src, dst, w, attrs), ids


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise UserInputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise UserInputError(f"{path}: file is empty")


def _parse_weight(text: str, where: str, column: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not math.isfinite(x) or x < 0:
        raise UserInputError(
            f"{where}: column {column!r}: weight {text!r} is not allowed; "
            "weights must be finite non-negative numbers"
        )
    return x


def _read_header(reader, path: Path) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise UserInputError(f"{path}: file is empty") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise UserInputError(f"{path}: line 1: the first line must be a header of column names")
    return header


def _read_edge_csv(path: Path, weight: str | None):
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = _read_header(reader, path)
            missing = [c for c in ("source", "target") if c not in header]
            if missing:
                raise UserInputError(
                    f"{path}: line 1: missing column(s) {', '.join(map(repr, missing))}; "
                    f"the header must name columns 'source' and 'target' (found {header})"
                )
            if weight is not None and weight not in header:
                raise UserInputError(
                    f"{path}: line 1: no weight column {weight!r}; columns are {header}"
                )
            w_col = weight if weight is not None else ("weight" if "weight" in header else None)
            i_src, i_dst = header.index("source"), header.index("target")
            i_w = header.index(w_col) if w_col is not None else -1
            width = len(header)
            pos: dict[str, int] = {}
            src: list[int] = []
            dst: list[int] = []
            weights: list[float] = []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                where = f"{path}: line {reader.line_num}"
                if len(row) != width:
                    raise UserInputError(
                        f"{where}: expected {width} fields as in the header, got {len(row)}"
                    )
                a, b = row[i_src].strip(), row[i_dst].strip()
                for column, value in (("source", a), ("target", b)):
                    if not value:
                        raise UserInputError(
                            f"{where}: column {column!r} is empty; a node id is required"
                        )
                if a == b:
                    raise UserInputError(
                        f"{where}: columns 'source', 'target': self-loop on {a!r}; "
                        "a tie must join two different people"
                    )
                src.append(pos.setdefault(a, len(pos)))
                dst.append(pos.setdefault(b, len(pos)))
                if i_w >= 0:
                    weights.append(_parse_weight(row[i_w].strip(), where, w_col))
        except csv.Error as exc:
            raise UserInputError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise UserInputError(f"{path}: not a UTF-8 text file") from None
    if not src:
        raise UserInputError(
            f"{path}: no ties below the header; expected rows with columns 'source', 'target'"
        )
    w = np.asarray(weights, dtype=np.float64) if i_w >= 0 else None
    return len(pos), np.asarray(src), np.asarray(dst), w, list(pos)


def _code_column(values: list, where: str, column: str) -> np.ndarray:
    """Integers stay integers, floats stay floats, anything else becomes sorted category codes."""
    if all(isinstance(v, (bool, int, np.integer)) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, (bool, int, float, np.integer, np.floating)) for v in values):
        return np.asarray(values, dtype=np.float64)
    texts = [str(v).strip() for v in values]
    if any(t == "" for t in texts):
        raise UserInputError(f"{where}: column {column!r} has an empty value; values are required")
    try:
        return np.asarray([int(t) for t in texts], dtype=np.int64)
    except ValueError:
        _, codes = np.unique(np.asarray(texts), return_inverse=True)
        return codes.astype(np.int64)


def _read_nodes_csv(path: Path, ids: list[str]) -> dict[str, np.ndarray]:
    _check_file(path)
    pos = {node: i for i, node in enumerate(ids)}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = _read_header(reader, path)
            if "id" not in header:
                raise UserInputError(
                    f"{path}: line 1: missing column 'id'; the header must name an 'id' column "
                    f"and attribute columns (found {header})"
                )
            i_id = header.index("id")
            names = [h for h in header if h != "id"]
            if len(set(header)) != len(header):
                raise UserInputError(f"{path}: line 1: repeated column names in {header}")
            columns: dict[str, list] = {name: [None] * len(ids) for name in names}
            seen = np.zeros(len(ids), dtype=bool)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                where = f"{path}: line {reader.line_num}"
                if len(row) != len(header):
                    raise UserInputError(
                        f"{where}: expected {len(header)} fields as in the header, got {len(row)}"
                    )
                node = row[i_id].strip()
                if node not in pos:
                    raise UserInputError(
                        f"{where}: column 'id': unknown node {node!r}; ids must appear in the "
                        "graph file"
                    )
                i = pos[node]
                if seen[i]:
                    raise UserInputError(f"{where}: column 'id': node {node!r} listed twice")
                seen[i] = True
                for j, name in enumerate(header):
                    if name != "id":
                        value = row[j].strip()
                        if not value:
                            raise UserInputError(
                                f"{where}: column {name!r} is empty; every node needs a value"
                            )
                        columns[name][i] = value
        except csv.Error as exc:
            raise UserInputError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise UserInputError(f"{path}: not a UTF-8 text file") from None
    if not seen.all():
        missing = ids[int(np.flatnonzero(~seen)[0])]
        raise UserInputError(
            f"{path}: column 'id': no row for node {missing!r} ({int((~seen).sum())} missing); "
            "every node of the graph needs a row"
        )
    return {name: _code_column(values, str(path), name) for name, values in columns.items()}


def _read_graphml(path: Path, weight: str | None):
    import xml.etree.ElementTree as ET

    import networkx as nx

    try:
        g = nx.read_graphml(path)
    except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        detail = " ".join(str(exc).split())
        raise UserInputError(f"{path}: malformed GraphML ({detail})") from None
    ids = [str(node) for node in g.nodes]
    pos = {node: i for i, node in enumerate(g.nodes)}
    edges = list(g.edges(data=True))
    for u, v, _ in edges:
        if u == v:
            raise UserInputError(
                f"{path}: edge 'source', 'target': self-loop on {str(u)!r}; "
                "a tie must join two different people"
            )
    src = np.fromiter((pos[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
    dst = np.fromiter((pos[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
    w_key = weight
    if w_key is None and any("weight" in d for _, _, d in edges):
        w_key = "weight"
    w = None
    if w_key is not None:
        values = []
        for u, v, d in edges:
            if w_key not in d:
                raise UserInputError(
                    f"{path}: edge {str(u)!r}-{str(v)!r}: no attribute {w_key!r}; "
                    "every edge needs a weight when weights are used"
                )
            values.append(_parse_weight(str(d[w_key]), f"{path}: edge {u!r}-{v!r}", w_key))
        w = np.asarray(values, dtype=np.float64)
    attrs: dict[str, np.ndarray] = {}
    keys = sorted({key for _, d in g.nodes(data=True) for key in d})
    for key in keys:
        values = [d.get(key) for _, d in g.nodes(data=True)]
        if any(v is None for v in values):
            raise UserInputError(
                f"{path}: node attribute {key!r} is missing on some nodes; "
                "give it on every node or leave it out"
            )
        attrs[key] = _code_column(values, str(path), key)
    return len(ids), src, dst, w, ids, attrs

"""A user's own social graph: edge-list CSV (with an optional node-attribute CSV) or GraphML.

:func:`load_graph` maps the user's node identifiers to positions ``0 .. n - 1`` and returns those
identifiers by position; they are never written back into the simulation state. Every problem
with a file is one :class:`~sim.errors.UserInputError` line naming the file, the line or column,
and what is allowed.

Category attributes the model knows (gender, age band, locality) are matched by label to the
names the caller gives in ``labels`` (a scenario's names): the position of a name in that list
is the code, whatever order the labels appear in the file.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sim.errors import UserInputError
from sim.graphs.csr import CSRGraph

__all__ = ["Labels", "load_graph"]


class Labels(NamedTuple):
    """The names a category attribute may take; a name's position in ``names`` is its code.

    Attributes:
        names: the allowed labels, in code order (a scenario's ``names``).
        key: where the names come from, quoted in error messages
            (for example ``population.subgroups.gender.names``).
    """

    names: tuple[str, ...]
    key: str = ""


def load_graph(
    path, nodes_path=None, *, weight: str | None = None, labels: Mapping[str, Labels] | None = None
) -> tuple[CSRGraph, list[str]]:
    """Load a user's social graph from an edge-list CSV or a GraphML file.

    Formats:

    - Edge-list CSV (any suffix but ``.graphml``): a header line with columns ``source`` and
      ``target`` (any order, other columns ignored) and an optional weight column, named by
      ``weight`` or, when ``weight`` is None, used if a column is called ``weight``. Weights
      must be finite, non-negative numbers. A tie listed twice (in either direction) is kept
      once, with its first weight. A self-loop is an error.
    - Node-attribute CSV (``nodes_path``, optional): a column ``id`` and one column per
      attribute, one row per person. Every node of the edge list needs a row; a row whose id
      is not in the edge list adds a person with no ties (an isolated node), after the edge
      list's nodes. Empty values are an error.
    - GraphML (suffix ``.graphml``), read with ``networkx.read_graphml``; directed graphs are
      read as undirected. An attribute must be given on every node. ``nodes_path`` may add or
      override attributes.

    Attribute values:

    - An attribute named in ``labels`` is matched to its names exactly (case and spaces inside
      the label count; spaces around it do not): the label ``names[i]`` becomes code ``i``,
      whatever order the labels appear in. A column whose values are all whole numbers, when
      no name is itself a whole number, is read as codes: ``i`` means ``names[i]``. A label
      not among the names, a code out of range or a mix of codes and labels is an error.
    - A column or GraphML attribute whose name is not in ``labels`` but close to one of them
      (``gendr``, ``Gender``, ``age``, ``locality_name``, ``sex``, ``city`` ...) is an error
      unless the attribute it resembles is also given, so a misspelt name is never ignored.
    - Any other attribute is kept as extra data: integers as integers, floats as floats, and
      any other column as its labels, text as written (spaces around a value dropped).

    Identifiers are strings; nodes take positions in order of first appearance (in the edge
    list, or GraphML's node order) and the identifiers are returned by position, never written
    into the graph.

    Args:
        path: the edge-list CSV or GraphML file.
        nodes_path: an optional node-attribute CSV.
        weight: name of the weight column or GraphML edge attribute; None uses ``weight`` if
            present, else no weights.
        labels: the category attributes the caller knows, each with its allowed names; None
            reads every attribute as extra data.

    Returns:
        The graph and the list of original node identifiers by position.

    Raises:
        UserInputError: a missing, empty or malformed file, missing columns, a self-loop, a bad
            weight, a node of the graph without a row in ``nodes_path``, a label or code not
            allowed,
            or an attribute name close to a known one (one line naming the file, the line or
            node and column where relevant, and what is allowed).
    """
    path = Path(path)
    _check_file(path)
    labels = dict(labels or {})
    if path.suffix.lower() == ".graphml":
        n, src, dst, w, ids, raw = _read_graphml(path, weight)
        _check_attribute_names(list(raw), labels, f"{path}: node attribute")
    else:
        n, src, dst, w, ids = _read_edge_csv(path, weight)
        raw = {}
    if nodes_path is not None:
        # May add people with no ties (ids only in the nodes file), at the end of ``ids``.
        raw.update(_read_nodes_csv(Path(nodes_path), ids, labels))
        n = len(ids)
    if n == 0:
        raise UserInputError(f"{path}: no nodes found; expected at least one tie")
    attrs = {
        name: (
            _code_labels(column, name, labels[name])
            if name in labels
            else _code_column(column.values, column.source, name)
        )
        for name, column in raw.items()
    }
    return CSRGraph.from_edges(n, src, dst, w, attrs), ids


@dataclass
class _RawColumn:
    """One attribute as read, before coding: a value per node and where each came from."""

    values: list
    places: list[str]  # "line 7" (CSV) or "node 'x'" (GraphML), by node position
    source: str  # the file
    noun: str  # "column" (CSV) or "attribute" (GraphML), for messages


_ALIASES = {
    # Names a user may give an attribute the model knows under another name.
    "sex": "gender",
    "agegroup": "age_band",
    "ageclass": "age_band",
    "agecategory": "age_band",
    "agecat": "age_band",
    "location": "locality",
    "town": "locality",
    "city": "locality",
    "municipality": "locality",
    "district": "locality",
}


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _near_miss(name: str, known: list[str]) -> str | None:
    """The known attribute ``name`` looks like a misspelling or variant of, if any."""
    squashed = {_squash(k): k for k in known}
    s = _squash(name)
    if not s:
        return None
    if s in squashed:  # Gender, AGE-BAND, age band
        return squashed[s]
    if _ALIASES.get(s) in known:
        return _ALIASES[s]
    for sk, k in squashed.items():
        # age -> age_band, loc -> locality; locality_name, client_gender -> the attribute
        if (len(s) >= 3 and sk.startswith(s)) or sk in s:
            return k
    close = difflib.get_close_matches(s, list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


def _check_attribute_names(columns: list[str], labels: Mapping[str, Labels], where: str) -> None:
    """Refuse a column named like a known attribute that is not itself given (gendr, Gender)."""
    known = list(labels)
    if not known:
        return
    for name in columns:
        if name in labels or name == "id":
            continue
        like = _near_miss(name, known)
        if like is not None and like not in columns:
            allowed = ", ".join(map(repr, known))
            raise UserInputError(
                f"{where} {name!r} looks like {like!r} but is not a known attribute name "
                f"({allowed}); rename it to {like!r} to use it, or to a name unlike these to "
                "keep it as an extra column the model ignores"
            )


_WHOLE = re.compile(r"[+-]?\d+")


def _as_label(value) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    return str(value).strip()


def _code_labels(column: _RawColumn, name: str, labels: Labels) -> np.ndarray:
    """Codes of a known category attribute: each label's position in ``labels.names``."""
    names = list(labels.names)
    key = f" ({labels.key})" if labels.key else ""
    allowed = ", ".join(map(repr, names))
    texts = [_as_label(v) for v in column.values]
    index: dict[str, int] = {}
    for i, label in enumerate(names):
        index.setdefault(label, i)
    where = f"{column.source}: {{place}}: {column.noun} {name!r}"
    if all(t in index for t in texts):
        repeated = {label for label in names if names.count(label) > 1} & set(texts)
        if repeated:
            label = sorted(repeated)[0]
            first = [i for i, x in enumerate(names) if x == label]
            raise UserInputError(
                f"{where.format(place=column.places[texts.index(label)])}: label {label!r} "
                f"names more than one entry ({', '.join(map(str, first))}) of the scenario's "
                f"names{key}; give each a distinct name"
            )
        return np.asarray([index[t] for t in texts], dtype=np.int64)
    codes_allowed = not any(_WHOLE.fullmatch(label.strip()) for label in names)
    if codes_allowed and all(_WHOLE.fullmatch(t) for t in texts):
        codes = np.asarray([int(t) for t in texts], dtype=np.int64)
        bad = np.flatnonzero((codes < 0) | (codes >= len(names)))
        if bad.size:
            i = int(bad[0])
            raise UserInputError(
                f"{where.format(place=column.places[i])}: code {texts[i]} is out of range; "
                f"codes 0-{len(names) - 1} stand for the scenario's names{key} {allowed}"
            )
        return codes
    i = next(i for i, t in enumerate(texts) if t not in index)
    hint = "; use"
    folded = {label.casefold(): label for label in names}
    if texts[i].casefold() in folded:
        hint = f"; did you mean {folded[texts[i].casefold()]!r}? Use"
    elif close := difflib.get_close_matches(texts[i], names, n=1, cutoff=0.6):
        hint = f"; did you mean {close[0]!r}? Use"
    codes_text = f", or codes 0-{len(names) - 1} in every row" if codes_allowed else ""
    raise UserInputError(
        f"{where.format(place=column.places[i])}: label {texts[i]!r} is not among the "
        f"scenario's names {allowed}{key}{hint} one of those labels{codes_text}"
    )


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
    """An extra attribute: integers stay integers, floats floats, labels stay text as written.

    Labels are kept as a text array (not coded), so whatever reads them later (a survey's
    ``sample.csv``, the truth, ``--trait NAME=LABEL``) meets the user's own words.
    """
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
        pass
    try:  # numbers written in a text file stay numbers
        values = np.asarray([float(t) for t in texts], dtype=np.float64)
        if np.all(np.isfinite(values)):
            return values
    except ValueError:
        pass
    return np.asarray(texts, dtype=str)


def _read_nodes_csv(
    path: Path, ids: list[str], labels: Mapping[str, Labels]
) -> dict[str, _RawColumn]:
    _check_file(path)
    pos = {node: i for i, node in enumerate(ids)}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = _read_header(reader, path)
            if "id" not in header:
                like = [h for h in header if _squash(h) in ("id", "ids", "node", "nodeid")]
                hint = f" (rename {like[0]!r} to 'id')" if like else ""
                raise UserInputError(
                    f"{path}: line 1: missing column 'id'{hint}; the header must name an 'id' "
                    f"column and attribute columns (found {header})"
                )
            i_id = header.index("id")
            names = [h for h in header if h != "id"]
            if len(set(header)) != len(header):
                raise UserInputError(f"{path}: line 1: repeated column names in {header}")
            _check_attribute_names(header, labels, f"{path}: line 1: column")
            columns: dict[str, list] = {name: [None] * len(ids) for name in names}
            lines = [""] * len(ids)
            seen = [False] * len(ids)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                where = f"{path}: line {reader.line_num}"
                if len(row) != len(header):
                    raise UserInputError(
                        f"{where}: expected {len(header)} fields as in the header, got {len(row)}"
                    )
                node = row[i_id].strip()
                if not node:
                    raise UserInputError(f"{where}: column 'id' is empty; a node id is required")
                if node not in pos:
                    # A person with no ties: the edge list cannot hold them, this file can.
                    pos[node] = len(ids)
                    ids.append(node)
                    for values in columns.values():
                        values.append(None)
                    lines.append("")
                    seen.append(False)
                i = pos[node]
                if seen[i]:
                    raise UserInputError(f"{where}: column 'id': node {node!r} listed twice")
                seen[i] = True
                lines[i] = f"line {reader.line_num}"
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
    if not all(seen):
        missing = ids[seen.index(False)]
        raise UserInputError(
            f"{path}: column 'id': no row for node {missing!r} ({seen.count(False)} missing); "
            "every node of the graph needs a row"
        )
    return {
        name: _RawColumn(values, lines, str(path), "column") for name, values in columns.items()
    }


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
    attrs: dict[str, _RawColumn] = {}
    keys = sorted({key for _, d in g.nodes(data=True) for key in d})
    places = [f"node {node!r}" for node in ids]
    for key in keys:
        values = [d.get(key) for _, d in g.nodes(data=True)]
        if any(v is None for v in values):
            raise UserInputError(
                f"{path}: node attribute {key!r} is missing on some nodes; "
                "give it on every node or leave it out"
            )
        attrs[key] = _RawColumn(values, places, str(path), "attribute")
    return len(ids), src, dst, w, ids, attrs

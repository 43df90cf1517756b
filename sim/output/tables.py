"""Plain-text tables and JSON documents of results (written by :mod:`sim.output.atomic`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from sim.model.metrics import METRICS

__all__ = [
    "CLIENT_TYPES",
    "dump_json",
    "format_number",
    "groups_rows",
    "groups_table",
    "leaving_line",
    "json_ready",
    "metrics_table",
]

#: The groups of :func:`sim.model.metrics.group_reach` that say what kind of client is reached.
CLIENT_TYPES = ("service_orbit", "mistrust", "depth")


def format_number(x: float) -> str:
    """A number for a table: NaN as '-', large values without decimals."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3f}"


def metrics_table(summary: Mapping[str, Mapping[str, float]]) -> str:
    """A table of each metric's mean and 95% interval."""
    rows = [("metric", "mean", "95% interval")]
    for name in METRICS:
        if name not in summary:
            continue
        s = summary[name]
        ci = f"{format_number(s['ci_low'])} to {format_number(s['ci_high'])}"
        rows.append((name, format_number(s["mean"]), ci))
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def groups_rows(
    groups: Mapping[str, Mapping[str, Mapping[str, Any]]], attrs: tuple[str, ...] = CLIENT_TYPES
) -> list[tuple[str, ...]]:
    """Rows of reach by client type: group, people, and the shares contacted, engaged, linked.

    Args:
        groups: :meth:`sim.ensemble.replicates.EnsembleResult.groups` (each measure a summary
            with ``mean``).
        attrs: the grouping attributes to list, in order.
    """
    rows = []
    for attr in attrs:
        for label, row in groups.get(attr, {}).items():
            rows.append(
                (
                    f"{attr.replace('_', ' ')}: {label}",
                    format_number(row["size"]["mean"]),
                    *(
                        format_number(row[f"{m}_share"]["mean"])
                        for m in ("contacted", "engaged", "linked")
                    ),
                )
            )
    return rows


def groups_table(
    groups: Mapping[str, Mapping[str, Mapping[str, Any]]], attrs: tuple[str, ...] = CLIENT_TYPES
) -> str:
    """A table of who is reached: for each client type, the shares contacted, engaged, linked."""
    rows = [("client type", "people", "contacted", "engaged", "linked")]
    rows += groups_rows(groups, attrs)
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = [
        f"{r[0]:<{widths[0]}}" + "".join(f"  {r[c]:>{widths[c]}}" for c in range(1, 5))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def leaving_line(groups: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One line on why peers left, means over replicates (``groups["peers_left"]``)."""
    left = groups.get("peers_left", {})
    parts = [
        (reason.replace("_", " "), float(m["left"]["mean"]))
        for reason, m in left.items()
        if float(m["left"]["mean"]) > 0
    ]
    total = sum(n for _, n in parts)
    if not parts:
        return "Peers who left: none"
    said = ", ".join(f"{reason} {n:.1f}" for reason, n in parts)
    return f"Peers who left, mean a run: {total:.1f} ({said})"


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump_json(document: Any) -> str:
    """Strict JSON (no NaN) of a results document."""
    return json.dumps(json_ready(document), indent=2, allow_nan=False)

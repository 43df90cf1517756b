"""Plain-text tables and JSON documents of results (written by :mod:`sim.output.files`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from sim.model.metrics import METRICS

__all__ = ["dump_json", "format_number", "json_ready", "metrics_table"]


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

"""Plain-text tables and JSON documents of results."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import UserInputError
from sim.model.metrics import METRICS

__all__ = ["check_writable", "dump_json", "format_number", "json_ready", "metrics_table",
           "write_text_atomic"]


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


def _temp_beside(path: Path, what: str) -> tuple[int, str]:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserInputError(f"{what} {path}: folder {folder} does not exist")
    if path.is_dir():
        raise UserInputError(f"{what} {path}: is a folder; give a file name")
    try:
        return tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise UserInputError(f"{what} {path}: cannot write there ({err.strerror})") from None


def check_writable(path: str | Path, what: str = "--json") -> None:
    """Fail early, before any work, if ``path`` cannot be written; leaves nothing behind.

    Raises:
        UserInputError: the folder does not exist or cannot be written.
    """
    fd, tmp = _temp_beside(Path(path), what)
    os.close(fd)
    os.unlink(tmp)


def write_text_atomic(path: str | Path, text: str, what: str = "--json") -> None:
    """Write ``text`` to ``path`` through a temporary file, so no half-written file is left.

    Raises:
        UserInputError: the folder does not exist or cannot be written.
    """
    path = Path(path)
    fd, tmp = _temp_beside(path, what)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise UserInputError(f"{what} {path}: cannot write there ({err.strerror})") from None


def dump_json(document: Any) -> str:
    """Strict JSON (no NaN) of a results document."""
    return json.dumps(json_ready(document), indent=2, allow_nan=False)

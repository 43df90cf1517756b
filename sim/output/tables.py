"""Plain-text tables and JSON documents of results (written by :mod:`sim.output.atomic`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.model.metrics import METRICS, YEAR_METRICS

__all__ = [
    "CLIENT_TYPES",
    "WEEKS_PER_YEAR",
    "dump_json",
    "format_number",
    "groups_rows",
    "groups_table",
    "history_line",
    "leaving_line",
    "json_ready",
    "metrics_table",
    "people_words",
    "population_size",
    "year_label",
    "years_document",
    "years_table",
]

#: Weeks in a year of results (:data:`sim.model.outreach.WEEKS_PER_YEAR`, not imported from
#: there so that a table is made without numba).
WEEKS_PER_YEAR = 52

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


def year_label(year: Mapping[str, Any]) -> str:
    """A year's column heading: ``year 2``, or ``year 3 (20 weeks)`` for a part year."""
    label = f"year {year['year']}"
    weeks = int(year["weeks"])
    if weeks != WEEKS_PER_YEAR:
        label += f" ({weeks} week{'s' if weeks != 1 else ''})"
    return label


def years_table(years: Sequence[Mapping[str, Any]]) -> str:
    """The measured period year by year: a row per measure, a column per year.

    Each measure takes two lines: the means over replicates, and below them the 95%
    intervals, so that ten years still fit a terminal's width better than ten wide cells.

    Args:
        years: :meth:`sim.ensemble.replicates.EnsembleResult.years` (each measure a summary
            with ``mean``, ``ci_low`` and ``ci_high``).
    """
    header = ("measure", *(year_label(y) for y in years))
    rows: list[tuple[str, ...]] = [header]
    for name in YEAR_METRICS:
        if not all(name in y["metrics"] for y in years):
            continue
        cells = [y["metrics"][name] for y in years]
        rows.append((METRICS[name].title, *(format_number(c["mean"]) for c in cells)))
        rows.append(("", *(_interval(c) for c in cells)))
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    lines = [
        f"{r[0]:<{widths[0]}}" + "".join(f"  {r[c]:>{widths[c]}}" for c in range(1, len(r)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _interval(s: Mapping[str, float]) -> str:
    """'LOW to HIGH', or '-' when the interval cannot be computed."""
    lo, hi = s["ci_low"], s["ci_high"]
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (lo, hi)):
        return "-"
    return f"{format_number(lo)} to {format_number(hi)}"


def years_document(years: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The years for a JSON document, the measures in :data:`~sim.model.metrics.YEAR_METRICS` order.

    ``[{"year": 1, "weeks": 52, "metrics": {NAME: {"mean", "ci_low", "ci_high"}}}, ...]``.
    """
    keep = ("mean", "ci_low", "ci_high")
    return [
        {
            "year": int(y["year"]),
            "weeks": int(y["weeks"]),
            "metrics": {
                name: {k: y["metrics"][name][k] for k in keep}
                for name in YEAR_METRICS
                if name in y["metrics"]
            },
        }
        for y in years
    ]


def population_size(scenario) -> int:
    """People in a scenario's population at the start: ``population.size``, or a graph file's."""
    if scenario.network.generator == "file":
        from sim.model.world import world_size

        return world_size(scenario)
    return int(scenario.population.size)


def people_words(scenario) -> str:
    """The people of a scenario's population, and the dormant ones its world holds besides.

    ``300 people (150 more in the world, dormant until they enter)``: the population is what
    a planner sets (``population.size``); a generated world also holds people who may join
    it later (``population.dormant_per_person``). A graph file's people are all present.
    """
    from sim.model.world import world_size

    world, present = world_size(scenario), population_size(scenario)
    said = f"{present:,} people"
    if world > present:
        said += f" ({world - present:,} more in the world, dormant until they enter)"
    return said


def history_line(history_weeks: int | Mapping[str, int], weeks: int) -> str:
    """One line saying the results are of the measured weeks after a programme's history.

    Args:
        history_weeks: ``run.history_weeks``, or each scenario's by its label (compared
            scenarios may differ in it).
        weeks: the measured weeks (``run.weeks``).

    Returns:
        The line, or "" when no scenario has a history.
    """
    measured = f"the {weeks} measured week{'s' if weeks != 1 else ''}"
    if isinstance(history_weeks, Mapping):
        values = set(history_weeks.values())
        if values == {0}:
            return ""
        if len(values) > 1:
            each = ", ".join(f"{label} {h}" for label, h in history_weeks.items())
            return (
                f"history: results are of {measured} after each programme's history of "
                f"weeks ({each}); the history's own results are not reported"
            )
        history_weeks = values.pop()
    if not history_weeks:
        return ""
    return (
        f"history: results are of {measured} after {history_weeks} weeks of the programme's "
        "history; the history's own results are not reported"
    )


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

"""A comparison of scenarios as text, tables, a JSON document and CSV.

The numbers come from :class:`sim.ensemble.compare.Comparison` (the runs on common random
numbers and their paired differences); this module only says them: the plain-text table and
header of ``outreach compare``, the rows the reports lay out (:mod:`sim.output.reports`), the
``--json`` document and the ``--csv`` table.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from sim.ensemble.compare import SHARED_LUCK, Comparison
from sim.model.metrics import METRICS, YEAR_METRICS
from sim.model.scenario import scenario_to_dict
from sim.output.tables import (
    format_number,
    groups_rows,
    history_line,
    people_words,
    year_label,
    years_document,
)

__all__ = [
    "YEARS_MARK",
    "comparison_csv",
    "comparison_document",
    "comparison_header",
    "comparison_rows",
    "comparison_table",
    "format_interval",
    "format_signed",
    "format_verdict",
    "groups_comparison_rows",
    "groups_comparison_table",
    "years_comparison_rows",
    "years_comparison_table",
]

#: What a star after a year's mean says.
YEARS_MARK = (
    "*: the paired difference to the first scenario in that year is distinguishable (its "
    "95% interval excludes 0)"
)


# --------------------------------------------------------------------------- text table


def format_signed(x: float) -> str:
    """A difference with its sign ('+1.5', '-2', '0')."""
    if x == 0:
        return "0"
    text = format_number(x)
    return "+" + text if isinstance(x, float) and math.isfinite(x) and x > 0 else text


def format_interval(s: dict[str, float], signed: bool = False) -> str:
    """An interval as 'LOW to HIGH' ('-' when it cannot be computed)."""
    fmt = format_signed if signed else format_number
    if not (math.isfinite(s["ci_low"]) and math.isfinite(s["ci_high"])):
        return "-"
    return f"{fmt(s['ci_low'])} to {fmt(s['ci_high'])}"


def format_verdict(d: dict[str, Any]) -> str:
    """Whether a paired difference is distinguishable from zero, in words."""
    if not (math.isfinite(d["ci_low"]) and math.isfinite(d["ci_high"])):
        return "-"
    if d["ci_low"] == d["ci_high"] == d["mean"] == 0.0:
        return "no (identical)"
    return "yes" if d["distinguishable"] else "no"


def comparison_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """Table rows: metric, scenario, mean, interval, difference, its interval, distinguishable."""
    summaries = comparison.summaries()
    diffs = comparison.differences()
    rows = []
    for m in METRICS:
        for i, label in enumerate(comparison.labels):
            s = summaries[label][m]
            row = [m if i == 0 else "", label, format_number(s["mean"]), format_interval(s)]
            if i == 0:
                row += ["(reference)", "", ""]
            else:
                d = diffs[label][m]
                row += [
                    format_signed(d["mean"]),
                    format_interval(d, signed=True),
                    format_verdict(d),
                ]
            rows.append(tuple(row))
    return rows


def comparison_table(comparison: Comparison) -> str:
    """The comparison as a plain-text table, one block of rows per metric."""
    first = comparison.labels[0]
    header = (
        "metric",
        "scenario",
        "mean",
        "95% interval",
        f"diff. to {first}",
        "95% interval",
        "distinguishable",
    )
    rows = [header, *comparison_rows(comparison)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    align = "<<>>>>^"

    def line(r: Sequence[str]) -> str:
        cells = [f"{r[c]:{align[c]}{widths[c]}}" for c in range(len(r))]
        return "  ".join(cells).rstrip()

    out = [line(header), "-" * len(line(header))]
    for r in rows[1:]:
        if r[0] and len(out) > 2:
            out.append("")
        out.append(line(r))
    return "\n".join(out)


def comparison_header(comparison: Comparison, seed_from: str) -> str:
    """Lines saying what ran: scenarios, replicates, weeks, the shared seed and any notes."""
    run = comparison.run
    count = len(comparison.labels)
    lines = [
        f"compared {count} scenario{'s' if count != 1 else ''} on common random numbers: "
        f"{run.replicates} replicates of {run.weeks} weeks each, seed {run.seed} "
        f"({seed_from})"
    ]
    for label, s in zip(comparison.labels, comparison.scenarios, strict=True):
        lines.append(
            f"  {label}: {s.source or '-'}, {people_words(s)}"
            + (f" - {s.description}" if s.description else "")
        )
    history = history_line(comparison.history_weeks(), run.weeks)
    if history:
        lines.append(history)
    lines += [f"note: {n}" for n in comparison.notes]
    lines += SHARED_LUCK
    lines.append(
        "distinguishable: the 95% interval of the paired difference (same replicate, "
        "same random numbers) excludes 0"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- documents


def comparison_document(comparison: Comparison, seed_from: str = "") -> dict[str, Any]:
    """Every number of the comparison as a JSON-ready document (NaN becomes null on dumping)."""
    run = comparison.run
    keep = ("mean", "ci_low", "ci_high", "sd", "n")
    return {
        "seed": run.seed,
        "seed_from": seed_from,
        "replicates": run.replicates,
        "weeks": run.weeks,
        "history_weeks": comparison.history_weeks(),
        "reference": comparison.labels[0],
        "notes": comparison.notes,
        "scenarios": [
            {
                "label": label,
                "name": s.name,
                "file": s.source,
                "description": s.description,
                "settings": scenario_to_dict(s),
            }
            for label, s in zip(comparison.labels, comparison.scenarios, strict=True)
        ],
        "settings_that_differ": comparison.settings_that_differ(),
        "world_differs": bool(comparison.world_keys()),
        "metric_meanings": {m: metric.meaning for m, metric in METRICS.items()},
        "metrics": {
            label: {m: {k: v[k] for k in keep} for m, v in summary.items()}
            for label, summary in comparison.summaries().items()
        },
        "differences": comparison.differences(),
        "years": {label: years_document(y) for label, y in comparison.years().items()},
        "year_differences": comparison.year_differences(),
        "groups": {
            label: r.groups()
            for label, r in zip(comparison.labels, comparison.results, strict=True)
        },
        "weekly": {
            label: r.weekly()
            for label, r in zip(comparison.labels, comparison.results, strict=True)
        },
    }


def years_comparison_rows(
    comparison: Comparison, *, joined: bool = False
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The scenarios year by year: a block per measure, a row per scenario, a column per year.

    A mean is followed by ``*`` when the paired difference to the first scenario in that
    year is distinguishable (:data:`YEARS_MARK`).

    Args:
        comparison: the scenarios run on common random numbers.
        joined: each cell ``MEAN (LOW to HIGH)`` on one row (for a report), rather than the
            means on one row and the intervals on the row below (for a terminal).

    Returns:
        The header and the rows.
    """
    years = comparison.years()
    diffs = comparison.year_differences()
    first = years[comparison.labels[0]]
    header = ("measure", "scenario", *(year_label(y) for y in first))
    rows: list[tuple[str, ...]] = []
    for m in YEAR_METRICS:
        if not all(m in y["metrics"] for y in first):
            continue
        for i, label in enumerate(comparison.labels):
            means, intervals = [], []
            for k, year in enumerate(years[label]):
                s = year["metrics"][m]
                mark = ""
                if i > 0 and diffs[label][k]["metrics"][m]["distinguishable"]:
                    mark = "*"
                means.append(format_number(s["mean"]) + mark)
                intervals.append(format_interval(s))
            name = METRICS[m].title if i == 0 else ""
            if joined:
                pairs = zip(means, intervals, strict=True)
                rows.append((name, label, *(f"{a} ({b})" if b != "-" else a for a, b in pairs)))
            else:
                rows.append((name, label, *means))
                rows.append(("", "", *intervals))
    return header, rows


def years_comparison_table(comparison: Comparison) -> str:
    """:func:`years_comparison_rows` as a plain-text table, a block of rows per measure."""
    header, body = years_comparison_rows(comparison)
    rows = [header, *body]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]

    def line(r: Sequence[str]) -> str:
        # A star stands outside the column, so the digits of marked and unmarked means align.
        cells = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}"]
        for c in range(2, len(r)):
            text = r[c]
            star = text.endswith("*")
            cells.append(f"{text.rstrip('*'):>{widths[c]}}" + ("*" if star else " "))
        return "  ".join(cells).rstrip()

    out = [line(header), "-" * len(line(header))]
    for r in body:
        if r[0] and len(out) > 2:
            out.append("")
        out.append(line(r))
    return "\n".join(out)


def groups_comparison_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """Who each scenario reaches, one row per client type and scenario.

    Each row: the people of that type and the shares contacted, engaged and linked (means
    over replicates).
    """
    per_label = {
        label: groups_rows(r.groups())
        for label, r in zip(comparison.labels, comparison.results, strict=True)
    }
    rows = []
    for j, first in enumerate(per_label[comparison.labels[0]]):
        for i, label in enumerate(comparison.labels):
            row = per_label[label][j]
            rows.append((first[0] if i == 0 else "", label, *row[1:]))
    return rows


def groups_comparison_table(comparison: Comparison) -> str:
    """:func:`groups_comparison_rows` as a plain-text table."""
    rows = [("client type", "scenario", "people", "contacted", "engaged", "linked")]
    rows += groups_comparison_rows(comparison)
    widths = [max(len(r[c]) for r in rows) for c in range(6)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}"
        + "".join(f"  {r[c]:>{widths[c]}}" for c in range(2, 6))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def comparison_csv(comparison: Comparison) -> str:
    """One row per scenario and metric: the summary and the paired difference to the first.

    The last column, ``year``, is empty for the whole measured period. Beyond a year of
    measured weeks, rows for each year's measures (:data:`~sim.model.metrics.YEAR_METRICS`)
    follow, with the year's number there (a part year's rows included).
    """
    from sim.output.tables import WEEKS_PER_YEAR

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "scenario",
            "metric",
            "mean",
            "ci_low",
            "ci_high",
            "n",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "distinguishable",
            "year",
        ]
    )
    summaries = comparison.summaries()
    diffs = comparison.differences()

    def num(x: Any) -> str:
        return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(x)

    def row(label: str, m: str, s: dict[str, Any], d: dict[str, Any] | None, year: str) -> None:
        cells = [label, m, num(s["mean"]), num(s["ci_low"]), num(s["ci_high"]), s["n"]]
        if d is not None:
            cells += [
                num(d["mean"]),
                num(d["ci_low"]),
                num(d["ci_high"]),
                "yes" if d["distinguishable"] else "no",
            ]
        else:
            cells += ["", "", "", ""]
        writer.writerow([*cells, year])

    for label in comparison.labels:
        for m in METRICS:
            row(label, m, summaries[label][m], diffs[label][m] if label in diffs else None, "")
    if comparison.run.weeks > WEEKS_PER_YEAR:
        years, year_diffs = comparison.years(), comparison.year_differences()
        for label in comparison.labels:
            for k, year in enumerate(years[label]):
                for m, s in year["metrics"].items():
                    d = year_diffs[label][k]["metrics"][m] if label in year_diffs else None
                    row(label, m, s, d, str(year["year"]))
    return buf.getvalue()

"""Plots of a comparison: reach over time with 95% bands and the key metrics side by side.

matplotlib is imported inside the functions, with the Agg backend (files only, no display), so
importing this module costs nothing and works on a machine without a screen.
"""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path
from typing import Any

from sim.ensemble.compare import Comparison
from sim.errors import UserInputError
from sim.model.metrics import KEY_METRICS, METRICS
from sim.output.atomic import write_bytes_atomic

__all__ = [
    "PLOT_SUFFIXES",
    "comparison_figure",
    "figure_bytes",
    "metrics_figure",
    "pyplot",
    "reach_figure",
    "save_figure",
]

#: File types ``--plot`` can write.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

#: Weekly series drawn as reach over time, with the title of each panel.
_REACH = (
    ("contacted", "Clients contacted so far"),
    ("engaged", "Clients engaged so far"),
    ("linked", "Clients linked to services so far"),
)


def pyplot():
    """The pyplot module on matplotlib's Agg backend (files only, never a window)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _colours(n: int) -> list[Any]:
    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def _draw_reach(axes, comparison: Comparison) -> None:
    colours = _colours(len(comparison.labels))
    weekly = [r.weekly() for r in comparison.results]
    for ax, (series, title) in zip(axes, _REACH, strict=True):
        for label, w, colour in zip(comparison.labels, weekly, colours, strict=True):
            s = w[series]
            weeks = range(len(s["mean"]))
            low = [
                x if math.isfinite(x) else m for x, m in zip(s["ci_low"], s["mean"], strict=True)
            ]
            high = [
                x if math.isfinite(x) else m for x, m in zip(s["ci_high"], s["mean"], strict=True)
            ]
            ax.fill_between(weeks, low, high, color=colour, alpha=0.25, linewidth=0)
            ax.plot(weeks, s["mean"], color=colour, linewidth=2, label=label)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("week")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    # The weeks series begin at the programme's start: its history, whose results are not
    # reported, is shaded (a scenario's own length of history where they differ).
    histories = sorted({s.run.history_weeks for s in comparison.scenarios} - {0})
    for ax in axes:
        for h in histories:
            ax.axvspan(0, h, color="#999999", alpha=0.15, linewidth=0, zorder=0)
    if histories:
        axes[0].annotate(
            "history",
            (histories[0] / 2, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    axes[0].set_ylabel("clients (mean, 95% band)")
    axes[0].legend(loc="upper left", fontsize=9, frameon=False)


#: Font size of the metric panels' titles, in points.
_METRIC_TITLE_SIZE = 11


def _title_chars(axes) -> int:
    """Characters of a metric panel's title that fit on one line above the panel.

    The panels of a row share the figure's width; a title wider than its panel would run
    into its neighbour's ("Clients linked to services" into "Share outside the orbit
    contacted"), so titles are wrapped at this width instead. A character of the default
    sans-serif font is taken as 0.6 of the font size, and a panel as 80% of its share of the
    width (the rest is the gap between panels and the labels on the left).
    """
    fig = axes[0].figure
    panel_inches = 0.8 * fig.get_figwidth() / len(axes)
    return max(10, int(panel_inches * 72 / (0.6 * _METRIC_TITLE_SIZE)))


def _draw_metrics(axes, comparison: Comparison) -> None:
    colours = _colours(len(comparison.labels))
    summaries = comparison.summaries()
    diffs = comparison.differences()
    n = len(comparison.labels)
    chars = _title_chars(axes)
    for ax, metric in zip(axes, KEY_METRICS, strict=True):
        for i, (label, colour) in enumerate(zip(comparison.labels, colours, strict=True)):
            s = summaries[label][metric]
            y = n - 1 - i  # the first scenario on top
            if not math.isfinite(s["mean"]):
                continue
            lo = s["ci_low"] if math.isfinite(s["ci_low"]) else s["mean"]
            hi = s["ci_high"] if math.isfinite(s["ci_high"]) else s["mean"]
            ax.barh(y, s["mean"], color=colour, alpha=0.35, height=0.6)
            ax.errorbar(
                s["mean"],
                y,
                xerr=[[s["mean"] - lo], [hi - s["mean"]]],
                fmt="o",
                color=colour,
                ecolor="black",
                capsize=4,
                markersize=6,
            )
            if label in diffs and diffs[label][metric]["distinguishable"]:
                ax.annotate(
                    "*",
                    (hi, y),
                    xytext=(4, -2),
                    textcoords="offset points",
                    fontsize=14,
                    fontweight="bold",
                )
        ax.set_yticks(range(n))
        ax.set_yticklabels(list(reversed(comparison.labels)) if ax is axes[0] else [""] * n)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlim(left=0)
        ax.margins(x=0.15)
        ax.set_title(textwrap.fill(METRICS[metric].title, chars), fontsize=_METRIC_TITLE_SIZE)
        ax.grid(axis="x", alpha=0.3)


def _footnote(fig, comparison: Comparison) -> None:
    run = comparison.run
    histories = {s.run.history_weeks for s in comparison.scenarios}
    after = ""
    if histories != {0}:
        weeks = " or ".join(str(h) for h in sorted(histories))
        after = f" after {weeks} weeks of history (shaded)"
    fig.text(
        0.01,
        0.005,
        f"{run.replicates} replicates of {run.weeks} weeks{after}, seed {run.seed}, common random "
        f"numbers. Bars and bands: mean and 95% interval. * differs from "
        f"{comparison.labels[0]} (paired 95% interval excludes 0).",
        fontsize=8,
        color="0.3",
        ha="left",
        va="bottom",
    )


def reach_figure(comparison: Comparison):
    """Contacted, engaged and linked clients week by week, one line and band per scenario."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    _draw_reach(list(axes), comparison)
    fig.get_layout_engine().set(h_pad=0.25)
    _footnote(fig, comparison)
    return fig


def metrics_figure(comparison: Comparison):
    """The key metrics side by side: each scenario's mean and 95% interval."""
    plt = pyplot()
    height = 1.6 + 0.45 * len(comparison.labels)
    fig, axes = plt.subplots(1, len(KEY_METRICS), figsize=(15, height), layout="constrained")
    _draw_metrics(list(axes), comparison)
    fig.get_layout_engine().set(h_pad=0.25)
    _footnote(fig, comparison)
    return fig


def comparison_figure(comparison: Comparison):
    """Reach over time (top row) and the key metrics side by side (bottom row) in one figure."""
    plt = pyplot()
    n = len(comparison.labels)
    fig = plt.figure(figsize=(15, 6.5 + 0.35 * n), layout="constrained")
    k = len(KEY_METRICS)  # the top row's three panels and the bottom row's k share the width
    grid = fig.add_gridspec(2, 3 * k, height_ratios=[3, 1.2 + 0.3 * n])
    top = [fig.add_subplot(grid[0, k * i : k * i + k]) for i in range(3)]
    bottom = [fig.add_subplot(grid[1, 3 * i : 3 * i + 3]) for i in range(k)]
    _draw_reach(top, comparison)
    _draw_metrics(bottom, comparison)
    names = " vs ".join(comparison.labels)
    fig.suptitle(f"Comparison: {names}", fontsize=13, fontweight="bold")
    fig.get_layout_engine().set(h_pad=0.25)
    _footnote(fig, comparison)
    return fig


def figure_bytes(fig, fmt: str = "png", dpi: int = 110, tight: bool = False) -> bytes:
    """The figure as an image file's bytes; closes the figure.

    Args:
        fig: a matplotlib figure.
        fmt: the image format (``png``, ``svg``, ``pdf``).
        dpi: resolution of raster formats.
        tight: crop the figure to what is drawn (for figures without a layout engine).
    """
    plt = pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_figure(fig, path: str | Path, what: str = "--plot") -> None:
    """Write the figure to ``path`` through a temporary file, so no half-written image is left.

    Raises:
        UserInputError: an unsupported file type, or a folder that cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise UserInputError(f"{what} {path}: must end in " + ", ".join(PLOT_SUFFIXES))
    write_bytes_atomic(path, figure_bytes(fig, suffix[1:]), what)

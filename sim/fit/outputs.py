"""Files a fit or a search writes: scenarios (TOML), trial tables (CSV) and figures.

Every file is written through a temporary file beside it (:mod:`sim.output.atomic`), so an
interrupted command leaves whole files or none.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.output.atomic import write_text_atomic

__all__ = ["scenario_toml", "write_csv", "write_figure"]


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} in TOML")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def scenario_toml(
    data: Mapping[str, Any], header: Sequence[str], notes: Mapping[str, str] | None = None
) -> str:
    """A scenario's tables as a TOML document, with comment lines on top and beside keys.

    Args:
        data: the scenario as plain tables (:func:`sim.model.scenario.scenario_to_dict`).
        header: comment lines for the top of the file (without ``#``).
        notes: a comment for some dotted keys, written at the end of their line.
    """
    notes = notes or {}
    lines = [f"# {h}".rstrip() for h in header]
    lines.append("")

    def scalars(table: Mapping[str, Any], prefix: str) -> None:
        for k, v in table.items():
            if isinstance(v, Mapping) or (isinstance(v, list) and v and isinstance(v[0], Mapping)):
                continue
            note = notes.get(prefix + k)
            lines.append(f"{_key(k)} = {_value(v)}" + (f"  # {note}" if note else ""))

    def tables(table: Mapping[str, Any], prefix: str) -> None:
        for k, v in table.items():
            path = prefix + k
            if isinstance(v, Mapping):
                header_path = ".".join(_key(p) for p in path.split("."))
                if any(not isinstance(x, Mapping) for x in v.values()):
                    lines.append(f"\n[{header_path}]")
                    scalars(v, path + ".")
                tables(v, path + ".")
            elif isinstance(v, list) and v and isinstance(v[0], Mapping):
                header_path = ".".join(_key(p) for p in path.split("."))
                for i, item in enumerate(v):
                    lines.append(f"\n[[{header_path}]]")
                    scalars(item, f"{path}.{i}.")

    scalars(data, "")
    tables(data, "")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Rows as CSV (missing cells empty), written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _cell(v) for k, v in row.items()})
    write_text_atomic(path, buf.getvalue(), "--out")


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def write_figure(fig, path: Path) -> None:
    """Save a matplotlib figure atomically (PNG)."""
    from sim.output.plots import save_figure

    save_figure(fig, path, "--out")


def fit_figure(targets, runs: np.ndarray, intervals, title: str, posterior_band=None):
    """Each target's observed figure (with 2 sd) beside the fitted model's runs.

    Targets of one weekly series share a panel, drawn over the weeks; every other target has
    its own panel. An effect target (a paired contrast) is drawn as any other figure, its
    model bar the 95% confidence interval of the mean paired difference.

    Args:
        targets: the :class:`sim.fit.spec.Target` list.
        runs: the fitted model's values, run x target (an effect's: paired differences).
        intervals: (low, high) per target, the model's bar
            (:func:`sim.fit.calibrate.target_intervals`).
        title: the figure's title.
        posterior_band: optional (low, high) per target: the posterior's 90% predictive
            interval of the mean, drawn as a grey bar.
    """
    from sim.output.plots import pyplot

    plt = pyplot()
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        name = t.name
        key = name.split("[")[0] if name.endswith("]") and "[" in name else f"#{i}"
        groups.setdefault(key, []).append(i)
    n = len(groups)
    cols = min(3, n)
    rows_n = math.ceil(n / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.2 * rows_n), squeeze=False)
    mean = np.nanmean(runs, axis=0)
    lo, hi = (np.asarray(x, dtype=float) for x in intervals)
    for ax, (key, idx) in zip(axes.flat, groups.items(), strict=False):
        if not key.startswith("#"):  # a weekly series: over the weeks
            weeks = [int(targets[i].name.split("[")[1].rstrip("]")) for i in idx]
            ax.fill_between(
                weeks, lo[idx], hi[idx], color="C0", alpha=0.25, label="model, 95% of runs"
            )
            ax.plot(weeks, mean[idx], color="C0", label="model mean")
            ax.errorbar(
                weeks,
                [targets[i].value for i in idx],
                yerr=[2 * targets[i].sd for i in idx],
                fmt="o",
                color="C3",
                label="observed ± 2 sd",
            )
            ax.set_xlabel("week")
            ax.set_title(key, fontsize=10)
        else:
            i = idx[0]
            t = targets[i]
            ax.errorbar(
                [0],
                [t.value],
                yerr=[2 * t.sd],
                fmt="o",
                color="C3",
                capsize=6,
                label="observed ± 2 sd",
            )
            ax.errorbar(
                [1],
                [mean[i]],
                yerr=[[mean[i] - lo[i]], [hi[i] - mean[i]]],
                fmt="s",
                color="C0",
                capsize=6,
                label="model: mean, 95% of runs",
            )
            if posterior_band is not None:
                plo, phi = posterior_band[i]
                ax.errorbar(
                    [2],
                    [(plo + phi) / 2],
                    yerr=[[(phi - plo) / 2]],
                    fmt="none",
                    color="0.4",
                    capsize=6,
                    lw=3,
                    label="posterior, 90%",
                )
            ax.set_xticks([0, 1] + ([2] if posterior_band is not None else []))
            ax.set_xticklabels(
                ["observed", "fit"] + (["posterior"] if posterior_band is not None else [])
            )
            ax.set_xlim(-0.6, 2.6 if posterior_band is not None else 1.6)
            title_text = _wrap(t.name)
            if t.contrast is not None:
                # The effect's bar is an interval of the mean, not of the runs: said on the panel.
                title_text += "\n(effect: to - from; model bar 95% CI of the paired mean)"
            ax.set_title(title_text, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    return fig


def _wrap(text: str, width: int = 40) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines)


def pairs_figure(names: Sequence[str], draws: np.ndarray, weights: np.ndarray, title: str):
    """A pair plot of the posterior: weighted histograms on the diagonal, draws below.

    Args:
        names: parameter keys.
        draws: draw x parameter (numbers).
        weights: the draws' normalised weights.
        title: the figure's title.
    """
    from sim.output.plots import pyplot

    plt = pyplot()
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k + 1, 2.6 * k + 0.6), squeeze=False)
    order = np.argsort(weights)
    size = 4 + 60 * weights[order] / max(weights.max(), 1e-300)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if i == j:
                ax.hist(draws[:, i], bins=20, weights=weights, color="C0")
                ax.set_yticks([])
            elif i > j:
                ax.scatter(
                    draws[order, j],
                    draws[order, i],
                    s=size,
                    c=weights[order],
                    cmap="viridis",
                    linewidths=0,
                )
            else:
                ax.set_visible(False)
                continue
            if i == k - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def pareto_figure(
    points: np.ndarray,
    feasible: np.ndarray,
    front: np.ndarray,
    labels: Sequence[str],
    title: str,
    marks: Mapping[str, Sequence[float]],
):
    """The trials on the first two objectives: feasible, infeasible, the Pareto front.

    Args:
        points: trial x objective (the first two are drawn).
        feasible: which trials meet the constraints.
        front: indices of the Pareto front's trials.
        labels: the objectives' axis labels.
        title: the figure's title.
        marks: other policies to mark (name -> objective values), e.g. the base scenario.
    """
    from sim.output.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(
        points[~feasible, 0],
        points[~feasible, 1],
        s=12,
        color="0.75",
        label="trials beyond the constraints",
    )
    ax.scatter(
        points[feasible, 0],
        points[feasible, 1],
        s=14,
        color="C0",
        alpha=0.6,
        label="feasible trials",
    )
    if len(front):
        f = points[front]
        o = np.argsort(f[:, 0])
        ax.plot(f[o, 0], f[o, 1], "-o", color="C3", label="Pareto front")
    for i, (name, xy) in enumerate(marks.items()):
        ax.scatter(
            [xy[0]],
            [xy[1]],
            marker="*",
            s=160,
            color=f"C{(i + 4) % 10}",
            edgecolors="k",
            label=name,
            zorder=5,
        )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig

"""Analysis of a stored sweep: summaries per point, Sobol indices, heatmaps and scatter plots.

- Every design: each point's mean of each metric over its replicates, with the Student-t 95%
  interval of the mean (``summary.csv``).
- Sobol designs: first-order and total sensitivity indices with 95% bootstrap confidence
  intervals (Sobol' 2001; Saltelli et al. 2010, the estimators SALib implements), computed
  from the points' means (``sobol_indices.csv``, ``sobol_indices.png``). A first-order index
  is the share of the output's variance explained by one parameter alone; a total index adds
  its interactions with all the others.
- Grids: a heatmap of each metric over two parameters, averaged over the others
  (``heatmap_<metric>.png``); one parameter: the metric against it with 95% intervals.
- Latin-hypercube and Sobol designs: each metric's point means against each parameter
  (``scatter_<metric>.png``), the shape behind the indices.

Heavy imports (pandas, SALib, matplotlib) happen inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import UserInputError

__all__ = ["analyze_store", "point_summary", "sobol_indices"]


def point_summary(runs, keys: Sequence[str], metrics: Sequence[str]):
    """Each point's parameters and, per metric, mean, 95% interval and number of runs.

    Args:
        runs: one row per run (a pandas DataFrame with ``point``, the keys and the metrics).
        keys: the varied dotted keys.
        metrics: the metrics to summarise.

    Returns:
        A DataFrame, one row per point present, sorted by point; columns ``point``, the keys,
        ``replicates``, then ``<metric>_mean``, ``<metric>_ci_low``, ``<metric>_ci_high``.
    """
    import pandas as pd

    from sim.model.metrics import interval

    rows = []
    for point, group in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": int(point)}
        first = group.iloc[0]
        row.update({k: first[k] for k in keys})
        row["replicates"] = len(group)
        for m in metrics:
            s = interval(group[m].to_numpy())
            row[f"{m}_mean"] = s["mean"]
            row[f"{m}_ci_low"] = s["ci_low"]
            row[f"{m}_ci_high"] = s["ci_high"]
        rows.append(row)
    columns = ["point", *keys, "replicates"] + [
        f"{m}_{s}" for m in metrics for s in ("mean", "ci_low", "ci_high")
    ]
    return pd.DataFrame(rows, columns=columns)


def sobol_indices(design, y, *, seed: int = 0, num_resamples: int = 1000) -> dict[str, Any]:
    """First-order, total (and second-order) Sobol indices with 95% confidence intervals.

    Args:
        design: a Sobol :class:`sim.sweep.design.Design` (its points in SALib's order).
        y: the output at every point, in point order.
        seed: seed of the bootstrap.
        num_resamples: bootstrap resamples for the intervals.

    Returns:
        SALib's result: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (one value per key; ``_conf``
        is the half-width of the 95% interval), and ``S2``, ``S2_conf`` with second order.

    Raises:
        UserInputError: not a Sobol design, missing points, or non-finite outputs.
    """
    import numpy as np
    from SALib.analyze import sobol

    from sim.sweep.design import sobol_problem

    if design.kind != "sobol":
        raise UserInputError(f"Sobol indices need a Sobol design, not {design.kind!r}")
    y = np.asarray(y, dtype=float)
    if y.shape != (len(design.points),):
        raise UserInputError(
            f"Sobol indices need an output at every one of the "
            f"{len(design.points):,} points (got {y.size:,})"
        )
    if not np.all(np.isfinite(y)):
        raise UserInputError(
            f"Sobol indices need a finite output at every point "
            f"({int(np.sum(~np.isfinite(y)))} are not)"
        )
    problem = sobol_problem(design.keys, design.bounds)
    return sobol.analyze(
        problem,
        y,
        calc_second_order=design.second_order,
        num_resamples=num_resamples,
        conf_level=0.95,
        seed=seed,
    )


#: How a message names a table or figure that analyze writes.
_WRITTEN = "analysis file"


def _pyplot():
    from sim.output.plots import pyplot

    return pyplot()


def _save(fig, path: Path, dpi: int = 120) -> None:
    """Write the figure as PNG, atomically, and close it."""
    from sim.output.atomic import write_bytes_atomic
    from sim.output.plots import figure_bytes

    write_bytes_atomic(path, figure_bytes(fig, "png", dpi=dpi, tight=True), _WRITTEN)


def _label(metric: str) -> str:
    """A metric's title and unit for an axis; its name when the table does not know it."""
    from sim.model.metrics import METRICS

    return METRICS[metric].axis_label if metric in METRICS else metric


def _title(metric: str) -> str:
    from sim.model.metrics import METRICS

    return METRICS[metric].title if metric in METRICS else metric


def _short(key: str) -> str:
    """The last two parts of a dotted key (``close_peers.count``), which tell kinds apart."""
    return ".".join(key.split(".")[-2:])


def _sobol_figure(table, metrics: Sequence[str], keys: Sequence[str], title: str, path: Path):
    import numpy as np

    plt = _pyplot()
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(4.6 * len(metrics) + 1.4, 0.45 * len(keys) + 1.6),
        sharey=True,
        squeeze=False,
    )
    ypos = np.arange(len(keys))
    for ax, m in zip(axes[0], metrics, strict=True):
        t = table[table["metric"] == m].set_index("parameter").reindex(keys)
        ax.barh(
            ypos - 0.2,
            t["S1"],
            height=0.38,
            xerr=t["S1_conf"],
            color="#4c72b0",
            label="first order $S_1$",
            capsize=2,
        )
        ax.barh(
            ypos + 0.2,
            t["ST"],
            height=0.38,
            xerr=t["ST_conf"],
            color="#dd8452",
            label="total $S_T$",
            capsize=2,
        )
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(_title(m), fontsize=10)
        ax.set_xlabel("share of output variance")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(ypos, list(keys))
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def _scatter_figure(summary, keys: Sequence[str], metric: str, title: str, path: Path):
    import numpy as np

    plt = _pyplot()
    cols = min(4, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), sharey=True, squeeze=False
    )
    y = summary[f"{metric}_mean"].to_numpy(dtype=float)
    for ax, key in zip(axes.flat, keys, strict=False):
        x = summary[key].to_numpy(dtype=float)
        ax.scatter(x, y, s=5, alpha=0.3, color="#4c72b0", lw=0, rasterized=True)
        # The mean in ten bins of the parameter: the trend the indices summarise.
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
        if edges.size > 2:
            which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
            centres = [x[which == b].mean() for b in range(edges.size - 1) if np.any(which == b)]
            means = [np.nanmean(y[which == b]) for b in range(edges.size - 1) if np.any(which == b)]
            ax.plot(centres, means, color="#c44e52", lw=2)
        ax.set_xlabel(_short(key), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    for r in range(rows):
        axes[r][0].set_ylabel(_label(metric), fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, path, dpi=90)


def _grid_figure(
    summary, keys: Sequence[str], metric: str, pair: Sequence[str] | None, title: str, path: Path
):
    import numpy as np

    plt = _pyplot()
    col = f"{metric}_mean"
    if len(keys) == 1:
        key = keys[0]
        s = summary.sort_values(key)
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        x = np.arange(len(s)) if s[key].dtype == object else s[key].to_numpy()
        ax.plot(x, s[col], marker="o", color="#4c72b0")
        ax.fill_between(
            x,
            s[f"{metric}_ci_low"],
            s[f"{metric}_ci_high"],
            alpha=0.25,
            color="#4c72b0",
            label="95% interval",
        )
        if s[key].dtype == object:
            ax.set_xticks(x, s[key])
        ax.set_xlabel(key)
        ax.set_ylabel(_label(metric))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=11)
        _save(fig, path)
        return
    xkey, ykey = pair if pair else keys[:2]
    table = summary.groupby([ykey, xkey], sort=False)[col].mean().unstack(xkey)
    xs = list(dict.fromkeys(summary[xkey]))
    ys = list(dict.fromkeys(summary[ykey]))
    if all(isinstance(v, (int, float)) for v in xs):
        xs = sorted(xs)
    if all(isinstance(v, (int, float)) for v in ys):
        ys = sorted(ys)
    table = table.reindex(index=ys, columns=xs)
    fig, ax = plt.subplots(figsize=(1.0 * len(xs) + 2.8, 0.6 * len(ys) + 2.0))
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys])
    ax.set_xlabel(xkey)
    ax.set_ylabel(ykey)
    finite = values[np.isfinite(values)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.3g}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if v > mid else "white",
            )
    fig.colorbar(image, ax=ax, label=_label(metric))
    others = [k for k in keys if k not in (xkey, ykey)]
    ax.set_title(title + (f"\n(mean over {', '.join(others)})" if others else ""), fontsize=10)
    _save(fig, path)


def analyze_store(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    metrics: Sequence[str] | None = None,
    pair: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Analyse a stored sweep and write its tables (CSV) and figures (PNG).

    Args:
        folder: the sweep folder.
        out: where to write (default ``folder/analysis``; created if missing).
        metrics: metrics to analyse (default: all the sweep kept).
        pair: grids: the two keys of the heatmaps (x, y) (default: the first two).

    Returns:
        ``{"files": [...], "summary": DataFrame, "indices": DataFrame or None,
        "notes": [...], "runs_done", "runs_total"}``.

    Raises:
        UserInputError: not a sweep folder, no runs yet, an unknown metric or key.
    """
    import pandas as pd

    from sim.output.atomic import write_text_atomic
    from sim.sweep.design import Design
    from sim.sweep.store import Store

    store = Store.open(folder)
    design = Design.from_dict(store.manifest["design"])
    keys = list(design.keys)
    kept = store.metrics
    metrics = list(metrics) if metrics else kept
    for m in metrics:
        if m not in kept:
            raise UserInputError(
                f"--metric {m}: not kept by this sweep; it kept: " + ", ".join(kept)
            )
    if pair:
        for k in pair:
            if k not in keys:
                raise UserInputError(
                    f"--pair {k}: not a parameter of this sweep; they are: " + ", ".join(keys)
                )
        if pair[0] == pair[1]:
            raise UserInputError(f"--pair {pair[0]} {pair[1]}: give two different parameters")
    runs = store.runs()
    if runs.empty:
        raise UserInputError(f"{folder}: no runs stored yet; run the sweep first")
    # Messages name the option that chose the folder, or say it is the sweep's own.
    what = "--analysis-dir" if out is not None else "analysis folder"
    out = Path(out) if out is not None else Path(folder) / "analysis"
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{what} {out}: is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        in_way = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        if in_way is not None:
            raise UserInputError(f"{what} {out}: {in_way} is a file, not a folder") from None
        raise UserInputError(f"{what} {out}: cannot create the folder ({err.strerror})") from None
    name = store.manifest.get("name", "sweep")
    files: list[Path] = []
    notes: list[str] = []
    summary = point_summary(runs, keys, metrics)
    write_text_atomic(out / "summary.csv", summary.to_csv(index=False), _WRITTEN)
    files.append(out / "summary.csv")
    n_points = len(design.points)
    reps = int(store.manifest["replicates"])
    complete = len(summary) == n_points and bool((summary["replicates"] >= reps).all())
    if not complete:
        notes.append(
            f"the sweep is incomplete: {len(runs):,} of {n_points * reps:,} runs; "
            "summaries cover the runs stored"
        )
    indices = None
    if design.kind == "sobol":
        if len(summary) < n_points:
            notes.append(
                f"Sobol indices need every point: {len(summary):,} of {n_points:,} "
                "have runs; run the sweep to the end"
            )
        else:
            rows = []
            for m in metrics:
                try:
                    si = sobol_indices(
                        design,
                        summary[f"{m}_mean"].to_numpy(),
                        seed=int(store.manifest["seed"]) % 2**32,
                    )
                except UserInputError as err:
                    notes.append(f"{m}: no Sobol indices: {err}")
                    continue
                for j, key in enumerate(keys):
                    rows.append(
                        {
                            "metric": m,
                            "parameter": key,
                            "S1": si["S1"][j],
                            "S1_conf": si["S1_conf"][j],
                            "ST": si["ST"][j],
                            "ST_conf": si["ST_conf"][j],
                        }
                    )
            indices = pd.DataFrame(
                rows, columns=["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
            )
            write_text_atomic(out / "sobol_indices.csv", indices.to_csv(index=False), _WRITTEN)
            files.append(out / "sobol_indices.csv")
            done = [m for m in metrics if m in set(indices["metric"])]
            if done:
                _sobol_figure(
                    indices,
                    done,
                    keys,
                    f"{name}: Sobol sensitivity indices (95% intervals)",
                    out / "sobol_indices.png",
                )
                files.append(out / "sobol_indices.png")
    if design.kind in ("lhs", "sobol"):
        numeric = [k for k in keys if pd.api.types.is_numeric_dtype(summary[k])]
        for m in metrics:
            path = out / f"scatter_{m}.png"
            _scatter_figure(summary, numeric, m, f"{name}: {_title(m)} (mean per point)", path)
            files.append(path)
    if design.kind == "grid":
        for m in metrics:
            path = out / f"heatmap_{m}.png"
            _grid_figure(summary, keys, m, pair, f"{name}: {_title(m)}", path)
            files.append(path)
    return {
        "files": files,
        "summary": summary,
        "indices": indices,
        "notes": notes,
        "runs_done": len(runs),
        "runs_total": n_points * reps,
    }

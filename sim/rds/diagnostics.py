"""Recruitment diagnostics of a respondent-driven sample, and the estimators' plot over replicates.

The diagnostics researchers run before trusting an RDS estimate (Gile, Johnston & Salganik
2015, "Diagnostics for respondent-driven sampling", JRSS A 178:241):

- **wave composition**: the share of a trait in each wave, beside the equilibrium the
  recruitment chain tends to (the stationary distribution of its transition matrix; Heckathorn
  1997) and the truth. Far from the equilibrium after a few waves, the seeds still weigh.
- **recruitment homophily**: Heckathorn's (2002, "Respondent-driven sampling II", Social
  Problems 49:11) ``H_k = (S_kk - P_k) / (1 - P_k)`` when recruiters of category k recruit
  their own more often than the population share ``P_k`` (RDS-I estimate), else
  ``(S_kk - P_k) / P_k``: 0 is recruitment at random, 1 only within, -1 only across.
- **convergence**: the RDS-II estimate of the respondents so far, in recruitment order; it
  should settle long before the sample ends.
- **bottleneck**: the same within each seed's chain; chains settling at different values
  mean the network has parts recruitment hardly crosses.

matplotlib is imported inside the functions with the Agg backend (files only).
"""

from __future__ import annotations

import numpy as np

from sim.rds import estimators as est

__all__ = [
    "bottleneck_figure",
    "convergence_figure",
    "cumulative_vh",
    "estimators_figure",
    "homophily",
    "wave_composition",
    "waves_figure",
]


def wave_composition(y: np.ndarray, wave: np.ndarray, k: int) -> np.ndarray:
    """Respondents of each category in each wave: a ``(waves, k)`` array of counts."""
    counts = np.zeros((int(wave.max()) + 1, k))
    np.add.at(counts, (wave, y), 1.0)
    return counts


def equilibrium(y: np.ndarray, recruiter: np.ndarray, k: int) -> np.ndarray:
    """The sample composition recruitment tends to: the stationary distribution of its chain.

    The chain is over the categories in the sample (others get 0); a category whose members
    recruited no one recruits as the sample's recruits do overall (the column totals, as R's
    Salganik bootstrap fills such a row). NaN without any recruitment (a sample of seeds
    only has no chain), or when recruitment never leaves one of several groups of categories
    (more than one closed class: no unique equilibrium).
    """
    present = np.flatnonzero(np.bincount(y, minlength=k) > 0)
    code = np.full(k, -1)
    code[present] = np.arange(present.size)
    t = est.transitions(code[y], recruiter, present.size)
    out = np.zeros(k)
    if t.sum() == 0:
        return np.full(k, np.nan)
    t[t.sum(axis=1) == 0] = t.sum(axis=0)
    out[present] = est.stationary(t / t.sum(axis=1, keepdims=True))
    return out


def homophily(
    y: np.ndarray, degree: np.ndarray, recruiter: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Heckathorn's recruitment homophily of each category, and the transition proportions.

    Returns:
        ``(h, s)``: ``h[k]`` (NaN for a category that recruited no one) and the row-normalised
        transition matrix ``s``.
    """
    t = est.transitions(y, recruiter, k)
    rows = t.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = t / rows
    p = est.rds1(y, degree, recruiter, k)
    own = np.diag(s)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(own >= p, (own - p) / (1 - p), (own - p) / p)
    return h, s


def cumulative_vh(y: np.ndarray, degree: np.ndarray, code: int) -> np.ndarray:
    """RDS-II estimate of category ``code``'s share among the first 1, 2, ... respondents."""
    inv = 1.0 / np.where(degree > 0, degree, 1)
    return np.cumsum(inv * (y == code)) / np.cumsum(inv)


def _plt():
    from sim.output.plots import pyplot

    return pyplot()


def waves_figure(
    y: np.ndarray,
    wave: np.ndarray,
    recruiter: np.ndarray,
    k: int,
    code: int,
    shown: str,
    truth: float,
):
    """Share of ``code`` in each wave, with the recruitment equilibrium and the truth."""
    plt = _plt()
    counts = wave_composition(y, wave, k)
    n = counts.sum(axis=1)
    share = np.divide(counts[:, code], n, out=np.full(n.shape, np.nan), where=n > 0)
    eq = equilibrium(y, recruiter, k)[code]
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    waves = np.arange(counts.shape[0])
    ax.plot(waves, share, "o-", color="tab:blue", label="share in the wave")
    for w, m in zip(waves, n, strict=True):
        ax.annotate(
            f"{int(m)}",
            (w, share[w]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=7,
            color="grey",
        )
    if np.isfinite(eq):
        ax.axhline(eq, ls="--", color="tab:orange", label=f"recruitment equilibrium {eq:.3f}")
    ax.axhline(truth, ls=":", color="black", label=f"population truth {truth:.3f}")
    ax.set_xlabel("wave (numbers: respondents in the wave)")
    ax.set_ylabel(f"share {shown}")
    ax.set_ylim(0, 1)
    ax.set_title("Wave-by-wave composition")
    ax.legend(fontsize=8)
    return fig


def convergence_figure(y: np.ndarray, degree: np.ndarray, code: int, shown: str, truth: float):
    """RDS-II and naive estimates of the respondents so far, in recruitment order."""
    plt = _plt()
    order = np.arange(1, y.size + 1)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.plot(order, cumulative_vh(y, degree, code), color="tab:blue", label="RDS-II so far")
    ax.plot(
        order, np.cumsum(y == code) / order, color="tab:grey", lw=0.8, label="naive share so far"
    )
    ax.axhline(truth, ls=":", color="black", label=f"population truth {truth:.3f}")
    ax.set_xlabel("respondents, in recruitment order")
    ax.set_ylabel(f"share {shown}")
    ax.set_ylim(0, 1)
    ax.set_title("Convergence")
    ax.legend(fontsize=8)
    return fig


def bottleneck_figure(
    y: np.ndarray,
    degree: np.ndarray,
    seed: np.ndarray,
    code: int,
    shown: str,
    truth: float,
    min_size: int = 5,
):
    """RDS-II estimate within each seed's chain (chains of ``min_size`` or more)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    drawn = 0
    for s in np.unique(seed):
        rows = np.flatnonzero(seed == s)
        if rows.size < min_size:
            continue
        ax.plot(np.arange(1, rows.size + 1), cumulative_vh(y[rows], degree[rows], code), lw=1)
        drawn += 1
    ax.axhline(truth, ls=":", color="black", label=f"population truth {truth:.3f}")
    ax.set_xlabel("respondents of the chain, in recruitment order")
    ax.set_ylabel(f"share {shown}")
    ax.set_ylim(0, 1)
    ax.set_title(f"Bottlenecks: RDS-II within each seed's chain ({drawn} chains of {min_size}+)")
    ax.legend(fontsize=8)
    return fig


def estimators_figure(rows, table, quantities: list[str]):
    """Each estimator's estimates over replicates, the truth, and bias, RMSE and coverage.

    Args:
        rows: :class:`sim.rds.analysis.Row` of every replicate.
        table: ``(quantity, estimator) -> summary`` from :func:`sim.rds.analysis.evaluate`.
        quantities: the quantities to draw, one panel each.
    """
    plt = _plt()
    fig, axes = plt.subplots(
        len(quantities), 1, figsize=(8, 3.2 * len(quantities)), layout="constrained", squeeze=False
    )
    rng = np.random.default_rng(0)  # jitter of the points only
    for ax, quantity in zip(axes[:, 0], quantities, strict=True):
        names = [e for (q, e) in table if q == quantity]
        truth = next(r.truth for r in rows if r.quantity == quantity)
        for i, name in enumerate(names):
            vals = np.array(
                [r.estimate for r in rows if r.quantity == quantity and r.estimator == name]
            )
            vals = vals[np.isfinite(vals)]
            ax.scatter(i + rng.uniform(-0.15, 0.15, vals.size), vals, s=8, alpha=0.5)
            summary = table[(quantity, name)]
            ax.annotate(
                f"bias {summary['bias']:+.3g}\nRMSE {summary['rmse']:.3g}\n"
                f"coverage {summary['coverage']:.2f}",
                (i, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -4),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=7,
            )
        ax.axhline(truth, ls=":", color="black", label=f"truth {truth:,.4g}")
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_title(quantity, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.45 * (hi - lo))
    return fig

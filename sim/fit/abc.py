"""An approximate-Bayesian posterior from Optuna trials drawn from the prior.

Method: approximate Bayesian computation with a Gaussian acceptance kernel, by importance
sampling from the prior. The prior is uniform over each ``[parameters]`` range (uniform over a
parameter's levels); draws come from it truncated to the box where the fit came close
(:func:`sim.fit.calibrate.posterior_box`), where the uniform prior's density is constant, so
the weights below need no correction. The draws are the trials of an Optuna study with a
scrambled Sobol sampler (quasi-random, so a few hundred draws cover the box evenly; Owen
1998), each run on the fit's common random numbers. Each draw ``k`` gets the weight

    w_k = exp(-chi2_k / 2),   chi2_k = sum_i ((m_ik - y_i) / sd_i) ** 2

where ``m_ik`` is the mean of the draw's runs (every replicate of every seed) for target
``i`` (for an effect target, the mean of the runs' paired differences), ``y_i`` the observed
figure and ``sd_i`` its stated uncertainty. With this kernel ABC is exact inference for the
model plus independent Gaussian observation errors of those standard deviations (Wilkinson
2013, Stat. Appl. Genet. Mol. Biol. 12:129), so the targets' ``sd`` is both the kernel's
width and an honest statement of how well each figure is known; no tolerance schedule is
tuned. Intervals are weighted quantiles; the effective sample size
``(sum w)^2 / sum w^2`` (Kish) says how many draws the posterior rests on, and a posterior
resting on few draws is reported as such.

Why not pyabc's ABC-SMC: it schedules its own simulations (its own samplers, its own
database), so it would not run on the sweep's executors nor resume from the fit's folder, and
it draws from NumPy's global random state. Why not the optimiser's own trials: TPE samples
where the fit is good, not from the prior, and its proposal density is not kept, so its
trials cannot be reweighted into a posterior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["abc_weights", "effective_sample_size", "weighted_quantile"]


def abc_weights(chi2: Sequence[float]) -> np.ndarray:
    """Normalised Gaussian-kernel weights ``exp(-chi2 / 2)``; a draw with no number gets 0."""
    c = np.asarray(chi2, dtype=float)
    ok = np.isfinite(c)
    w = np.zeros_like(c)
    if ok.any():
        w[ok] = np.exp(-(c[ok] - c[ok].min()) / 2.0)  # shift: no underflow of the best draw
        w /= w.sum()
    return w


def effective_sample_size(weights: Sequence[float]) -> float:
    """Kish's effective sample size of normalised or unnormalised weights."""
    w = np.asarray(weights, dtype=float)
    s = w.sum()
    return float(s * s / np.sum(w * w)) if s > 0 else 0.0


def weighted_quantile(
    values: Sequence[float], weights: Sequence[float], q: float | Sequence[float]
) -> np.ndarray:
    """Quantiles of a weighted sample (inverse of the weighted empirical distribution).

    The cumulative weight is taken at each value's midpoint, so equal weights give the usual
    interpolated quantile and one dominant draw gives its own value.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    keep = w > w.max() * 1e-12 if w.size else w > 0  # draws of no practical weight
    v, w = v[keep], w[keep]
    if v.size == 0:
        return np.full(np.shape(q), np.nan)
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)

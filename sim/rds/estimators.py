"""Estimators of a respondent-driven sample: a trait's prevalence and the population's size.

Prevalence of each category ``k`` of a trait, from respondents' categories ``y`` (codes
``0 .. K-1``), reported degrees ``d`` and who recruited whom:

- **naive**: the sample share; its interval is Wilson's score interval for a simple random
  sample (what an analysis that ignores the design would report).
- **RDS-I** (Salganik & Heckathorn 2004, "Sampling and estimation in hidden populations using
  respondent-driven sampling", Sociological Methodology 34:193): the stationary distribution
  ``q`` of the recruitment chain between categories (transition counts recruiter -> recruit,
  each row normalised), divided by each category's harmonic mean degree in the sample ``h``,
  normalised: ``(q_k / h_k) / sum_j (q_j / h_j)``. This is how R's ``RDS`` package defines
  its RDS-I weights (``rds.I.weights``: each respondent of category k weighs that estimate
  over the number of respondents in k), unsmoothed. ``q`` is solved exactly
  (:func:`stationary`), not iterated. The chain is over every category of the trait present
  in the sample, also when one is reported. A category that recruited no one recruits every
  category alike, as R's ``count.transitions`` sets such a row to 0.1 in each cell; a sample
  without any recruitment, or whose recruitment never crosses between two groups of
  categories, has no estimate (NaN).
- **RDS-II** (Volz & Heckathorn 2008, "Probability based estimation theory for
  respondent-driven sampling", Journal of Official Statistics 24:79): weights ``1 / d``, as
  R's ``vh.weights``; the estimate is the weighted share.
- **SS** (Gile 2011, "Improved inference for respondent-driven sampling data with application
  to HIV prevalence estimation", JASA 106:135): weights one over the inclusion probability of
  a unit of degree ``d`` under successive sampling (sampling without replacement with
  probability proportional to degree) from a population of size ``N``, whose degree
  distribution is estimated in turn from those weights (:func:`ss_inclusion`). As R's
  ``gile.ss.weights``: 5 iterations of 500 simulated samples, and RDS-II weights when the
  sample is at most 1% of ``N`` (``SS.infinity`` of R's ``control.rds.estimates``).

Intervals of RDS-I, RDS-II and SS are ``estimate +/- 1.96`` bootstrap standard errors from
Salganik's bootstrap (Salganik 2006, "Variance estimation, design effects, and sample size
calculations for respondent-driven sampling", Journal of Urban Health 83:98), as R's
``RDS.bootstrap.intervals`` with ``uncertainty = "Salganik"``: each bootstrap sample is one
chain whose categories follow the sample's transition counts and whose degrees are drawn from
the sample's degrees within the category. R uses Gile's own bootstrap for SS; here SS is
bootstrapped the same way as the others, with the inclusion probabilities of the sample kept
for each bootstrap sample (a narrower interval than Gile's, which also varies them).

Population size:

- **multiplier** (e.g. UNAIDS/WHO 2010 guidelines on estimating the size of populations most
  at risk): the service's records ``L`` over the share of the sample who used the service,
  estimated by RDS-II: ``L / p``; interval ``[L / p_high, L / p_low]`` from the share's
  interval.
- **Chapman** (Chapman 1951; variance of Seber 1970): two captures of ``n1`` and ``n2`` people
  with ``m`` in both: ``(n1 + 1)(n2 + 1) / (m + 1) - 1``, interval ``+/- 1.96`` standard
  errors, never below the ``n1 + n2 - m`` people seen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "BOOTSTRAP_ESTIMATORS",
    "chapman",
    "fill_empty_rows",
    "harmonic_means",
    "multiplier",
    "naive",
    "rds1",
    "salganik_bootstrap",
    "ss",
    "ss_inclusion",
    "ss_weights",
    "stationary",
    "transitions",
    "vh",
    "wilson",
]

#: Estimators whose interval comes from :func:`salganik_bootstrap`.
BOOTSTRAP_ESTIMATORS = ("RDS-I", "RDS-II", "SS")

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054

#: A sample at most this share of the population gets RDS-II weights for SS (R's SS.infinity,
#: whose default in ``control.rds.estimates`` is 0.01).
SS_INFINITY = 0.01


def naive(y: np.ndarray, k: int) -> np.ndarray:
    """The sample share of each category.

    Examples:
        >>> import numpy as np
        >>> naive(np.array([0, 0, 1, 1, 1]), 2)
        array([0.4, 0.6])
    """
    return np.bincount(y, minlength=k) / y.size


def wilson(count: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a share ``count / n`` of a simple random sample."""
    if n == 0:
        return math.nan, math.nan
    p = count / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _weighted_shares(y: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y, weights=w, minlength=k) / w.sum()


def vh(y: np.ndarray, degree: np.ndarray, k: int) -> np.ndarray:
    """RDS-II (Volz-Heckathorn) estimate of each category's share: weights ``1 / degree``.

    Examples:
        Respondents of category 1 report more ties, so they count for less:

        >>> import numpy as np
        >>> y = np.array([0, 0, 1, 1, 1])
        >>> degree = np.array([2, 4, 10, 10, 5])
        >>> vh(y, degree, 2).round(3)
        array([0.652, 0.348])
    """
    d = np.where(degree > 0, degree, 1).astype(float)
    return _weighted_shares(y, 1.0 / d, k)


def transitions(y: np.ndarray, recruiter: np.ndarray, k: int) -> np.ndarray:
    """Recruitment counts ``t[i, j]``: recruiters of category i recruiting one of category j."""
    rec = recruiter >= 0
    t = np.zeros((k, k))
    np.add.at(t, (y[recruiter[rec]], y[rec]), 1.0)
    return t


def stationary(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of transition matrices ``p`` (``(..., K, K)``, rows sum to 1).

    Solved, not iterated: the chain's closed classes are found from which category reaches
    which (the transitive closure of the positive entries); with exactly one closed class
    ``C``, the states outside it are transient and get 0, and ``pi P = pi`` with
    ``sum(pi) = 1`` is solved on ``C`` by one linear solve, which is exact up to rounding
    however rarely recruitment crosses between categories (power iteration needs a number of
    steps that grows as one over the crossing rate). A periodic chain has its unique
    stationary distribution too (R's ``get.stationary.distribution`` gives NA for period two).
    With more than one closed class the stationary distribution is not unique (it depends on
    where the chain starts) and the result is NaN; R's eigen-analysis finds no unique
    eigenvector then either. Cost: ``O(K^3 log K)`` per matrix.
    """
    p = np.asarray(p, dtype=float)
    k = p.shape[-1]
    flat = p.reshape(-1, k, k)
    eye = np.eye(k, dtype=bool)
    reach = (flat > 0) | eye
    steps = 1
    while steps < k:
        step = reach.astype(np.int64)
        reach = (step @ step) > 0
        steps *= 2
    back = np.swapaxes(reach, 1, 2)
    # A state is recurrent when every state it reaches leads back to it; the chain has one
    # closed class when its recurrent states all reach one another.
    recurrent = np.all(~reach | back, axis=2)
    both = recurrent[:, :, None] & recurrent[:, None, :]
    unique = np.all(~both | reach, axis=(1, 2))
    # Rows of the system: pi_j - sum_i pi_i p_ij = 0 for recurrent j, pi_j = 0 for transient
    # j, and the first recurrent state's row replaced by sum over recurrent states = 1.
    a = np.where(
        recurrent[:, :, None], np.swapaxes(flat, 1, 2) * recurrent[:, None, :] - eye, eye
    ).astype(float)
    first = np.argmax(recurrent, axis=1)
    rows = np.arange(flat.shape[0])
    a[rows, first] = recurrent.astype(float)
    b = np.zeros(flat.shape[:2])
    b[rows, first] = 1.0
    a[~unique] = np.eye(k)
    q = np.linalg.solve(a, b[..., None])[..., 0]
    q = np.clip(q, 0.0, None)
    q /= q.sum(axis=1, keepdims=True)
    q[~unique] = np.nan
    return q.reshape(p.shape[:-1])


def fill_empty_rows(t: np.ndarray) -> np.ndarray:
    """Transition counts with each row of a category that recruited no one made uniform.

    As R's ``count.transitions`` (RDS 0.9-10), which sets every cell of such a row to 0.1:
    a recruiter of that category is taken to recruit each category in the chain alike.
    """
    t = np.array(t, dtype=float)
    empty = t.sum(axis=-1) == 0
    t[empty] = 1.0
    return t


def harmonic_means(y: np.ndarray, degree: np.ndarray, k: int) -> np.ndarray:
    """Each category's harmonic mean degree in the sample (NaN for a category not in it)."""
    d = np.where(degree > 0, degree, 1).astype(float)
    counts = np.bincount(y, minlength=k)
    inv = np.bincount(y, weights=1.0 / d, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / inv


def _rds1_from(t: np.ndarray, h: np.ndarray) -> np.ndarray:
    # No recruitment at all leaves no chain to estimate from (R would take every row as
    # uniform, and so weigh by harmonic mean degree alone).
    if t.sum() == 0:
        return np.full(t.shape[-1], np.nan)
    filled = fill_empty_rows(t)
    q = stationary(filled / filled.sum(axis=-1, keepdims=True))
    ratio = q / h
    return ratio / ratio.sum()


def rds1(y: np.ndarray, degree: np.ndarray, recruiter: np.ndarray, k: int) -> np.ndarray:
    """RDS-I (Salganik-Heckathorn) estimate of each category's share, as R's ``RDS``.

    The chain is over the categories present in the sample (as R's, which takes the sample's
    values as its levels): all of a trait's labels, whichever one is reported, so
    ``--trait depth=deep`` estimates from the chain between every depth label. Categories
    absent from the sample get 0. A category present whose members recruited no one
    recruits every category alike (a uniform row, as R's ``count.transitions``), so the
    estimate is a number there. NaN when the sample has no recruitment at all, or when
    recruitment splits the categories into more than one closed class (categories that
    recruit only among themselves), where the stationary distribution is not unique.

    Examples:
        Two seeds (recruiter -1) and their recruits; the shares sum to one:

        >>> import numpy as np
        >>> y = np.array([0, 1, 0, 1, 1, 0])
        >>> degree = np.array([3, 6, 3, 6, 6, 3])
        >>> recruiter = np.array([-1, -1, 0, 1, 2, 3])
        >>> shares = rds1(y, degree, recruiter, 2)
        >>> shares.round(3), float(shares.sum())
        (array([0.667, 0.333]), 1.0)
    """
    present = np.flatnonzero(np.bincount(y, minlength=k) > 0)
    code = np.full(k, -1)
    code[present] = np.arange(present.size)
    yy = code[y]
    if present.size == 1:
        out = np.zeros(k)
        out[present] = 1.0
        return out
    t = transitions(yy, recruiter, present.size)
    h = harmonic_means(yy, degree, present.size)
    out = np.zeros(k)
    out[present] = _rds1_from(t, h)
    return out


def _round_to_total(props: np.ndarray, total: int) -> np.ndarray:
    """Units per degree class: ``total * props`` rounded, at least one each, summing to total.

    R's ``getinclCstacked`` settles the rounding by random draws; here the classes furthest
    from their share gain or lose a unit first, so the result needs no random numbers.
    """
    counts = np.maximum(np.rint(total * props).astype(np.int64), 1)
    while counts.sum() < total:
        counts[int(np.argmax(props - counts / total))] += 1
    while counts.sum() > total:
        excess = np.where(counts > 1, counts / total - props, -np.inf)
        counts[int(np.argmax(excess))] -= 1
    return counts


def _simulated_inclusion(
    classes: np.ndarray,
    props: np.ndarray,
    population: int,
    n: int,
    nums: np.ndarray,
    samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Inclusion probability of a unit of each degree class under successive sampling.

    A successive sample (without replacement, each draw proportional to degree) is the ``n``
    units with the smallest ``E / degree``, ``E`` standard exponential (Efraimidis & Spirakis
    2006, "Weighted random sampling with a reservoir", Information Processing Letters 97:181).
    As in R's ``getinclCstacked``, the sample itself counts as one more draw.
    """
    per_class = _round_to_total(props, population)
    unit_class = np.repeat(np.arange(classes.size), per_class)
    size = classes[unit_class].astype(float)
    hits = np.zeros(classes.size)
    chunk = max(1, int(2_000_000 // population))
    done = 0
    while done < samples:
        c = min(chunk, samples - done)
        keys = rng.standard_exponential((c, population)) / size
        picked = np.argpartition(keys, n - 1, axis=1)[:, :n]
        hits += np.bincount(unit_class[picked].ravel(), minlength=classes.size)
        done += c
    share = (hits + nums) / (hits.sum() + n)
    return n * share / per_class


def ss_inclusion(
    degree: np.ndarray,
    population: int,
    rng: np.random.Generator,
    *,
    samples: int = 500,
    iterations: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """Gile's successive-sampling inclusion probability of each degree in the sample.

    Starts from inclusion proportional to degree, then alternates: the population's degree
    distribution estimated from the sample with the current probabilities (Hajek), and new
    probabilities from ``samples`` simulated successive samples of that population. Cost:
    ``(iterations + 1) x samples x population`` random numbers.

    Args:
        degree: reported degrees of the sample (0 counts as 1).
        population: the population size ``N`` (at least the sample size).
        rng: the stream of the simulations.
        samples: simulated samples per iteration (R: 500).
        iterations: iterations after the first (R: 5).

    Returns:
        ``(classes, probabilities)``: the distinct degrees and each one's inclusion
        probability.
    """
    d = np.where(degree > 0, degree, 1).astype(np.int64)
    n = d.size
    classes, nums = np.unique(d, return_counts=True)
    if n >= population:
        return classes, np.ones(classes.size)
    prob = classes / d.sum()
    prob = prob * np.sum(nums / prob) / population
    props = nums / prob
    props = props / props.sum()
    if population * SS_INFINITY >= n:
        return classes, n * classes / (population * np.sum(props * classes))
    pvec = _simulated_inclusion(classes, props, population, n, nums, samples, rng)
    for _ in range(iterations):
        props = nums / pvec
        props = props / props.sum()
        pvec = _simulated_inclusion(classes, props, population, n, nums, samples, rng)
    return classes, pvec


def ss_weights(degree: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Weights ``1 / probability`` at each degree, interpolated between classes (R: approx)."""
    d = np.where(degree > 0, degree, 1).astype(float)
    return np.interp(d, classes.astype(float), 1.0 / probs)


def ss(
    y: np.ndarray, degree: np.ndarray, k: int, population: int, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Gile's SS estimate of each category's share, with the inclusion probabilities used."""
    mapping = ss_inclusion(degree, population, rng)
    return _weighted_shares(y, ss_weights(degree, *mapping), k), mapping


def salganik_bootstrap(
    y: np.ndarray,
    degree: np.ndarray,
    recruiter: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    replicates: int = 500,
    ss_mapping: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Salganik's bootstrap estimates of RDS-I, RDS-II and (with ``ss_mapping``) SS.

    Each bootstrap sample is one chain as long as the number of recruited respondents plus
    one: the first category is a respondent's drawn at random (again while its row of the
    transition counts is empty), each next one drawn from the row of the one before (rows
    without transitions use the column totals, as R does), and each degree drawn from the
    sample's degrees within the category. All chains are drawn at once, step by step.

    Returns:
        Estimator name -> ``(replicates, k)`` array of bootstrap estimates (NaN rows where
        the estimator was undefined).
    """
    t = transitions(y, recruiter, k)
    cols = t.sum(axis=0)
    empty = t.sum(axis=1) < 0.5
    t[empty] = cols
    length = int(np.sum(recruiter >= 0)) + 1
    if cols.sum() == 0:
        return {name: np.full((replicates, k), np.nan) for name in BOOTSTRAP_ESTIMATORS}
    cum = np.cumsum(t / t.sum(axis=1, keepdims=True), axis=1)
    groups = np.empty((replicates, length), dtype=np.int64)
    allowed = y[~empty[y]]
    groups[:, 0] = allowed[rng.integers(0, allowed.size, replicates)]
    for step in range(1, length):
        u = rng.random(replicates)
        row = cum[groups[:, step - 1]]
        groups[:, step] = np.minimum((u[:, None] >= row).sum(axis=1), k - 1)
    d = np.where(degree > 0, degree, 1).astype(float)
    order = np.argsort(y, kind="stable")
    start = np.searchsorted(y[order], np.arange(k))
    count = np.bincount(y, minlength=k)
    pick = start[groups] + (rng.random(groups.shape) * np.maximum(count[groups], 1)).astype(
        np.int64
    )
    degrees = d[order][np.minimum(pick, d.size - 1)]
    onehot = groups[..., None] == np.arange(k)
    inv = 1.0 / degrees
    out = {"RDS-II": (onehot * inv[..., None]).sum(axis=1) / inv.sum(axis=1, keepdims=True)}
    tb = np.zeros((replicates, k, k))
    np.add.at(
        tb,
        (
            np.repeat(np.arange(replicates), length - 1),
            groups[:, :-1].ravel(),
            groups[:, 1:].ravel(),
        ),
        1.0,
    )
    nb = onehot.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = nb / (onehot * inv[..., None]).sum(axis=1)
    present = nb > 0
    # As the point estimate: categories absent from a bootstrap sample are left out of its
    # chain (their rows lead to the present ones, so they are transient and get 0); a present
    # one that recruited no one recruits every present one alike.
    rows = tb.sum(axis=2)
    filled = np.where((rows == 0)[..., None], present[:, None, :].astype(float), tb)
    q = stationary(filled / filled.sum(axis=2, keepdims=True))
    q = np.where(present, q, 0.0)
    ratio = np.where(present, q / np.where(present, h, 1.0), 0.0)
    est = ratio / ratio.sum(axis=1, keepdims=True)
    out["RDS-I"] = est
    if ss_mapping is not None:
        w = ss_weights(degrees.ravel(), *ss_mapping).reshape(degrees.shape)
        out["SS"] = (onehot * w[..., None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
    return out


def bootstrap_interval(estimate: float, draws: np.ndarray) -> tuple[float, float]:
    """``estimate +/- 1.96`` standard deviations of the finite bootstrap draws, within [0, 1]."""
    x = draws[np.isfinite(draws)]
    if x.size < 2 or not math.isfinite(estimate):
        return math.nan, math.nan
    se = float(x.std(ddof=1))
    return max(0.0, estimate - Z95 * se), min(1.0, estimate + Z95 * se)


def multiplier(records: int, share: float, low: float, high: float) -> tuple[float, float, float]:
    """Population size by the multiplier method: ``records / share``, with its interval.

    A share of 0 gives infinity; an undefined share (NaN, such as the interval of a sample
    too small to bootstrap) gives NaN.

    Examples:
        50 people on the service's records, who are a tenth (5% to 20%) of the population:

        >>> multiplier(50, 0.1, 0.05, 0.2)
        (500.0, 250.0, 1000.0)
    """

    def over(p: float) -> float:
        if math.isnan(p):
            return math.nan
        return records / p if p > 0 else math.inf

    return over(share), over(high), over(low)


def chapman(n1: int, n2: int, m: int) -> tuple[float, float, float]:
    """Chapman's capture-recapture estimate of the population size, with its 95% interval.

    Args:
        n1: people in the first capture (a list, or a survey).
        n2: people in the second capture.
        m: people in both.

    Returns:
        ``(estimate, low, high)``; the low end is at least ``n1 + n2 - m``.

    Examples:
        A list of 100 people and a survey of 80, 20 of them on the list:

        >>> estimate, low, high = chapman(100, 80, 20)
        >>> round(estimate), low < estimate < high
        (389, True)
    """
    est = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    half = Z95 * math.sqrt(max(var, 0.0))
    return est, max(n1 + n2 - m, est - half), est + half


def coverage_table(
    estimates: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    truths: Sequence[float],
) -> dict[str, float]:
    """Bias, RMSE, interval coverage and mean width of one estimator over replicates."""
    e = np.asarray(estimates, dtype=float)
    lo = np.asarray(lows, dtype=float)
    hi = np.asarray(highs, dtype=float)
    t = np.asarray(truths, dtype=float)
    ok = np.isfinite(e)
    err = e[ok] - t[ok]
    has = ok & np.isfinite(lo) & np.isfinite(hi)
    covered = (lo[has] <= t[has]) & (t[has] <= hi[has])
    return {
        "replicates": int(ok.sum()),
        "mean": float(e[ok].mean()) if ok.any() else math.nan,
        "bias": float(err.mean()) if err.size else math.nan,
        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else math.nan,
        "coverage": float(covered.mean()) if covered.size else math.nan,
        "width": float(np.mean(hi[has] - lo[has])) if has.any() else math.nan,
    }

"""Fitting a scenario to a programme's observed figures (``outreach calibrate``).

Two studies in one folder, both on the fit's common random numbers:

1. ``fit``: Optuna's TPE minimises the discrepancy ``chi2 = sum_i ((m_i - y_i) / sd_i)^2``
   between each target's mean over runs ``m_i`` (every replicate of every seed; for an effect
   target, the mean paired difference) and its observed figure ``y_i``, in units of the
   figure's stated uncertainty. The best trial becomes ``calibrated.toml``. The
   base scenario's own values are the first trial, so the fit never ends worse than the start.
2. ``posterior-*`` (when ``posterior`` draws are asked for): draws from the prior, truncated
   to the box where the fit's trials came close (:func:`posterior_box`), weighted into an
   approximate-Bayesian posterior (:mod:`sim.fit.abc`), with intervals for every parameter.

Files: ``calibrated.toml``, ``trials.csv``, ``fit.png``, ``summary.json``; with a posterior,
``posterior.csv`` and ``posterior_pairs.png``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UserInputError
from sim.fit.spec import FitSpec

__all__ = ["CalibrationResult", "calibrate", "chi2", "resume_line"]


def chi2(means: np.ndarray, targets) -> float:
    """The discrepancy of target means from the observed figures, in their sd units."""
    y = np.array([t.value for t in targets])
    sd = np.array([t.sd for t in targets])
    z = (np.asarray(means, dtype=float) - y) / sd
    return float(np.sum(z * z))


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found (also written to ``summary.json``).

    Attributes:
        interrupted: stopped by Ctrl-C; the folder keeps what was done.
        trials_done: finished trials of the fit.
        best: the best trial's parameter values.
        best_chi2: its discrepancy.
        targets: per target: name, observed, sd, fitted mean and 95% of runs (for an effect
            target, the 95% confidence interval of its mean paired difference), z-score, and
            the mean per seed.
        posterior: per parameter: weighted mean and 5%, 50%, 95% quantiles (if asked).
        ess: the posterior's effective sample size.
        box: the ranges the posterior's draws came from (:func:`posterior_box`).
        files: files written.
    """

    interrupted: bool = False
    trials_done: int = 0
    posterior_done: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    best_chi2: float = math.nan
    targets: list[dict[str, Any]] = field(default_factory=list)
    posterior: dict[str, dict[str, float]] = field(default_factory=dict)
    ess: float = math.nan
    box: dict[str, list[float]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _identity(spec: FitSpec) -> dict[str, Any]:
    from sim.fit.study import model_fingerprint
    from sim.model.scenario import scenario_to_dict

    identity = {
        "model": model_fingerprint(),
        "scenario": scenario_to_dict(spec.base),
        "seed": spec.seed,
        "replicates": spec.replicates,
        "parameters": [[p.key, p.lo, p.hi, list(p.levels or ())] for p in spec.parameters],
        "targets": [
            [t.name, t.expression.text, t.value, t.sd]
            + ([[list(map(list, side)) for side in t.contrast]] if t.contrast else [])
            for t in spec.targets
        ],
        "tied": [list(t) for t in spec.tied],
    }
    # Written only for several seeds, so a folder fitted on one seed keeps its identity.
    if len(spec.seeds) > 1:
        identity["seeds"] = list(spec.seeds)
    return identity


def _base_values(spec: FitSpec) -> dict[str, Any] | None:
    """The base scenario's own values of the parameters, if all lie within the search space."""
    from sim.model.scenario import scenario_to_dict
    from sim.sweep.spec import _value_at

    data = scenario_to_dict(spec.base)
    out = {}
    for p in spec.parameters:
        v = _value_at(data, p.key)
        if p.levels is not None:
            if v not in p.levels:
                return None
        elif not (p.lo <= v <= p.hi):
            return None
        out[p.key] = v
    return out


def _score(targets):
    def score(rows: list[list[float]]):
        runs = np.array(rows, dtype=float)
        means = np.nanmean(runs, axis=0) if runs.size else np.full(len(targets), np.nan)
        attrs = {"means": [float(x) for x in means], "runs": runs.tolist()}
        value = chi2(means, targets)
        return (value if math.isfinite(value) else None), attrs

    return score


def calibrate(
    spec: FitSpec,
    out: str | Path,
    executor,
    *,
    trials: int | None = None,
    posterior: int | None = None,
    progress=None,
    say=print,
) -> CalibrationResult:
    """Fit ``spec``'s parameters to its targets; write the folder's files.

    Args:
        spec: the validated targets file (its base scenario is the one fitted).
        out: the fit's folder (resumed if it holds this fit).
        executor: where the runs go (a sweep executor, or
            :class:`sim.fit.runs.InlineExecutor`).
        trials: trials of the best fit in all (default: the file's).
        posterior: prior draws for the posterior (default: the file's; 0 for none).
        progress: ``progress(label)`` gives a ``(done, total)`` callback, or None.
        say: where lines of news go.

    Returns:
        What was found; ``interrupted`` if Ctrl-C stopped it (run it again to resume).
    """
    import optuna

    from sim.fit.runs import make_fit_job
    from sim.fit.study import FitFolder, run_study

    trials = spec.trials if trials is None else trials
    posterior = spec.posterior if posterior is None else posterior
    folder = FitFolder(out, "calibrate", _identity(spec))
    keys = [p.key for p in spec.parameters]
    job = make_fit_job(
        spec.base,
        keys,
        spec.expressions(),
        folder.digest,
        spec.tied,
        [t.contrast for t in spec.targets],
    )
    score = _score(spec.targets)
    result = CalibrationResult()
    n_start = max(10, 2 * len(keys) + 1)

    study = folder.study("fit", ["minimize"])
    if folder.resumed:
        say(resume_line(folder.out, study))
    run = run_study(
        study,
        parameters=spec.parameters,
        trials=trials,
        replicates=spec.replicates,
        seed=spec.seed,
        seeds=spec.seeds,
        executor=executor,
        job=job,
        score=score,
        enqueue=_base_values(spec),
        make_sampler=lambda s: optuna.samplers.TPESampler(
            seed=s, multivariate=True, n_startup_trials=n_start, constant_liar=True
        ),
        progress=progress(f"{spec.name}: fit") if progress else None,
    )
    result.trials_done = run.done_before + run.told
    if run.interrupted:
        result.interrupted = True
        return result
    draws = None
    if posterior > 0:
        box = posterior_box(spec.parameters, _done(study), len(spec.targets))
        result.box = {p.key: [p.lo, p.hi] for p in box if p.levels is None}
        # One study per box: draws from another box (a fit since extended) are not mixed in.
        tag = hashlib.sha256(json.dumps(result.box, sort_keys=True).encode()).hexdigest()[:8]
        prior = folder.study(f"posterior-{tag}", ["minimize"])
        run = run_study(
            prior,
            parameters=box,
            trials=posterior,
            replicates=spec.replicates,
            seed=spec.seed,
            seeds=spec.seeds,
            executor=executor,
            job=job,
            score=score,
            make_sampler=lambda s: optuna.samplers.QMCSampler(
                qmc_type="sobol",
                scramble=True,
                seed=spec.seed,
                independent_sampler=optuna.samplers.RandomSampler(seed=s),
                warn_asynchronous_seeding=False,
                warn_independent_sampling=False,
            ),
            progress=progress(f"{spec.name}: posterior") if progress else None,
        )
        result.posterior_done = run.done_before + run.told
        if run.interrupted:
            result.interrupted = True
            return result
        draws = prior
    _write(spec, folder.out, study, draws, result)
    return result


def target_intervals(targets, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each target's interval from its runs (run x target).

    A figure's interval holds 95% of its runs; an effect's is the 95% confidence interval of
    its mean paired difference, ``mean +- 1.96 sd / sqrt(n)`` with ``sd`` the standard
    deviation of the per-run differences, as the effect is a property of the mean, not of
    one run.
    """
    lo = np.nanpercentile(runs, 2.5, axis=0)
    hi = np.nanpercentile(runs, 97.5, axis=0)
    for i, t in enumerate(targets):
        if t.contrast is None:
            continue
        d = runs[:, i][np.isfinite(runs[:, i])]
        mean = float(np.mean(d)) if d.size else math.nan
        se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0
        lo[i], hi[i] = mean - 1.96 * se, mean + 1.96 * se
    return lo, hi


def resume_line(out: Path, study) -> str:
    """The line a resumed fit or search starts with, counting trials as an interruption does.

    A trial counts as stored once it has its outcome (complete, or failed for a run with no
    finite result), as in the line an interrupted command ends with; trials the interruption
    left running are named apart, as they are run again first.
    """
    from optuna.trial import TrialState

    finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    stored = len(study.get_trials(deepcopy=False, states=finished))
    running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
    again = f"; {running} interrupted trials run again first" if running else ""
    return f"resuming {out}: {stored} trials stored{again}"


def rounded(values: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    """Fitted values as a scenario file shows them: numbers to ``digits`` significant digits."""
    return {k: float(f"{v:.{digits}g}") if isinstance(v, float) else v for k, v in values.items()}


def posterior_box(parameters, trials, n_targets: int) -> tuple:
    """The part of the prior the posterior's draws come from: where the fit came close.

    Drawing from the whole prior wastes nearly every draw when the targets are tight or the
    parameters many (the weights fall on one or two draws). The fit's trials show where the
    discrepancy is small: the box spans, for each numeric parameter, the trials whose chi2 is
    within the 99.9% point of a chi-square with as many degrees of freedom as targets above
    the best, widened by a quarter of its width (at least 5% of the range) on each side and
    clipped to the range. The prior is uniform, so within the box the weights are unchanged
    (importance sampling from the prior truncated to the box); mass the box cuts off is
    missed, which shows as weight piled against an edge in the pair plot. Levels are kept
    whole.

    Args:
        parameters: the ``[parameters]``.
        trials: the fit's completed trials.
        n_targets: targets (degrees of freedom of the bound).
    """
    from scipy.stats import chi2 as chi2_dist

    values = [t.value for t in trials]
    if not values:
        return tuple(parameters)
    bound = min(values) + chi2_dist.ppf(0.999, max(1, n_targets))
    near = [t for t in trials if t.value <= bound]
    out = []
    for p in parameters:
        if p.levels is not None:
            out.append(p)
            continue
        xs = [t.params[p.key] for t in near]
        width = max(xs) - min(xs)
        pad = max(0.25 * width, 0.05 * (p.hi - p.lo))
        lo, hi = max(p.lo, min(xs) - pad), min(p.hi, max(xs) + pad)
        if p.integer:
            lo, hi = int(math.floor(lo)), int(math.ceil(hi))
        out.append(dataclasses.replace(p, lo=lo, hi=hi))
    return tuple(out)


def _done(study) -> list:
    from optuna.trial import TrialState

    return sorted(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number
    )


def _write(spec: FitSpec, out: Path, study, prior, result: CalibrationResult) -> None:
    from sim.fit.abc import abc_weights, effective_sample_size, weighted_quantile
    from sim.fit.outputs import (
        fit_figure,
        pairs_figure,
        scenario_toml,
        write_csv,
        write_figure,
    )
    from sim.fit.runs import tied_values
    from sim.model.scenario import scenario_to_dict
    from sim.output.atomic import write_text_atomic

    keys = [p.key for p in spec.parameters]
    done = _done(study)
    if not done:
        raise UserInputError(
            f"{spec.source}: no trial gave a number for every target (e.g. a "
            "share of nothing, as exhaustion with no peers); check the "
            "targets' expressions and the [parameters] ranges"
        )
    best = min(done, key=lambda t: (t.value, t.number))
    result.best = {k: best.params[k] for k in keys}
    result.best.update(tied_values(spec.tied, result.best))
    result.best_chi2 = float(best.value)
    runs = np.array(best.user_attrs["runs"], dtype=float)
    means = np.nanmean(runs, axis=0)
    lo, hi = target_intervals(spec.targets, runs)
    # Runs come seed by seed, each seed's replicates together (sim.fit.runs.run_round).
    by_seed = np.nanmean(runs.reshape(len(spec.seeds), spec.replicates, -1), axis=1)
    for i, t in enumerate(spec.targets):
        result.targets.append(
            {
                "name": t.name,
                "observed": t.value,
                "sd": t.sd,
                "fitted": float(means[i]),
                "runs_low": float(lo[i]),
                "runs_high": float(hi[i]),
                "z": float((means[i] - t.value) / t.sd),
                "effect": t.contrast is not None,
                "by_seed": {
                    str(s): float(m) for s, m in zip(spec.seeds, by_seed[:, i], strict=True)
                },
                "source": t.source,
            }
        )
    # trials.csv: every trial of the fit, its values and its target means.
    names = [t.name for t in spec.targets]
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        row = {
            "trial": t.number,
            "state": t.state.name,
            "chi2": t.value if t.value is not None else math.nan,
        }
        row.update(t.params)
        row.update(dict(zip(names, t.user_attrs.get("means", []), strict=False)))
        rows.append(row)
    write_csv(out / "trials.csv", rows, ["trial", "state", "chi2", *keys, *names])
    result.files.append(str(out / "trials.csv"))

    band = None
    if prior is not None:
        draws = _done(prior)
        c2 = np.array([t.value for t in draws], dtype=float)
        w = abc_weights(c2)
        result.ess = effective_sample_size(w)
        prow = []
        for t, wk in zip(draws, w, strict=True):
            row = {"draw": t.number, "weight": float(wk), "chi2": float(t.value)}
            row.update(t.params)
            row.update(dict(zip(names, t.user_attrs["means"], strict=False)))
            prow.append(row)
        write_csv(out / "posterior.csv", prow, ["draw", "weight", "chi2", *keys, *names])
        result.files.append(str(out / "posterior.csv"))
        numeric = [p for p in spec.parameters if p.levels is None]
        for p in spec.parameters:
            vals = np.array([t.params[p.key] for t in draws])
            if p.levels is None:
                q = weighted_quantile(vals.astype(float), w, [0.05, 0.5, 0.95])
                result.posterior[p.key] = {
                    "mean": float(np.sum(w * vals)),
                    "q05": float(q[0]),
                    "median": float(q[1]),
                    "q95": float(q[2]),
                }
            else:
                result.posterior[p.key] = {str(lv): float(w[vals == lv].sum()) for lv in p.levels}
        pm = np.array([t.user_attrs["means"] for t in draws], dtype=float)
        band = [tuple(weighted_quantile(pm[:, i], w, [0.05, 0.95])) for i in range(len(names))]
        for row, (plo, phi) in zip(result.targets, band, strict=True):
            row["posterior_low"], row["posterior_high"] = float(plo), float(phi)
        if numeric:
            x = np.array([[t.params[p.key] for p in numeric] for t in draws], dtype=float)
            fig = pairs_figure(
                [p.key for p in numeric],
                x,
                w,
                f"{spec.name}: posterior ({len(draws)} draws, "
                f"effective sample size {result.ess:.0f})",
            )
            write_figure(fig, out / "posterior_pairs.png")
            result.files.append(str(out / "posterior_pairs.png"))

    fig = fit_figure(
        spec.targets,
        runs,
        (lo, hi),
        f"{spec.name}: targets and the best fit "
        f"(chi2 {result.best_chi2:.2f}, {spec.runs_of_seeds()})",
        band,
    )
    write_figure(fig, out / "fit.png")
    result.files.append(str(out / "fit.png"))

    fitted = spec.base.replace(rounded(result.best))
    notes = {}
    for p in spec.parameters:
        note = f"fitted, range {[p.lo, p.hi] if p.levels is None else list(p.levels)}"
        post = result.posterior.get(p.key)
        if post and "q05" in post:
            note += f"; posterior 90% [{post['q05']:.4g}, {post['q95']:.4g}]"
        notes[p.key] = note
    for key, to, ratio in spec.tied:
        notes[key] = f"fitted, tied: {ratio:g} x {to}"
    header = [
        f"{spec.base.name}, fitted by `outreach calibrate` to {spec.source}",
        f"({spec.name}: {spec.description})" if spec.description else "",
        f"Best of {len(done)} trials (TPE; each trial {spec.runs_of_seeds()}, on "
        f"common random numbers): chi2 = {result.best_chi2:.3f} over "
        f"{len(spec.targets)} targets.",
        "Target: observed (sd) -> fitted mean [95% of runs; of an effect's paired mean]:",
    ]
    for r in result.targets:
        header.append(
            f"  {r['name']}: {r['observed']:.4g} ({r['sd']:.3g}) -> "
            f"{r['fitted']:.4g} [{r['runs_low']:.4g}, {r['runs_high']:.4g}]"
            + (" (effect)" if r["effect"] else "")
        )
    if len(spec.seeds) > 1:
        header.append(f"Mean per seed ({', '.join(map(str, spec.seeds))}):")
        for r in result.targets:
            header.append(f"  {r['name']}: " + ", ".join(f"{m:.4g}" for m in r["by_seed"].values()))
    header.append(
        "Keys marked 'fitted' below were set by the fit (to 4 significant digits); "
        "the rest are the base's."
    )
    data = scenario_to_dict(fitted)
    data["name"] = f"{spec.name}_calibrated"
    if spec.description:
        data["description"] = spec.description
    write_text_atomic(
        out / "calibrated.toml", scenario_toml(data, [h for h in header if h], notes), "--out"
    )
    result.files.insert(0, str(out / "calibrated.toml"))
    summary = {
        "name": spec.name,
        "seeds": list(spec.seeds),
        "replicates": spec.replicates,
        "trials": len(done),
        "best": result.best,
        "best_chi2": result.best_chi2,
        "targets": result.targets,
        "posterior": result.posterior,
        "posterior_box": result.box,
        "posterior_draws": len(_done(prior)) if prior is not None else 0,
        "ess": result.ess,
    }
    write_text_atomic(
        out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n", "--out"
    )
    result.files.append(str(out / "summary.json"))

"""Searching for the best policy within constraints (``outreach optimize``).

Decision parameters (``[parameters]``, as in a sweep spec) are searched by Optuna: TPE for one
objective, NSGA-II (Deb et al. 2002) for several, each trial's objectives being means over
replicates on common random numbers, so two policies are compared on the same luck.
Constraints (``cost_total <= 400000``) go to the sampler as violations (positive: violated;
Deb's constrained domination for NSGA-II, the constrained TPE of Watanabe & Hutter 2023), and
only trials that meet them can be on the front. The base scenario's own policy is the first
trial, and is marked on the figure, so a planner sees where they stand.

Files: ``pareto.csv`` (the front), ``trials.csv`` (every trial), ``pareto.png`` (the first two
objectives, the front, the base) and ``best_1.toml`` ... (the front's policies as scenarios,
best first by the first objective, at most :data:`MAX_SCENARIOS`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UserInputError
from sim.fit.spec import SearchSpec

__all__ = ["MAX_SCENARIOS", "SearchResult", "optimize", "pareto_front"]

#: At most this many ``best_*.toml`` are written.
MAX_SCENARIOS = 10


def pareto_front(points: np.ndarray, directions) -> list[int]:
    """Indices of the rows that no other row dominates (O(n^2), for a few thousand trials).

    Args:
        points: row x objective.
        directions: ``"maximize"`` or ``"minimize"`` per objective.
    """
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    p = np.asarray(points, dtype=float) * sign  # all minimised
    front = []
    for i in range(len(p)):
        dominated = np.any(np.all(p <= p[i], axis=1) & np.any(p < p[i], axis=1))
        if not dominated:
            front.append(i)
    return front


@dataclass
class SearchResult:
    """What :func:`optimize` found (also in ``summary.json``).

    Attributes:
        interrupted: stopped by Ctrl-C; the folder keeps what was done.
        trials_done: finished trials.
        feasible: trials meeting every constraint.
        front: the front's trials: trial, parameter values, objective and constraint values.
        base: the base scenario's own trial (same fields), if its policy was in range.
        files: files written.
    """

    interrupted: bool = False
    trials_done: int = 0
    feasible: int = 0
    front: list[dict[str, Any]] = field(default_factory=list)
    base: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)


def _identity(spec: SearchSpec) -> dict[str, Any]:
    from sim.fit.study import model_fingerprint
    from sim.model.scenario import scenario_to_dict

    identity = {
        "model": model_fingerprint(),
        "scenario": scenario_to_dict(spec.base),
        "seed": spec.seed,
        "replicates": spec.replicates,
        "population": spec.population,
        "parameters": [[p.key, p.lo, p.hi, list(p.levels or ())] for p in spec.parameters],
        "objectives": [[o.expression.text, o.direction] for o in spec.objectives],
        "constraints": [c.text for c in spec.constraints],
    }
    # Written only for several seeds, so a folder searched on one seed keeps its identity.
    if len(spec.seeds) > 1:
        identity["seeds"] = list(spec.seeds)
    return identity


def optimize(
    spec: SearchSpec,
    out: str | Path,
    executor,
    *,
    trials: int | None = None,
    progress=None,
    say=print,
) -> SearchResult:
    """Search ``spec``'s decision parameters; write the folder's files.

    Args:
        spec: the validated search file.
        out: the search's folder (resumed if it holds this search).
        executor: where the runs go.
        trials: trials in all (default: the file's).
        progress: ``progress(label)`` gives a ``(done, total)`` callback, or None.
        say: where lines of news go.
    """
    import optuna

    from sim.fit.calibrate import _base_values
    from sim.fit.runs import make_fit_job
    from sim.fit.study import ROUND_SIZE, FitFolder, run_study

    trials = spec.trials if trials is None else trials
    folder = FitFolder(out, "optimize", _identity(spec))
    keys = [p.key for p in spec.parameters]
    job = make_fit_job(spec.base, keys, spec.expressions(), folder.digest)
    n_obj = len(spec.objectives)
    directions = [o.direction for o in spec.objectives]

    def score(rows):
        runs = np.array(rows, dtype=float)
        means = np.nanmean(runs, axis=0)
        violations = [c.violation(means[n_obj + j]) for j, c in enumerate(spec.constraints)]
        # Optuna wants finite violations: a constraint with no number counts as far violated.
        violations = [v if math.isfinite(v) else 1e300 for v in violations]
        attrs = {"means": [float(x) for x in means], "constraints": violations}
        values = [float(x) for x in means[:n_obj]]
        return (values if all(math.isfinite(v) for v in values) else None), attrs

    def constraints(trial):
        return trial.user_attrs.get("constraints", [1e300] * len(spec.constraints))

    cf = constraints if spec.constraints else None
    if n_obj == 1:
        n_start = max(10, 2 * len(keys) + 1)

        def make_sampler(s):
            return optuna.samplers.TPESampler(
                seed=s,
                multivariate=True,
                constant_liar=True,
                n_startup_trials=n_start,
                constraints_func=cf,
            )

        round_size = ROUND_SIZE
    else:

        def make_sampler(s):
            return optuna.samplers.NSGAIISampler(
                population_size=spec.population, seed=s, constraints_func=cf
            )

        round_size = spec.population
    study = folder.study("search", directions)
    if folder.resumed:
        from sim.fit.calibrate import resume_line

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
        make_sampler=make_sampler,
        round_size=round_size,
        enqueue=_base_values(spec),
        progress=progress(f"{spec.name}: search") if progress else None,
    )
    result = SearchResult(trials_done=run.done_before + run.told)
    if run.interrupted:
        result.interrupted = True
        return result
    _write(spec, folder.out, study, result, enqueued=_base_values(spec) is not None)
    return result


def _write(spec: SearchSpec, out: Path, study, result: SearchResult, enqueued: bool) -> None:
    from optuna.trial import TrialState

    from sim.fit.calibrate import rounded
    from sim.fit.outputs import pareto_figure, scenario_toml, write_csv, write_figure
    from sim.model.scenario import scenario_to_dict
    from sim.output.atomic import write_text_atomic

    keys = [p.key for p in spec.parameters]
    onames = [o.name for o in spec.objectives]
    cnames = [c.expression.text for c in spec.constraints]
    done = sorted(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number
    )

    def record(t) -> dict[str, Any]:
        means = t.user_attrs["means"]
        row = {"trial": t.number}
        row.update(t.params)
        row.update(dict(zip(onames, means[: len(onames)], strict=False)))
        row.update(
            {
                f"constraint: {c}": v
                for c, v in zip(
                    [c.text for c in spec.constraints], means[len(onames) :], strict=False
                )
            }
        )
        row["feasible"] = all(v <= 0 for v in t.user_attrs["constraints"])
        return row

    if not done:
        raise UserInputError(
            f"{spec.source}: no trial gave a number for every objective (e.g. "
            "a share of nothing, as exhaustion with no peers); check the "
            "objectives and the [parameters] ranges"
        )
    rows = [record(t) for t in done]
    feasible = [r for r in rows if r["feasible"]]
    result.feasible = len(feasible)
    points = np.array([[r[o] for o in onames] for r in rows], dtype=float).reshape(-1, len(onames))
    fidx = [i for i, r in enumerate(rows) if r["feasible"]]
    front_local = pareto_front(points[fidx], [o.direction for o in spec.objectives]) if fidx else []
    front = [fidx[i] for i in front_local]
    first = spec.objectives[0]
    front.sort(
        key=lambda i: (
            -points[i, 0] if first.direction == "maximize" else points[i, 0],
            rows[i]["trial"],
        )
    )
    # NSGA-II may run one policy more than once (same values, same runs): keep its first.
    seen, unique = set(), []
    for i in front:
        policy = tuple(repr(rows[i][k]) for k in keys)
        if policy not in seen:
            seen.add(policy)
            unique.append(i)
    front = unique
    for r in rows:
        r["on_front"] = False
    for i in front:
        rows[i]["on_front"] = True
    result.front = [rows[i] for i in front]
    if enqueued and rows and rows[0]["trial"] == 0:
        result.base = rows[0]
    ccols = [f"constraint: {c.text}" for c in spec.constraints]
    columns = ["trial", *keys, *onames, *ccols, "feasible", "on_front"]
    write_csv(out / "trials.csv", rows, columns)
    write_csv(out / "pareto.csv", result.front, columns)
    result.files += [str(out / "pareto.csv"), str(out / "trials.csv")]

    # The figure: the first two objectives; one objective is drawn against the first
    # constraint's measure (the budget), or against the trial number.
    if len(onames) >= 2:
        xy, labels = points[:, :2], onames[:2]
    elif cnames:
        xy = np.column_stack([[r[ccols[0]] for r in rows], points[:, 0]])
        labels = [cnames[0], onames[0]]
    else:
        xy = np.column_stack([[r["trial"] for r in rows], points[:, 0]])
        labels = ["trial", onames[0]]
    feasible_mask = np.array([r["feasible"] for r in rows], dtype=bool)
    marks = {}
    if result.base is not None:
        marks["base scenario (its own policy)"] = xy[0]
    cons = "; ".join(c.text for c in spec.constraints) or "no constraints"
    fig = pareto_figure(
        xy,
        feasible_mask,
        np.array(front, dtype=int),
        labels,
        f"{spec.name}: {len(rows)} trials, {cons}",
        marks,
    )
    write_figure(fig, out / "pareto.png")
    result.files.append(str(out / "pareto.png"))

    for old in out.glob("best_*.toml"):
        old.unlink()
    for k, i in enumerate(front[:MAX_SCENARIOS], 1):
        r = rows[i]
        values = rounded({key: r[key] for key in keys})
        scenario = spec.base.replace(values)
        data = scenario_to_dict(scenario)
        data["name"] = f"{spec.base.name}_best_{k}"
        data["description"] = (
            f"Policy {k} of the front of {spec.name} (outreach optimize), "
            f"on {spec.base.name}'s programme"
        )
        header = [
            f"Policy {k} of the Pareto front found by `outreach optimize` "
            f"({spec.source}, trial {r['trial']}, {spec.runs_of_seeds()} "
            "on common random numbers):"
        ]
        header += [f"  {o}: {r[o]:.5g}" for o in onames]
        header += [f"  {c}: {r[c]:.5g}" for c in ccols]
        header.append(f"Compare it with the base: outreach compare {spec.base.name} best_{k}.toml")
        notes = {key: "searched" for key in keys}
        write_text_atomic(out / f"best_{k}.toml", scenario_toml(data, header, notes), "--out")
        result.files.append(str(out / f"best_{k}.toml"))
    summary = {
        "name": spec.name,
        "trials": len(rows),
        "feasible": len(feasible),
        "front": result.front,
        "base": result.base,
    }
    write_text_atomic(
        out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n", "--out"
    )
    result.files.append(str(out / "summary.json"))

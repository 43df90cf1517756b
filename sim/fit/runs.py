"""Running a round of trials on the sweep's executors, on common random numbers.

Every trial of a fit or a search runs replicates ``0 .. R-1`` of each of the same root seeds
(one or several), so two trials differ only where their parameters differ (common random
numbers): the objective is then a
much smoother function of the parameters than with fresh noise per trial, which both the
optimiser and the posterior's weights need (Law 2015, Simulation Modeling and Analysis,
ch. 11).

A trial's runs (seeds x replicates) go to the executor as one batch
``(trial, values, seed, replicate)``, the shape of a sweep's runs; :func:`run_fit_batch` runs
them and returns, for each run, one value per measure. A measure is an expression on the
trial's scenario, or the paired difference of an expression between two variants of it (an
effect target: ``to`` minus ``from``, each variant the trial's scenario with the variant's
overrides applied last, run on the same seed and replicate). Each distinct variant is run
once per seed and replicate, however many measures use it. The executors
(:class:`sim.sweep.executors.LocalExecutor`, :class:`~sim.sweep.executors.DaskExecutor`) are
the sweep's own; :class:`InlineExecutor` runs batches in this process, for small fits and
tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["InlineExecutor", "make_fit_job", "run_fit_batch", "run_round", "variants_of"]

_cache: dict[str, Any] = {}


def make_fit_job(
    base,
    keys: Sequence[str],
    expressions: Sequence[Any],
    identity: str,
    tied: Sequence[tuple[str, str, float]] = (),
    contrasts: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """What every task of a fit shares: the base scenario, the keys, the measures.

    Args:
        base: the base scenario (with the file's ``[set]``).
        keys: the dotted keys a trial sets, in order.
        expressions: the checked expressions (their text travels; workers compile again).
        identity: names this job in a worker's cache.
        tied: ``(key, fitted key, ratio)`` set along with the fitted keys.
        contrasts: per expression, None (measured on the trial's scenario) or the
            ``(from, to)`` overrides of an effect (:attr:`sim.fit.spec.Target.contrast`).
    """
    from sim.model.scenario import scenario_to_dict

    variants, measures = variants_of(contrasts or [None] * len(expressions))
    return {
        "task": "sim.fit.runs:run_fit_batch",
        "identity": identity,
        "base": scenario_to_dict(base),
        "keys": list(keys),
        "expressions": [e.text for e in expressions],
        "tied": [list(t) for t in tied],
        "variants": [[list(kv) for kv in v] for v in variants],
        "measures": measures,
    }


def variants_of(contrasts: Sequence[Any]) -> tuple[list[tuple], list[list[int]]]:
    """The distinct variants a set of measures runs, and each measure's ``[to, from]``.

    Variant 0 is the trial's own scenario (no overrides); an empty ``from`` or ``to`` is it
    too. A plain measure is ``[0, -1]`` (no ``from``).
    """
    variants: list[tuple] = [()]
    measures = []

    def index(overrides: tuple) -> int:
        if overrides not in variants:
            variants.append(overrides)
        return variants.index(overrides)

    for contrast in contrasts:
        if contrast is None:
            measures.append([0, -1])
        else:
            frm, to = contrast
            measures.append([index(tuple(to)), index(tuple(frm))])
    return variants, measures


def run_fit_batch(
    job: dict[str, Any], batch: Sequence[tuple[int, Sequence[Any], int, int]]
) -> list[dict[str, Any]]:
    """Run a batch of a fit's runs; one plain row per run.

    Args:
        job: from :func:`make_fit_job`.
        batch: runs as ``(trial, values, seed, replicate)``.

    Returns:
        Rows ``{"point": trial, "seed": s, "replicate": r, "values": [one number per
        measure]}``.
    """
    from sim.sweep.executors import one_numba_thread

    one_numba_thread()  # the workers are the parallelism
    from sim.fit.expressions import compile_expression, run_measures
    from sim.model.outreach import OutreachModel
    from sim.model.scenario import scenario_from_dict

    cached = _cache.get(job["identity"])
    if cached is None:
        base = scenario_from_dict(job["base"], "<fit base scenario>")
        exprs = [compile_expression(t, "expression") for t in job["expressions"]]
        names = sorted(set().union(*(e.names for e in exprs)))
        cached = (base, exprs, names)
        _cache.clear()
        _cache[job["identity"]] = cached
    base, exprs, names = cached
    variants = [dict((k, v) for k, v in var) for var in job.get("variants", [[]])]
    measures = job.get("measures") or [[0, -1]] * len(exprs)
    used = sorted({v for m in measures for v in m if v >= 0})
    rows = []
    current: tuple[tuple[int, int], dict[int, Any]] = ((-1, -1), {})
    for trial, values, seed, replicate in batch:
        if current[0] != (trial, seed):
            overrides = dict(zip(job["keys"], values, strict=True))
            overrides.update(tied_values(job.get("tied", ()), overrides))
            # A variant's keys come after the trial's fitted and tied values.
            scenarios = {
                v: base.replace({**overrides, **variants[v], "run.seed": int(seed)}) for v in used
            }
            current = ((trial, seed), scenarios)
        measured = {}
        for v, scenario in current[1].items():
            model = OutreachModel(scenario, int(replicate))
            model.run()
            measured[v] = run_measures(model, names)
        out = []
        for e, (to, frm) in zip(exprs, measures, strict=True):
            value = e(measured[to])
            out.append(value if frm < 0 else value - e(measured[frm]))
        rows.append(
            {
                "point": int(trial),
                "seed": int(seed),
                "replicate": int(replicate),
                "values": out,
            }
        )
    return rows


def tied_values(tied, values: dict[str, Any]) -> dict[str, float]:
    """The tied keys' values for a trial's fitted ``values``."""
    from sim.fit.spec import tie_value

    return {key: tie_value(values[to], ratio) for key, to, ratio in tied}


class InlineExecutor:
    """Runs batches in this process, one after another (the executors' interface)."""

    name = "inline"
    workers = 1

    def __init__(self):
        self._todo: list[tuple[dict[str, Any], list]] = []

    def describe(self) -> str:
        """One line naming the executor."""
        return "this process"

    def submit(self, job: dict[str, Any], batches: list[list]) -> None:
        """Queue every batch."""
        self._todo += [(job, b) for b in batches]

    def results(self) -> Iterator[list[dict[str, Any]]]:
        """Row lists, batch by batch."""
        from sim.sweep.executors import run_batch

        while self._todo:
            job, batch = self._todo.pop(0)
            yield run_batch(job, batch)

    def stop(self, grace: float = 10.0) -> list[list[dict[str, Any]]]:
        """Drop what has not run."""
        self._todo.clear()
        return []

    def close(self) -> None:
        """Nothing to close."""


def run_round(
    executor,
    job: dict[str, Any],
    trials: Sequence[tuple[int, Sequence[Any]]],
    seeds: int | Sequence[int],
    replicates: int,
    on_run: Callable[[], None] | None = None,
) -> dict[int, list[list[float]]]:
    """Run every replicate of every seed of each trial; each trial's rows, run by run.

    Args:
        executor: a sweep executor or :class:`InlineExecutor`.
        job: from :func:`make_fit_job`.
        trials: ``(trial number, values of job["keys"])``.
        seeds: the root seed or seeds every trial shares (common random numbers).
        replicates: runs per trial and seed.
        on_run: called once per run finished (progress).

    Returns:
        ``{trial: [[value per measure] per run]}``, seed by seed (in the given order) and
        within a seed replicate by replicate.

    Raises:
        KeyboardInterrupt: Ctrl-C; the executor has stopped what had not finished.
    """
    seeds = [int(seeds)] if isinstance(seeds, int) else [int(s) for s in seeds]
    runs = [(s, r) for s in seeds for r in range(replicates)]
    batches = [[(t, list(v), s, r) for s, r in runs] for t, v in trials]
    got: dict[int, dict[tuple[int, int], list[float]]] = defaultdict(dict)
    try:
        executor.submit(job, batches)
        for rows in executor.results():
            for row in rows:
                got[row["point"]][(row["seed"], row["replicate"])] = row["values"]
                if on_run:
                    on_run()
    except KeyboardInterrupt:
        try:
            executor.stop(grace=2.0)
        except KeyboardInterrupt:
            pass
        raise
    return {t: [got[t][run] for run in runs] for t, _ in trials}

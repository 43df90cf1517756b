"""Running replicates of a scenario and summarising them.

Replicates run in threads: the weekly kernel releases the GIL, so two cores run two replicates
at once without copying the graph into other processes. Each replicate's streams derive from
``(run.seed, replicate)`` only, so results are the same for any number of workers.

Ctrl-C stops an ensemble within a week of the model: replicates check a stop flag between
weeks, replicates not yet started are cancelled, and the worker threads are joined before the
``KeyboardInterrupt`` goes on to the caller, so nothing keeps running behind it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.ensemble import compiling
from sim.ensemble.compiling import expect as expect_compiling
from sim.ensemble.compiling import thread_compile_seconds
from sim.model.events import EventRecorder
from sim.model.metrics import group_reach, interval, peers_leaving, summarise
from sim.model.outreach import WEEKLY_SERIES, OutreachModel
from sim.model.scenario import Scenario
from sim.model.world import World, build_world, world_count

__all__ = [
    "EnsembleResult",
    "RunCancelled",
    "RunResult",
    "run_ensemble",
    "run_replicate",
    "run_tasks",
]

# Count compile time from here on: every run whose time split is reported comes through here.
compiling.install()

#: How often, in seconds, the waiting main thread looks at its caller's stop event. Waits are
#: in short slices so that a caller's stop is seen promptly on any platform.
_POLL_SECONDS = 0.2


class RunCancelled(KeyboardInterrupt):
    """A run stopped before it finished because its stop event was set.

    A ``KeyboardInterrupt``, so that code catching ``Exception`` does not swallow it and the
    command line treats it as Ctrl-C: one line, exit status 130.
    """


@dataclass
class RunResult:
    """Plain results of one replicate (no model objects, so they travel between processes)."""

    replicate: int
    metrics: dict[str, float]
    groups: dict[str, Any]
    weekly: dict[str, list[float]]
    #: The measured period year by year (:meth:`~sim.model.outreach.OutreachModel.years`).
    years: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds spent getting the world (building it, or waiting for another thread's build).
    world_seconds: float = 0.0
    #: Seconds spent in the model: construction (peer recruitment) and every week.
    model_seconds: float = 0.0
    #: Seconds spent compiling numba kernels (a first run on an empty cache), counted apart:
    #: not in ``world_seconds`` or ``model_seconds``.
    compile_seconds: float = 0.0


@dataclass
class EnsembleResult:
    """Results of all replicates of a scenario, with summaries."""

    scenario: Scenario
    runs: list[RunResult] = field(default_factory=list)

    def metrics(self) -> dict[str, dict[str, float]]:
        """Mean and 95% interval of each metric over replicates."""
        return summarise([r.metrics for r in self.runs])

    def metric_values(self, name: str) -> np.ndarray:
        """One metric's value in every replicate, in replicate order."""
        return np.array([r.metrics[name] for r in self.runs], dtype=float)

    def groups(self) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
        """Reach by subgroup and locality, each measure summarised over replicates."""
        first = self.runs[0].groups
        return {
            attr: {
                label: {
                    m: interval([r.groups[attr][label][m] for r in self.runs])
                    for m in first[attr][label]
                }
                for label in first[attr]
            }
            for attr in first
        }

    def seconds(self) -> dict[str, float]:
        """Seconds over all replicates getting worlds, in the model and compiling kernels.

        Summed over threads; compiling is counted apart from the other two.
        """
        return {
            "world": float(sum(r.world_seconds for r in self.runs)),
            "model": float(sum(r.model_seconds for r in self.runs)),
            "compile": float(sum(r.compile_seconds for r in self.runs)),
        }

    def years(self) -> list[dict[str, Any]]:
        """The measured period year by year, each metric summarised over replicates.

        ``[{"year": 1, "weeks": 52, "metrics": {NAME: {"mean", "ci_low", "ci_high", ...}}},
        ...]``, as :func:`~sim.model.metrics.summarise` gives them.
        """
        first = self.runs[0].years if self.runs else []
        return [
            {
                "year": y["year"],
                "weeks": y["weeks"],
                "metrics": summarise([r.years[k]["metrics"] for r in self.runs]),
            }
            for k, y in enumerate(first)
        ]

    def weekly(self) -> dict[str, dict[str, list[float]]]:
        """Each weekly series summarised week by week: mean and 95% interval."""
        out: dict[str, dict[str, list[float]]] = {}
        for name in WEEKLY_SERIES:
            table = np.array([r.weekly[name] for r in self.runs], dtype=float)
            cols = [interval(table[:, t]) for t in range(table.shape[1])]
            out[name] = {k: [c[k] for c in cols] for k in ("mean", "ci_low", "ci_high")}
        return out


def run_replicate(
    scenario: Scenario,
    replicate: int,
    *,
    stop: threading.Event | None = None,
    world: World | None = None,
    events: Callable[[int], EventRecorder] | None = None,
) -> RunResult:
    """Build, run and measure one replicate.

    Args:
        scenario: the scenario.
        replicate: the replicate's index (its streams derive from it).
        stop: when given and set, the replicate stops before its next week.
        world: the world to run in; by default :func:`sim.model.world.build_world`'s (cached).
        events: when given, called with the replicate's index for the
            :class:`~sim.model.events.EventRecorder` of its event history, which is closed
            when the run ends (aborted if it does not).

    Raises:
        RunCancelled: ``stop`` was set before the replicate finished.
    """
    if stop is not None:
        _check(stop, replicate)
    recorder = events(replicate) if events is not None else None
    try:
        compile_start = thread_compile_seconds()
        start = time.perf_counter()
        if world is None:
            world = build_world(scenario, replicate)
        built = time.perf_counter()
        compile_built = thread_compile_seconds()
        model = OutreachModel(scenario, replicate, world, events=recorder or False)
        if stop is None:
            model.run()
        else:
            # One week per kernel call: checking between weeks stops a replicate within one call.
            for _ in range(scenario.run.history_weeks + scenario.run.weeks):
                _check(stop, replicate)
                model.step()
        end = time.perf_counter()
        compile_end = thread_compile_seconds()
    except BaseException:
        if recorder is not None:
            recorder.abort()
        raise
    if recorder is not None:
        recorder.close()
    world_compile, model_compile = compile_built - compile_start, compile_end - compile_built
    return RunResult(
        replicate,
        model.metrics(),
        {**group_reach(model), "peers_left": peers_leaving(model)},
        model.weekly,
        model.years(),
        world_seconds=built - start - world_compile,
        model_seconds=end - built - model_compile,
        compile_seconds=world_compile + model_compile,
    )


def _check(stop: threading.Event, replicate: int) -> None:
    if stop.is_set():
        raise RunCancelled(f"replicate {replicate} stopped")


def worlds_line(scenario: Scenario, result: EnsembleResult, built: int) -> str:
    """One line on the worlds an ensemble ran in and where its time went.

    Args:
        scenario: the scenario run.
        result: its results (their seconds getting worlds and in the model).
        built: worlds this process built for it (from :func:`sim.model.world.world_stats`).
    """
    reps = len(result.runs)
    worlds, n = scenario.run.worlds, world_count(scenario)
    if worlds and reps > worlds:
        what = (
            f"{built} built, shared by {reps} replicates (run.worlds = {worlds}: "
            f"replicate r lives in world r mod {worlds})"
        )
    elif n == 1 and reps > 1:
        what = (
            f"one world shared by the {reps} replicates, their peers starting in different "
            f"places of it ({built} built; automatic from run.shared_world_from = "
            f"{scenario.run.shared_world_from:,} people; run.worlds = N for N worlds)"
        )
    elif built < reps:
        what = f"{built} built, {reps - built} reused from this process's cache"
    else:
        what = f"one per replicate ({built} built; run.worlds = N shares N worlds)"
    sec = result.seconds()
    total = sec["world"] + sec["model"]
    share = sec["world"] / total if total > 0 else 0.0
    # Compiling happens once per installation (numba's cache), so it is kept out of the split.
    compiled = (
        (f"; {sec['compile']:.1f} s compiling the kernels once (numba's cache: later runs skip it)")
        if sec["compile"] >= 0.05
        else ""
    )
    return (
        f"worlds: {what}; {sec['world']:.1f} s getting worlds, {sec['model']:.1f} s in the "
        f"model ({share:.0%} on worlds; thread seconds){compiled}"
    )


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_ensemble(
    scenario: Scenario,
    replicates: int | None = None,
    *,
    workers: int | None = None,
    first_replicate: int = 0,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    events: Callable[[int], EventRecorder] | None = None,
) -> EnsembleResult:
    """Run replicates ``first_replicate ..`` of a scenario, in parallel threads.

    Args:
        scenario: the scenario (its ``run.seed`` roots every stream).
        replicates: how many (default ``scenario.run.replicates``).
        workers: threads (default: all cores); results do not depend on it.
        first_replicate: index of the first replicate.
        progress: called with (done, total) after each replicate finishes.
        stop: when set (from another thread), the ensemble stops within about one week of the
            model and raises :class:`RunCancelled`.
        events: the event recorder of each replicate, by index (see :func:`run_replicate`;
            :class:`sim.output.events.EventsFile` gathers them into one Parquet file).

    Returns:
        The runs in replicate order.

    Raises:
        RunCancelled: ``stop`` was set before every replicate finished.
        KeyboardInterrupt: Ctrl-C; the worker threads have stopped when it arrives.

    Examples:
        Two replicates of a small scenario: each metric's mean and 95% interval.

        >>> from importlib.resources import files
        >>> from sim import load_scenario, run_ensemble
        >>> scenario = load_scenario(
        ...     files("sim.scenarios") / "baseline.toml",
        ...     {"population.size": 300, "run.weeks": 4},
        ... )
        >>> result = run_ensemble(scenario, replicates=2, workers=1)
        >>> len(result.runs)
        2
        >>> contacted = result.metrics()["clients_contacted"]
        >>> contacted["ci_low"] <= contacted["mean"] <= contacted["ci_high"]
        True
        >>> 0 <= contacted["mean"] <= 300
        True
    """
    total = scenario.run.replicates if replicates is None else replicates
    indices = range(first_replicate, first_replicate + max(0, total))
    result = EnsembleResult(scenario)
    result.runs = run_tasks(
        [(scenario, r) for r in indices],
        workers=workers,
        progress=progress,
        stop=stop,
        events=events,
    )
    return result


def run_tasks(
    tasks: Sequence[tuple[Scenario, int]],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    events: Callable[[int], EventRecorder] | None = None,
) -> list[RunResult]:
    """Run ``(scenario, replicate)`` tasks in parallel threads; results in task order.

    Tasks that share a world (the same world settings, seed and world index) run close
    together when listed together, and the world cache makes a thread that asks for a world
    another is building wait for it, so each world is built once.

    Args:
        tasks: what to run, in the order to start it.
        workers: threads (default: all cores); results do not depend on it.
        progress: called with (done, total) after each task finishes.
        stop: when set (from another thread), the runs stop within about one week of the
            model and :class:`RunCancelled` is raised.
        events: each task's event recorder, by replicate index (see :func:`run_replicate`).

    Raises:
        RunCancelled: ``stop`` was set before every task finished.
        KeyboardInterrupt: Ctrl-C; the worker threads have stopped when it arrives.
    """
    total = len(tasks)
    workers = default_workers() if workers is None else max(1, workers)
    if total == 0:
        return []
    if workers == 1 or total == 1:
        expect_compiling(tasks[0][0])
        runs = []
        for done, (scenario, r) in enumerate(tasks, 1):
            runs.append(run_replicate(scenario, r, stop=stop, events=events))
            if progress:
                progress(done, total)
        return runs
    # Run the first task alone, so numba's compilation happens once, not per thread.
    expect_compiling(tasks[0][0])
    runs = [run_replicate(*tasks[0], stop=stop, events=events)]
    if progress:
        progress(1, total)
    # The workers' own stop flag: set on Ctrl-C, on an error, or when the caller's stop is set.
    halt = threading.Event()
    pool = ThreadPoolExecutor(
        max_workers=workers,
        thread_name_prefix="replicate",
        initializer=_share_numba_threads,
        initargs=(workers,),
    )
    try:
        futures = [
            pool.submit(run_replicate, scenario, r, stop=halt, events=events)
            for scenario, r in tasks[1:]
        ]
        for done, fut in enumerate(futures, 2):
            runs.append(_wait(fut, stop))
            if progress:
                progress(done, total)
    finally:
        _stop_workers(pool, halt)
    return runs


def _share_numba_threads(workers: int) -> None:
    """Give a worker thread its share of numba's threads (for building worlds in parallel).

    The replicates are the parallelism: two workers on two cores each build with one thread
    rather than both starting two. numba's thread count is a per-thread setting.
    """
    import numba

    # The configured maximum; numba's stubs do not declare its config's attributes.
    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, most // workers))


def _wait(fut, stop: threading.Event | None) -> RunResult:
    """A replicate's result, waited for in short slices so a caller's stop is seen."""
    while True:
        if stop is not None and stop.is_set():
            raise RunCancelled("stopped")
        try:
            return fut.result(timeout=_POLL_SECONDS)
        except FutureTimeout:
            continue


def _stop_workers(pool: ThreadPoolExecutor, halt: threading.Event) -> None:
    """Cancel the replicates not started, stop the running ones, and join the threads.

    Running replicates stop at their next week, so this takes about one week of the model.
    A further Ctrl-C while waiting must not leave threads running behind the caller (the
    interpreter would then join them at exit, with a traceback on the next Ctrl-C), so it is
    absorbed here; the first interrupt is already on its way to the caller.
    """
    while True:
        try:
            halt.set()
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue

"""Running replicates of a scenario and summarising them.

Replicates run in threads: the weekly kernel releases the GIL, so two cores run two replicates
at once without copying the graph into other processes. Each replicate's streams derive from
``(run.seed, replicate)`` only, so results are the same for any number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model.metrics import group_reach, interval, summarise
from sim.model.outreach import WEEKLY_SERIES, OutreachModel
from sim.model.scenario import Scenario

__all__ = ["EnsembleResult", "RunResult", "run_ensemble", "run_replicate"]


@dataclass
class RunResult:
    """Plain results of one replicate (no model objects, so they travel between processes)."""

    replicate: int
    metrics: dict[str, float]
    groups: dict[str, Any]
    weekly: dict[str, list[float]]


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
                label: {m: interval([r.groups[attr][label][m] for r in self.runs])
                        for m in first[attr][label]}
                for label in first[attr]
            }
            for attr in first
        }

    def weekly(self) -> dict[str, dict[str, list[float]]]:
        """Each weekly series summarised week by week: mean and 95% interval."""
        out: dict[str, dict[str, list[float]]] = {}
        for name in WEEKLY_SERIES:
            table = np.array([r.weekly[name] for r in self.runs], dtype=float)
            cols = [interval(table[:, t]) for t in range(table.shape[1])]
            out[name] = {k: [c[k] for c in cols] for k in ("mean", "ci_low", "ci_high")}
        return out


def run_replicate(scenario: Scenario, replicate: int) -> RunResult:
    """Build, run and measure one replicate."""
    model = OutreachModel(scenario, replicate)
    model.run()
    return RunResult(replicate, model.metrics(), group_reach(model), model.weekly)


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_ensemble(scenario: Scenario, replicates: int | None = None, *, workers: int | None = None,
                 first_replicate: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> EnsembleResult:
    """Run replicates ``first_replicate ..`` of a scenario, in parallel threads.

    Args:
        scenario: the scenario (its ``run.seed`` roots every stream).
        replicates: how many (default ``scenario.run.replicates``).
        workers: threads (default: all cores); results do not depend on it.
        first_replicate: index of the first replicate.
        progress: called with (done, total) after each replicate finishes.

    Returns:
        The runs in replicate order.
    """
    total = scenario.run.replicates if replicates is None else replicates
    workers = default_workers() if workers is None else max(1, workers)
    indices = range(first_replicate, first_replicate + total)
    result = EnsembleResult(scenario)
    if workers == 1 or total == 1:
        runs = []
        for done, r in enumerate(indices, 1):
            runs.append(run_replicate(scenario, r))
            if progress:
                progress(done, total)
    else:
        # Build the first replicate alone, so numba's compilation happens once, not per thread.
        runs = [run_replicate(scenario, indices[0])]
        if progress:
            progress(1, total)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_replicate, scenario, r) for r in indices[1:]]
            for done, fut in enumerate(futures, 2):
                runs.append(fut.result())
                if progress:
                    progress(done, total)
    result.runs = runs
    return result

"""Comparing scenarios on common random numbers: the runs and their paired differences.

Every scenario of a comparison runs with one root seed and the same replicate indices, so
replicate ``r`` of each scenario draws from the streams of ``(seed, r)``. Where two scenarios'
policies agree they see the same graph and the same random numbers, so the replicate-by-replicate
difference ``d_r = metric(B, r) - metric(A, r)`` removes most of the luck, and its interval is
much narrower than the intervals of the two scenarios alone (common random numbers; Law &
Kelton, *Simulation Modeling and Analysis*, ch. 11).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import UserInputError
from sim.model.metrics import METRICS, YEAR_METRICS, interval
from sim.model.scenario import Scenario, scenario_to_dict
from sim.model.world import WORLD_SECTIONS

__all__ = [
    "SHARED_LUCK",
    "WORLD_SECTIONS",
    "Comparison",
    "align_run_settings",
    "differing_settings",
    "paired_difference",
    "run_comparison",
]

#: What common random numbers share between compared scenarios, and what they cannot.
SHARED_LUCK = (
    "shared: the world (unless population, network or clients settings differ), each peer "
    "kind's recruits and start energies, and every draw keyed by person and week",
    "not shared: what follows from the settings that differ (an extra peer's own clients, the "
    "professionals' hours peers share, a client's path after meeting another peer)",
)

#: Keys that label a scenario or set how it is run; never a difference between programmes.
_NOT_SETTINGS = ("name", "description", "run.seed", "run.replicates", "run.weeks")


def paired_difference(first: Sequence[float], other: Sequence[float]) -> dict[str, Any]:
    """Mean and 95% Student-t interval of the replicate-by-replicate difference ``other - first``.

    Replicates where either value is not finite (for example a cost per linked client with no
    client linked) are left out of both.

    Args:
        first: the first scenario's metric, one value per replicate, in replicate order.
        other: the other scenario's metric for the same replicates.

    Returns:
        ``mean``, ``ci_low``, ``ci_high``, ``sd``, ``n`` and ``distinguishable`` (the interval
        excludes 0; False when it cannot be computed).
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(other, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    d = interval(b[both] - a[both])
    lo, hi = d["ci_low"], d["ci_high"]
    d["distinguishable"] = bool(math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0))
    return d


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of nested tables; lists of tables are addressed by index (``a.0.b``)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = data
    return out


def differing_settings(scenarios: Sequence[Scenario]) -> dict[str, list[Any]]:
    """Settings whose values are not the same in every scenario, each with its values in order.

    A key missing from a scenario (a locality another scenario does not have) shows as None.
    """
    flat = [_flatten(scenario_to_dict(s)) for s in scenarios]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    out = {}
    for key in keys:
        if key in _NOT_SETTINGS:
            continue
        values = [f.get(key) for f in flat]
        if any(v != values[0] for v in values[1:]):
            out[key] = values
    return out


def _world_keys(differing: dict[str, list[Any]]) -> list[str]:
    return [k for k in differing if k.split(".")[0] in WORLD_SECTIONS]


def align_run_settings(
    scenarios: Sequence[Scenario],
    *,
    seed: int | None = None,
    replicates: int | None = None,
    weeks: int | None = None,
) -> tuple[list[Scenario], list[str]]:
    """Give every scenario one seed, one number of replicates and one number of weeks.

    Each of the three comes from the command line when given, else from the first scenario.

    Returns:
        The aligned scenarios and a note for each setting that a scenario had different, so
        the output can say where the numbers came from.
    """
    first = scenarios[0].run
    chosen = {
        "seed": (seed, first.seed),
        "replicates": (replicates, first.replicates),
        "weeks": (weeks, first.weeks),
    }
    notes = []
    for key, (given, own) in chosen.items():
        value = own if given is None else given
        if given is None and any(getattr(s.run, key) != value for s in scenarios[1:]):
            notes.append(
                f"run.{key} = {value} for every scenario, from the first scenario "
                f"(give --{key} to choose)"
            )
    values = {f"run.{k}": own if given is None else given for k, (given, own) in chosen.items()}
    aligned = []
    for s in scenarios:
        if any(getattr(s.run, k.split(".")[1]) != v for k, v in values.items()):
            s = s.replace(values)
        aligned.append(s)
    return aligned, notes


def _labels(scenarios: Sequence[Scenario]) -> list[str]:
    """Scenario names, made unique by a number where two share one."""
    labels: list[str] = []
    for s in scenarios:
        label, k = s.name, 2
        while label in labels:
            label, k = f"{s.name} ({k})", k + 1
        labels.append(label)
    return labels


@dataclass
class Comparison:
    """The ensembles of several scenarios run on common random numbers.

    Attributes:
        results: one :class:`~sim.ensemble.replicates.EnsembleResult` per scenario, in the
            order given; the first is the reference every difference is taken to.
        labels: unique scenario labels for tables and plots.
        notes: where shared run settings came from, and whether the worlds differ.
    """

    results: list[Any]
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def scenarios(self) -> list[Scenario]:
        """The scenarios as run (aligned run settings)."""
        return [r.scenario for r in self.results]

    @property
    def run(self):
        """The shared run settings (seed, replicates, weeks)."""
        return self.scenarios[0].run

    def summaries(self) -> dict[str, dict[str, dict[str, float]]]:
        """Mean and 95% interval of each metric, per scenario label."""
        return {label: r.metrics() for label, r in zip(self.labels, self.results, strict=True)}

    def differences(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Paired difference to the first scenario of each metric, per other scenario label."""
        first = self.results[0]
        return {
            label: {
                m: paired_difference(first.metric_values(m), r.metric_values(m)) for m in METRICS
            }
            for label, r in zip(self.labels[1:], self.results[1:], strict=True)
        }

    def years(self) -> dict[str, list[dict[str, Any]]]:
        """Each scenario's measured period year by year, per scenario label.

        As :meth:`~sim.ensemble.replicates.EnsembleResult.years` gives them: ``[{"year",
        "weeks", "metrics": {NAME: {"mean", "ci_low", "ci_high", "sd", "n"}}}, ...]``.
        """
        return {label: r.years() for label, r in zip(self.labels, self.results, strict=True)}

    def year_differences(self) -> dict[str, list[dict[str, Any]]]:
        """Paired difference to the first scenario of each year's measures, per other label.

        ``[{"year", "weeks", "metrics": {NAME: difference}}, ...]``, each difference as
        :func:`paired_difference` gives it, replicate by replicate within the year.
        """
        first = self.results[0]
        out = {}
        for label, r in zip(self.labels[1:], self.results[1:], strict=True):
            years = []
            for k, year in enumerate(first.runs[0].years if first.runs else []):
                a = [run.years[k]["metrics"] for run in first.runs]
                b = [run.years[k]["metrics"] for run in r.runs]
                years.append(
                    {
                        "year": year["year"],
                        "weeks": year["weeks"],
                        "metrics": {
                            m: paired_difference([x[m] for x in a], [y[m] for y in b])
                            for m in YEAR_METRICS
                            if m in year["metrics"]
                        },
                    }
                )
            out[label] = years
        return out

    def history_weeks(self) -> dict[str, int]:
        """Each scenario's ``run.history_weeks`` (weeks run before the measured ones), by label."""
        return {
            label: s.run.history_weeks for label, s in zip(self.labels, self.scenarios, strict=True)
        }

    def settings_that_differ(self) -> dict[str, list[Any]]:
        """Settings (not labels or run settings) that differ between scenarios."""
        return differing_settings(self.scenarios)

    def world_keys(self) -> list[str]:
        """Differing settings that shape the world: differences then include the world's."""
        return _world_keys(self.settings_that_differ())


def run_comparison(
    scenarios: Sequence[Scenario],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    notes: Sequence[str] = (),
    stop: threading.Event | None = None,
) -> Comparison:
    """Run every scenario's replicates ``0 .. R-1`` on the streams of its (shared) seed.

    Args:
        scenarios: at least one scenario, run settings already aligned
            (:func:`align_run_settings`).
        workers: threads per ensemble (default all cores); results do not depend on it.
        progress: called with (runs done, runs in all) over every scenario's runs.
        notes: notes to carry into the output (from :func:`align_run_settings`).
        stop: when set (from another thread), the running stops within about one week of the
            model and raises :class:`~sim.ensemble.replicates.RunCancelled`; Ctrl-C stops it
            as promptly.

    Raises:
        UserInputError: no scenario, or run settings that are not shared.
        KeyboardInterrupt: Ctrl-C or ``stop``; no replicate is still running when it arrives.
    """
    from sim.ensemble.replicates import EnsembleResult, run_tasks  # numba: only when something runs
    from sim.model.world import world_stats

    if not scenarios:
        raise UserInputError("compare: give at least one scenario")
    runs = {(s.run.seed, s.run.replicates, s.run.weeks) for s in scenarios}
    if len(runs) > 1:
        raise UserInputError(
            "compare: scenarios must share run.seed, run.replicates and "
            "run.weeks (use align_run_settings)"
        )
    reps = scenarios[0].run.replicates
    # Replicate by replicate, every scenario in turn: scenarios that share the world of
    # replicate r run while it is in the cache, so it is built once whatever the replicates.
    tasks = [(s, r) for r in range(reps) for s in scenarios]
    before = world_stats()
    done = run_tasks(tasks, workers=workers, progress=progress, stop=stop)
    after = world_stats()
    results = [EnsembleResult(s) for s in scenarios]
    for k, run in enumerate(done):
        results[k % len(scenarios)].runs.append(run)
    comparison = Comparison(results, _labels(scenarios), list(notes))
    built = int(after["built"] - before["built"])
    if len(scenarios) > 1 and built < len(tasks):
        comparison.notes.append(
            f"worlds shared: {built} world{'s' if built != 1 else ''} built for {len(tasks)} "
            "runs (scenarios with the same population, network and clients settings run "
            "replicate r in the same world)"
        )
    world = comparison.world_keys()
    if world:
        shown = ", ".join(world[:4]) + (f" and {len(world) - 4} more" if len(world) > 4 else "")
        comparison.notes.append(
            f"the scenarios' populations, networks or clients differ ({shown}): each difference "
            "includes the effect of a different world, not only of a different policy"
        )
    return comparison

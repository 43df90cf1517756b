"""Warnings before work this machine will struggle with: memory, cores, a sweep's size.

Each warning is one line on standard error, ``outreach: warning: ...``; the command goes on,
since an estimate can be wrong and the user may know better. Nothing here needs psutil: the
memory is read from ``/proc/meminfo`` (Linux) or ``os.sysconf``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

__all__ = ["SWEEP_RUNS_WARNING", "available_memory", "run_memory", "warn",
           "warn_before_runs", "warn_before_sweep", "warn_workers"]

#: A sweep of more runs than this gets a warning before it starts.
SWEEP_RUNS_WARNING = 100_000

#: Memory of a process with the package's libraries loaded (numba, numpy, scipy), in bytes.
_BASE_BYTES = 300 * 2**20
#: A running replicate: graph construction, the model's state and its temporaries, per person
#: and per tie (measured at 50,000-400,000 people with mean degree 10 and 30).
_RUN_PER_PERSON, _RUN_PER_TIE = 200, 110
#: A finished replicate's world kept for scenarios that share it (common random numbers).
_WORLD_PER_PERSON, _WORLD_PER_TIE = 20, 12
#: How many finished worlds a process keeps, for the estimate (sim.model.world keeps the
#: latest up to WORLD_CACHE_BYTES; a comparison runs replicate by replicate and needs few).
_WORLDS_KEPT = 8


def warn(text: str) -> None:
    """Print one warning line on standard error."""
    print(f"outreach: warning: {text}", file=sys.stderr, flush=True)


def available_memory() -> int | None:
    """Memory the machine can give now, in bytes (MemAvailable, else all); None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX, or not known
        return None


def run_memory(people: int, mean_degree: float, running: int, kept: int) -> int:
    """Estimated peak memory of one process running replicates, in bytes.

    Args:
        people: people in the world.
        mean_degree: ties per person.
        running: replicates running at once in the process.
        kept: finished worlds the process keeps.
    """
    run = people * (_RUN_PER_PERSON + _RUN_PER_TIE * mean_degree)
    world = people * (_WORLD_PER_PERSON + _WORLD_PER_TIE * mean_degree)
    return int(_BASE_BYTES + running * run + kept * world)


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _mean_degree(scenario) -> float:
    return float(scenario.network.mean_degree)


def warn_workers(workers: int | None, option: str = "--workers") -> None:
    """Warn when more workers are asked for than the machine has cores."""
    cores = os.cpu_count()
    if workers is not None and cores is not None and workers > cores:
        warn(f"{option} {workers} is more than this machine's {cores} cores: the runs share "
             "the cores and go slower, not faster (results do not depend on it)")


def warn_before_runs(scenarios: Sequence, workers: int | None) -> None:
    """Warn before runs whose memory will not fit, or with more workers than cores.

    Args:
        scenarios: the scenarios to run (one after the other, each over its replicates).
        workers: the --workers given (None: all cores).
    """
    from sim.ensemble.replicates import default_workers
    from sim.model.world import world_size

    warn_workers(workers)
    free = available_memory()
    if free is None or not scenarios:
        return
    threads = workers or default_workers()
    need, worst = 0, None
    for s in scenarios:
        people = world_size(s)
        reps = s.run.replicates
        bytes_ = run_memory(people, _mean_degree(s), min(threads, reps),
                            min(_WORLDS_KEPT, reps))
        if bytes_ > need:
            need, worst = bytes_, (s, people, min(threads, reps))
    if need > free:
        s, people, running = worst
        warn(f"{s.name} needs about {_gb(need)} of memory ({people:,} people, mean degree "
             f"{_mean_degree(s):g}, {running} replicates at once) and this machine has "
             f"{_gb(free)} free: it may fail or swap; lower population.size or --workers")


def warn_before_sweep(spec, runs: int, processes: int | None) -> None:
    """Warn before a sweep of very many runs, or whose local workers will not fit in memory.

    Args:
        spec: the validated sweep spec.
        runs: the sweep's runs still to do.
        processes: local worker processes (None on a cluster, whose memory is its own).
    """
    if runs > SWEEP_RUNS_WARNING:
        warn(f"this sweep has {runs:,} runs to do (more than {SWEEP_RUNS_WARNING:,}): it may "
             "take very long; lower samples, levels or replicates, or stop with Ctrl-C and "
             "resume with the same command")
    free = available_memory()
    if processes is None or free is None:
        return
    from sim.model.world import world_size

    people = max(_values(spec, "population.size", world_size(spec.base)))
    degree = max(_values(spec, "network.mean_degree", _mean_degree(spec.base)))
    need = processes * run_memory(int(people), float(degree), 1, _WORLDS_KEPT)
    if need > free:
        warn(f"{processes} worker processes need about {_gb(need)} of memory (up to "
             f"{int(people):,} people, mean degree {float(degree):g}) and this machine has "
             f"{_gb(free)} free: they may fail or swap; lower --workers")


def _values(spec, key: str, base: float) -> Iterable[float]:
    """The values a key takes in a sweep: its levels or range, else the base scenario's."""
    for p in spec.parameters:
        if p.key == key:
            return p.levels if p.levels is not None else (p.lo, p.hi)
    return (base,)

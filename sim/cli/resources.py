"""Warnings before work this machine will struggle with: memory, cores, a sweep's size.

Each warning is one line on standard error, ``outreach: warning: ...``; the command goes on,
since an estimate can be wrong and the user may know better. Nothing here needs psutil: the
memory is read from ``/proc/meminfo`` (Linux) or ``os.sysconf``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

__all__ = [
    "SWEEP_RUNS_WARNING",
    "available_memory",
    "run_memory",
    "warn",
    "warn_before_runs",
    "warn_before_sweep",
    "warn_workers",
]

#: A sweep of more runs than this gets a warning before it starts.
SWEEP_RUNS_WARNING = 100_000

#: Memory of a process with the package's libraries loaded (numba, numpy, scipy), in bytes.
_BASE_BYTES = 300 * 2**20
#: A finished world's arrays: per person the CSR row pointer (8 bytes) and the attributes
#: (about 24), per stub (a tie's end) its int32 neighbour.
_WORLD_PER_PERSON, _WORLD_PER_STUB = 32, 4
#: A world's build beyond the finished arrays: the stub arrays, their buckets and the pairing
#: rounds' scratch, per stub (measured: 31-40 bytes at 1M-2M people, mean degree 13.8).
_BUILD_PER_STUB = 36
#: A running replicate's model state: one row per person of int8, int32 and float64 columns
#: (states, trust, the peer in charge, referral waves, the reached and fresh lists) and the
#: week's scratch.
_STATE_PER_PERSON = 80


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


def run_memory(people: int, mean_degree: float, running: int, kept: int, building: int = 1) -> int:
    """Estimated peak memory of one process running replicates, in bytes.

    The estimate follows the arrays the process holds at its fullest::

        base + kept * world + max(building * build + state, running * state)

    where, for ``n`` people and ``s = n * mean_degree`` stubs (tie ends), ``world = 32 n +
    4 s`` is a finished world (row pointers, attributes, neighbours), ``build = 36 s`` what
    building one needs beyond that (stubs and the pairing's scratch), and ``state = 80 n``
    a running replicate's model. A build and the runs rarely overlap (the first replicate
    runs alone, later ones share its world or build their own one per thread), but memory
    freed after a build is not all given back to the system, so one replicate's state is
    counted on top of the builds. Measured on the project's machine (baseline scenario,
    mean degree 13.8, 2 threads, peak resident memory of ``outreach run``), the estimate is
    5-12% above the peak: 0.89 GB for 0.81 GB at 1M people, 1.5 GB for 1.4 GB at 2M, 6.5 GB
    for 6.2 GB at 10M (GB of 2**30 bytes, as the warning prints them).

    Args:
        people: people in the world.
        mean_degree: ties per person.
        running: replicates running at once in the process.
        kept: finished worlds the process holds at once.
        building: worlds built at once (threads building their own replicate's world).
    """
    stubs = people * mean_degree
    world = _WORLD_PER_PERSON * people + _WORLD_PER_STUB * stubs
    build = _BUILD_PER_STUB * stubs
    state = _STATE_PER_PERSON * people
    return int(_BASE_BYTES + kept * world + max(building * build + state, running * state))


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _mean_degree(scenario) -> float:
    return float(scenario.network.mean_degree)


def _world_degree(scenario) -> float:
    """Ties per person of the world.

    A generated world's dormant people have ties too, so that the people present have
    ``network.mean_degree`` among themselves.
    """
    if scenario.network.generator == "file":
        return _mean_degree(scenario)
    return _mean_degree(scenario) * (1.0 + scenario.population.dormant_per_person)


def _dormant(scenario) -> str:
    """What the world holds beyond the population, for a memory warning."""
    d = scenario.population.dormant_per_person
    if scenario.network.generator == "file" or d <= 0:
        return ""
    return f"{d:g} dormant per person, "


def warn_workers(workers: int | None, option: str = "--workers") -> None:
    """Warn when more workers are asked for than the machine has cores."""
    cores = os.cpu_count()
    if workers is not None and cores is not None and workers > cores:
        warn(
            f"{option} {workers} is more than this machine's {cores} cores: the runs share "
            "the cores and go slower, not faster (results do not depend on it)"
        )


def warn_before_runs(scenarios: Sequence, workers: int | None) -> None:
    """Warn before runs whose memory will not fit, or with more workers than cores.

    Args:
        scenarios: the scenarios to run (one after the other, each over its replicates).
        workers: the --workers given (None: all cores).
    """
    from sim.ensemble.replicates import default_workers
    from sim.model.world import WORLD_CACHE_BYTES, world_count, world_persons, world_size

    warn_workers(workers)
    free = available_memory()
    if free is None or not scenarios:
        return
    threads = workers or default_workers()
    need, worst = 0, None
    for s in scenarios:
        people = world_size(s)
        persons, degree = world_persons(s), _world_degree(s)  # the dormant included
        reps = s.run.replicates
        running = min(threads, reps)
        worlds = world_count(s)
        # The world cache holds recent worlds up to its budget, and always the latest.
        size = run_memory(persons, degree, 0, 1, 0) - _BASE_BYTES
        kept = min(worlds, max(running, WORLD_CACHE_BYTES // max(1, size)))
        bytes_ = run_memory(persons, degree, running, kept, building=min(running, worlds))
        if bytes_ > need:
            need, worst = bytes_, (s, people, min(threads, reps))
    if need > free:
        s, people, running = worst
        warn(
            f"{s.name} needs about {_gb(need)} of memory ({people:,} people, mean degree "
            f"{_mean_degree(s):g}, {_dormant(s)}{running} "
            f"replicate{'s' if running != 1 else ''} at "
            f"once) and this machine has {_gb(free)} free: it may fail or swap; lower "
            "population.size or --workers"
        )


def warn_before_sweep(spec, runs: int, processes: int | None) -> None:
    """Warn before a sweep of very many runs, or whose local workers will not fit in memory.

    Args:
        spec: the validated sweep spec.
        runs: the sweep's runs still to do.
        processes: local worker processes (None on a cluster, whose memory is its own).
    """
    if runs > SWEEP_RUNS_WARNING:
        warn(
            f"this sweep has {runs:,} runs to do (more than {SWEEP_RUNS_WARNING:,}): it may "
            "take very long; lower samples, levels or replicates, or stop with Ctrl-C and "
            "resume with the same command"
        )
    free = available_memory()
    if processes is None or free is None:
        return
    from sim.model.world import world_persons

    scale = world_persons(spec.base) / max(1, spec.base.population.size)
    if spec.base.network.generator == "file":
        scale = 1.0
    people = max(_values(spec, "population.size", spec.base.population.size)) * scale
    degree = max(_values(spec, "network.mean_degree", _mean_degree(spec.base))) * scale
    # A worker process runs one replicate at a time and keeps the world it last built.
    need = processes * run_memory(int(people), float(degree), 1, 1)
    if need > free:
        warn(
            f"{processes} worker processes need about {_gb(need)} of memory (up to "
            f"{int(people):,} people, mean degree {float(degree):g}) and this machine has "
            f"{_gb(free)} free: they may fail or swap; lower --workers"
        )


def _values(spec, key: str, base: float) -> Iterable[float]:
    """The values a key takes in a sweep: its levels or range, else the base scenario's."""
    for p in spec.parameters:
        if p.key == key:
            return p.levels if p.levels is not None else (p.lo, p.hi)
    return (base,)

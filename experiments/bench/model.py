"""Benchmark of the weekly engine: seconds per 52-week run, speed-up over the reference, memory.

Parts, printed as one JSON document on stdout:

* ``engine_100k``: a 100k-client community graph (mean degree 10, about 500k ties) and 300
  peers (150 close, 150 distant). The world is built once (timed separately); after one run
  that compiles the kernels, five runs of ``OutreachModel(scenario, r, world)`` are timed, each
  from construction (peer recruitment) to the end of week 52. Target: median below 0.5 s.
* ``engine_vs_reference_10k``: the same at 10k clients, the engine and the plain-Python
  :class:`sim.model.reference.ReferenceModel` on the same world and the same three replicates
  (each engine run timed five times, its median kept), medians compared, in this process.
  Target: the engine at least 50 times faster.
* ``events_100k``: the ``engine_100k`` runs with and without their event history streamed to a
  Parquet file (:class:`sim.model.events.EventRecorder`, as ``outreach run --events`` does),
  on the same world and replicates, alternated, five of each; the ratio of the medians.
  Target: recording at most doubles a run's time.
* ``memory_1m``: building and running 52 weeks of a 1M-client (about 5M ties) scenario with 300
  peers, in a fresh Python process so its peak resident memory (``ru_maxrss``, imports
  included) is its own. Target: below 4 GB.
* ``run_10m``: the same with 10 million people (about 50M ties), in its own process: the world's
  build and the 52 weeks timed apart, the peak memory, and the bytes per person and per tie of
  the world and of the model's state (int32 indices, arrays only). Target: within the 24 GB
  machine (below 20 GB, leaving room for the system).
* ``ensemble_100k``: ``outreach run``'s path (:func:`sim.ensemble.replicates.run_ensemble`) at 100k
  people (the baseline scenario, mean degree 13.8), 40 replicates on all cores: wall time and the
  thread seconds spent getting worlds and in the model, with the default (``run.worlds = 0``: from
  50,000 people the replicates share one world) and with a world per replicate
  (``run.worlds = 40``). Target: the default spends most of its thread time in the model.

The whole benchmark takes a few minutes on two cores (most of it the 10M run and the two
100k ensembles).

Usage:
    python experiments/bench/model.py                # every part
    python experiments/bench/model.py --case memory_1m
    python experiments/bench/model.py --case events_100k
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "baseline.toml"

TARGETS = {
    "engine_100k_seconds_per_run": 0.5,
    "speedup_over_reference_10k": 50.0,
    "memory_1m_peak_rss_gb": 4.0,
    "run_10m_peak_rss_gb": 20.0,
    "events_100k_slowdown": 2.0,
}


def _scenario(size: int, weeks: int = 52):
    from sim.model.scenario import Scenario

    return Scenario().replace(
        {
            "name": f"bench_{size}",
            "population.size": size,
            "network.generator": "community",
            "network.mean_degree": 10.0,
            "close_peers.count": 150,
            "distant_peers.count": 150,
            "run.weeks": weeks,
            "run.seed": 20260101,
        }
    )


def _timed_build(scenario):
    from sim.model.world import build_world

    start = time.perf_counter()
    world = build_world(scenario, 0)
    return world, time.perf_counter() - start


def _time_runs(model_cls, scenario, world, replicates) -> tuple[list[float], list[float]]:
    """Seconds of construction + run, and of the run alone, for each replicate."""
    totals, runs = [], []
    for r in replicates:
        start = time.perf_counter()
        model = model_cls(scenario, r, world)
        built = time.perf_counter()
        model.run()
        end = time.perf_counter()
        totals.append(end - start)
        runs.append(end - built)
    return totals, runs


def _graph_facts(world) -> dict:
    return {
        "clients": int(world.n),
        "ties": int(world.graph.n_edges),
        "mean_degree": round(2 * world.graph.n_edges / world.n, 3),
    }


def engine_100k() -> dict:
    from sim.model.outreach import OutreachModel

    scenario = _scenario(100_000)
    world, build_s = _timed_build(scenario)
    start = time.perf_counter()
    OutreachModel(scenario, 0, world).run()  # compiles (or loads) the kernels
    warmup_s = time.perf_counter() - start
    totals, runs = _time_runs(OutreachModel, scenario, world, range(1, 6))
    median = statistics.median(totals)
    return {
        **_graph_facts(world),
        "peers": 300,
        "weeks": 52,
        "world_build_seconds": round(build_s, 3),
        "warmup_run_seconds": round(warmup_s, 3),
        "seconds_per_run_median": round(median, 4),
        "seconds_per_run_all": [round(t, 4) for t in totals],
        "seconds_run_only_median": round(statistics.median(runs), 4),
        "target_seconds": TARGETS["engine_100k_seconds_per_run"],
        "meets_target": median < TARGETS["engine_100k_seconds_per_run"],
    }


def engine_vs_reference_10k() -> dict:
    from sim.model.outreach import OutreachModel
    from sim.model.reference import ReferenceModel

    scenario = _scenario(10_000)
    world, build_s = _timed_build(scenario)
    OutreachModel(scenario, 0, world).run()  # warm-up: compile before timing
    # The same three replicates for both. An engine run is short enough for one timing to be
    # at the mercy of the machine's scheduler, so each is timed five times (the median kept).
    rounds = [_time_runs(OutreachModel, scenario, world, range(1, 4))[0] for _ in range(5)]
    engine = [statistics.median(times) for times in zip(*rounds, strict=True)]
    reference, _ = _time_runs(ReferenceModel, scenario, world, range(1, 4))
    e, r = statistics.median(engine), statistics.median(reference)
    return {
        **_graph_facts(world),
        "peers": 300,
        "weeks": 52,
        "world_build_seconds": round(build_s, 3),
        "engine_seconds_per_run_median": round(e, 4),
        "reference_seconds_per_run_median": round(r, 4),
        "engine_seconds_all": [round(t, 4) for t in engine],
        "reference_seconds_all": [round(t, 4) for t in reference],
        "speedup": round(r / e, 1),
        "target_speedup": TARGETS["speedup_over_reference_10k"],
        "meets_target": r / e >= TARGETS["speedup_over_reference_10k"],
    }


def events_100k() -> dict:
    import tempfile
    from pathlib import Path

    import pyarrow.parquet as pq

    from sim.model.events import EventRecorder
    from sim.model.outreach import OutreachModel

    scenario = _scenario(100_000)
    world, build_s = _timed_build(scenario)
    OutreachModel(scenario, 0, world, events=True).run()  # compiles (or loads) the kernels
    plain, recorded, rows, groups, size = [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for r in range(1, 6):
            start = time.perf_counter()
            OutreachModel(scenario, r, world).run()
            plain.append(time.perf_counter() - start)
            path = Path(folder) / f"{r}.parquet"
            start = time.perf_counter()
            recorder = EventRecorder(r, path)
            OutreachModel(scenario, r, world, events=recorder).run()
            recorder.close()
            recorded.append(time.perf_counter() - start)
            meta = pq.ParquetFile(path).metadata
            rows.append(meta.num_rows)
            groups.append(meta.num_row_groups)
            size.append(path.stat().st_size)
    p, e = statistics.median(plain), statistics.median(recorded)
    return {
        **_graph_facts(world),
        "peers": 300,
        "weeks": 52,
        "world_build_seconds": round(build_s, 3),
        "seconds_per_run_median": round(p, 4),
        "seconds_per_run_with_events_median": round(e, 4),
        "seconds_all": [round(t, 4) for t in plain],
        "seconds_with_events_all": [round(t, 4) for t in recorded],
        "events_per_run_median": int(statistics.median(rows)),
        "row_groups_per_run_median": int(statistics.median(groups)),
        "file_megabytes_per_run_median": round(statistics.median(size) / 1e6, 3),
        "slowdown": round(e / p, 3),
        "target_slowdown": TARGETS["events_100k_slowdown"],
        "meets_target": e / p <= TARGETS["events_100k_slowdown"],
    }


def memory_1m() -> dict:
    """Build and run the 1M-client scenario; meant to run alone in a fresh process."""
    from sim.model.outreach import OutreachModel

    scenario = _scenario(1_000_000)
    world, build_s = _timed_build(scenario)
    start = time.perf_counter()
    model = OutreachModel(scenario, 0, world)
    model.run()
    run_s = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    peak_gb = peak_kb / 1024**2
    return {
        **_graph_facts(world),
        "peers": 300,
        "weeks": 52,
        "world_build_seconds": round(build_s, 2),
        "run_seconds_including_compile": round(run_s, 2),
        "clients_contacted": int(model.weekly["contacted"][-1]),
        "peak_rss_gb": round(peak_gb, 3),
        "target_gb": TARGETS["memory_1m_peak_rss_gb"],
        "meets_target": peak_gb < TARGETS["memory_1m_peak_rss_gb"],
    }


def _array_bytes(arrays) -> int:
    import numpy as np

    return int(sum(np.asarray(a).nbytes for a in arrays))


def run_10m() -> dict:
    """World and 52 weeks at 10 million people; meant to run alone in a fresh process."""
    import numpy as np

    from sim.model.outreach import OutreachModel

    scenario = _scenario(10_000_000)
    world, build_s = _timed_build(scenario)
    after_build_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    start = time.perf_counter()
    model = OutreachModel(scenario, 0, world)
    setup_s = time.perf_counter() - start
    model.run()
    run_s = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    g, n = world.graph, world.n
    per_person = [
        g.indptr,
        *g.node_attrs.values(),
        world.locality,
        world.gender,
        world.age_band,
        world.depth,
        world.in_orbit,
        world.mistrust,
        world.problems,
        world.orbit_nodes,
    ]
    state = [v for v in vars(model).values() if isinstance(v, np.ndarray) and v.shape == (n,)]
    state += list(model._egos.work)
    return {
        **_graph_facts(world),
        "peers": 300,
        "weeks": 52,
        "world_build_seconds": round(build_s, 1),
        "model_setup_seconds": round(setup_s, 2),
        "model_seconds_including_setup_and_compile": round(run_s, 2),
        "clients_contacted": int(model.weekly["contacted"][-1]),
        "peak_rss_gb_after_build": round(after_build_gb, 2),
        "peak_rss_gb": round(peak_gb, 2),
        "world_bytes_per_tie": round(g.indices.nbytes / g.n_edges, 1),
        "world_bytes_per_person": round(_array_bytes(per_person) / n, 1),
        "model_state_bytes_per_person": round(_array_bytes(state) / n, 1),
        "index_dtype": str(g.indices.dtype),
        "target_gb": TARGETS["run_10m_peak_rss_gb"],
        "meets_target": peak_gb < TARGETS["run_10m_peak_rss_gb"],
    }


def ensemble_100k() -> dict:
    from sim.ensemble.replicates import run_ensemble
    from sim.model.scenario import load_scenario
    from sim.model.world import _cached_world, world_stats

    out = {}
    # The default (automatic: from 50,000 people one world shared by the replicates) against
    # a world per replicate (run.worlds = 40).
    for label, worlds in (("default", 0), ("world_per_replicate", 40)):
        scenario = load_scenario(
            BASELINE, {"population.size": 100_000, "run.replicates": 40, "run.worlds": worlds}
        )
        _cached_world.clear()
        before = world_stats()["built"]
        start = time.perf_counter()
        result = run_ensemble(scenario)
        wall = time.perf_counter() - start
        sec = result.seconds()
        out[label] = {
            "replicates": 40,
            "worlds_built": int(world_stats()["built"] - before),
            "wall_seconds": round(wall, 2),
            "world_thread_seconds": round(sec["world"], 2),
            "model_thread_seconds": round(sec["model"], 2),
            "model_share": round(sec["model"] / (sec["world"] + sec["model"]), 3),
        }
    out["meets_target"] = out["default"]["model_share"] > 0.5
    return out


CASES = {
    "engine_100k": engine_100k,
    "engine_vs_reference_10k": engine_vs_reference_10k,
    "memory_1m": memory_1m,
    "run_10m": run_10m,
    "ensemble_100k": ensemble_100k,
    "events_100k": events_100k,
}
#: Cases that must run in their own process (their peak memory is the measure).
ISOLATED = ("memory_1m", "run_10m")


def _in_subprocess(case: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--case", case, "--here"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        }
    return json.loads(proc.stdout)[case]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case", choices=sorted(CASES), action="append", help="run only this part (repeatable)"
    )
    parser.add_argument(
        "--here",
        action="store_true",
        help="run isolated cases in this process (used by the subprocess)",
    )
    args = parser.parse_args(argv)
    cases = args.case or list(CASES)
    results: dict = {}
    start = time.perf_counter()
    for case in cases:
        if case in ISOLATED and not args.here:
            results[case] = _in_subprocess(case)
        else:
            results[case] = CASES[case]()
    if not args.here:
        import numba
        import numpy

        results["environment"] = {
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "numba": numba.__version__,
            "machine": platform.machine(),
            "cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
            "total_seconds": round(time.perf_counter() - start, 1),
        }
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

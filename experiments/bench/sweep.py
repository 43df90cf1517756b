"""Benchmark of sweeps: runs per second on local processes and Dask, overhead per run.

One Latin-hypercube sweep of the baseline at 20,000 clients over 52 weeks (about 70 ms a run
on one core), ``--runs`` runs (default 120), is run four ways, and the results are printed as
one JSON document:

* ``direct``: ``run_replicate`` called in this process, one run after another, on scenarios
  built beforehand (the floor: no executor, no store).
* ``local_1`` and ``local_2``: ``run_sweep`` with 1 and 2 local worker processes, writing the
  Parquet store.
* ``dask_2``: ``run_sweep`` on a local Dask cluster of 2 single-threaded worker processes.

Each executor is started and warmed up (worker processes spawned, numba's cache loaded) before
the clock starts; the start-up time is reported apart (``startup_seconds``), as a long sweep
pays it once. ``overhead_per_run`` compares each executor's seconds per run on one worker
(``local_1``) with ``direct``: the cost of tasks, pickling, the store and the process
boundary. Target: below 10%. numba runs one thread per process everywhere
(``NUMBA_NUM_THREADS=1``), so the comparison is per core. All rows of every executor are
checked equal.

Usage: ``python experiments/bench/sweep.py [--runs 120]`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba is imported, here and in workers

ROOT = Path(__file__).resolve().parents[2]
TARGET_OVERHEAD = 0.10


def make_spec(folder: Path, runs: int):
    from sim.sweep.spec import spec_from_dict

    replicates = 2
    data = {
        "name": "bench_sweep",
        "base": str(ROOT / "scenarios" / "baseline.toml"),
        "design": "lhs",
        "samples": max(1, runs // replicates),
        "replicates": replicates,
        "seed": 2026,
        "metrics": ["clients_contacted", "clients_linked", "peers_exhausted_fraction"],
        "set": {"population.size": 20_000, "run.weeks": 52},
        "parameters": {
            "services.p_attend": {"range": [0.2, 0.6]},
            "close_peers.caseload_cap": {"range": [0, 20]},
        },
    }
    return spec_from_dict(data, str(folder / "bench_sweep.toml"))


def direct(spec, design) -> tuple[float, list]:
    from sim.ensemble.replicates import run_replicate
    from sim.sweep.design import point_seed

    scenarios = [
        spec.base.replace({**design.overrides(p), "run.seed": point_seed(spec.seed, p)})
        for p in range(len(design))
    ]
    run_replicate(scenarios[0].replace({"run.seed": 1}), 0)  # compile / load the JIT cache
    start = time.perf_counter()
    rows = []
    for p, scenario in enumerate(scenarios):
        for r in range(spec.replicates):
            rows.append((p, r, run_replicate(scenario, r).metrics))
    return time.perf_counter() - start, rows


def through_executor(spec, design, folder: Path, make_executor, batch: int) -> dict:
    from sim.sweep.executors import make_job, run_batch, run_sweep
    from sim.sweep.store import Store, manifest_for

    t0 = time.perf_counter()
    executor = make_executor()
    store, _ = Store.create_or_resume(folder, manifest_for(spec, design))
    try:
        # Warm up every worker: one throw-away run each, outside the store.
        job = make_job(store.manifest)
        warm = [[(0, list(design.points[0]), 1, 0)]] * getattr(executor, "workers", 2)
        executor.submit(job, warm)
        for _ in executor.results():
            pass
        startup = time.perf_counter() - t0
        assert run_batch  # the function the workers run
        outcome = run_sweep(store, executor, batch_size=batch, chunk_rows=1000)
    finally:
        executor.close()
        store.close()
    runs = Store.open(folder).runs()
    return {
        "seconds": outcome.seconds,
        "runs": outcome.written,
        "runs_per_second": outcome.written / outcome.seconds,
        "startup_seconds": startup,
        "table": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--batch", type=int, default=4, help="runs per task")
    args = parser.parse_args()

    from sim.sweep.design import make_design
    from sim.sweep.executors import DaskExecutor, LocalExecutor

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = make_spec(tmp, args.runs)
        design = make_design(spec.design, spec.parameters, samples=spec.samples, seed=spec.seed)
        n = len(design) * spec.replicates
        t_direct, direct_rows = direct(spec, design)
        results = {
            "local_1": through_executor(
                spec, design, tmp / "l1", lambda: LocalExecutor(1), args.batch
            ),
            "local_2": through_executor(
                spec, design, tmp / "l2", lambda: LocalExecutor(2), args.batch
            ),
            "dask_2": through_executor(
                spec, design, tmp / "d2", lambda: DaskExecutor(local=2), args.batch
            ),
        }
    reference = results["local_1"].pop("table")
    identical = all(
        r.pop("table").equals(reference) for r in (results["local_2"], results["dask_2"])
    )
    by_pair = {(p, r): m for p, r, m in direct_rows}
    identical_direct = all(
        row[m] == by_pair[(row["point"], row["replicate"])][m]
        for _, row in reference.iterrows()
        for m in spec.metrics
        if row[m] == row[m]
    )  # NaN != NaN
    per_run_direct = t_direct / n
    per_run_local1 = results["local_1"]["seconds"] / n
    overhead = (per_run_local1 - per_run_direct) / per_run_direct
    print(
        json.dumps(
            {
                "benchmark": "sweep",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "scenario": "baseline, 20,000 clients, 52 weeks",
                "runs": n,
                "batch": args.batch,
                "direct": {
                    "seconds": round(t_direct, 3),
                    "runs_per_second": round(n / t_direct, 2),
                    "ms_per_run": round(1000 * per_run_direct, 1),
                },
                **{
                    k: {kk: round(vv, 3) if isinstance(vv, float) else vv for kk, vv in v.items()}
                    for k, v in results.items()
                },
                "overhead_per_run_local_1": {
                    "ms": round(1000 * (per_run_local1 - per_run_direct), 2),
                    "fraction": round(overhead, 4),
                    "target": TARGET_OVERHEAD,
                    "met": overhead < TARGET_OVERHEAD,
                },
                "speedup_local_2_over_local_1": round(
                    results["local_2"]["runs_per_second"] / results["local_1"]["runs_per_second"], 2
                ),
                "identical_rows_all_executors": bool(identical),
                "identical_to_direct": bool(identical_direct),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the network generators and the CSV loader: seconds and peak RSS per case.

Each case runs in a fresh Python process, so its peak resident memory is its own (imports
included). Prints one JSON document on stdout.

``versus_libraries_1m`` times our community graph against NetworKit's Chung-Lu generator
(expected degrees; Chung & Lu 2002) and igraph's configuration model on the same degree
sequence (our graph's achieved degrees, 1M people, about 5M ties), in the same process, with
the same number of threads (numba's, given to NetworKit; igraph's generator is serial). The
three are timed in turn, five rounds, and the medians compared: ``ratio_to_networkit`` below
1 means ours is faster. NetworKit and igraph come with the ``bench`` extra
(``pip install networkit igraph``). ``community_10m`` builds a 10-million-person world's graph.

Usage:
    python experiments/bench/networks.py            # every case
    python experiments/bench/networks.py --case versus_libraries_1m
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "community_100k": "community graph, 100k nodes, mean degree 10 (defaults)",
    "community_1m": "community graph, 1M nodes, mean degree 10 (defaults), ~5M ties",
    "community_1m_localities": "community graph, 1M nodes, 5 localities, homophily 0.9",
    "versus_libraries_1m": "community graph vs NetworKit Chung-Lu vs igraph configuration "
    "model, same degree sequence, 1M nodes, ~5M ties",
    "community_10m": "community graph, 10M nodes, mean degree 10 (defaults), ~50M ties",
    "configuration_100k": "erased configuration model, power law 2.5, k 4..1000, 100k nodes",
    "small_world_100k": "Watts-Strogatz, 100k nodes, k=10, p_rewire=0.1",
    "load_csv_500k": "load_graph on a 500k-tie edge-list CSV with string ids",
}


def _run_case(case: str) -> dict:
    import numpy as np

    from sim.graphs.generators import (
        community_graph,
        configuration_graph,
        power_law_degrees,
        small_world_graph,
    )
    from sim.graphs.graph_files import load_graph

    extra: dict = {}
    if case == "versus_libraries_1m":
        return _versus_libraries(1_000_000)
    if case == "load_csv_500k":
        g = community_graph(100_000, 1)
        tails = np.repeat(np.arange(g.n_nodes), g.degree())
        mask = tails < g.indices
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "edges.csv"
            with path.open("w") as f:
                f.write("source,target\n")
                for u, v in zip(tails[mask].tolist(), g.indices[mask].tolist(), strict=True):
                    f.write(f"p{u},p{v}\n")
            start = time.perf_counter()
            graph, _ = load_graph(path)
            seconds = time.perf_counter() - start
    else:
        start = time.perf_counter()
        if case == "community_100k":
            graph = community_graph(100_000, 1)
        elif case == "community_1m":
            graph = community_graph(1_000_000, 1)
        elif case == "community_10m":
            graph = community_graph(10_000_000, 1)
            extra["bytes_per_tie"] = round(graph.indices.nbytes / graph.n_edges, 1)
            extra["index_dtype"] = str(graph.indices.dtype)
        elif case == "community_1m_localities":
            graph = community_graph(
                1_000_000, 1, locality_shares=(0.35, 0.25, 0.2, 0.1, 0.1), homophily=0.9
            )
        elif case == "configuration_100k":
            degrees = power_law_degrees(100_000, 2.5, 4, 1000, 1)
            graph = configuration_graph(degrees, 1)
            extra["input_mean_degree"] = float(degrees.mean())
        elif case == "small_world_100k":
            graph = small_world_graph(100_000, 10, 0.1, 1)
        else:
            raise SystemExit(f"--case: unknown case {case!r}; choose from {sorted(CASES)}")
        seconds = time.perf_counter() - start
    return {
        "case": case,
        "what": CASES[case],
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "n_nodes": graph.n_nodes,
        "n_edges": graph.n_edges,
        "mean_degree": round(float(graph.degree().mean()), 3),
        "max_degree": int(graph.degree().max()),
        **extra,
    }


def _versus_libraries(n: int, rounds: int = 5) -> dict:
    import statistics

    import igraph
    import networkit
    import numba

    from sim.graphs.generators import community_graph

    threads = numba.get_num_threads()
    networkit.setNumberOfThreads(threads)
    community_graph(2000, 0)  # compile (or load) the kernels before timing
    degrees = community_graph(n, 1).degree()
    as_list = degrees.tolist()
    times: dict[str, list[float]] = {"ours": [], "networkit": [], "igraph": []}
    sizes: dict[str, int] = {}
    for _ in range(rounds):
        start = time.perf_counter()
        g = community_graph(n, 1)
        times["ours"].append(time.perf_counter() - start)
        sizes["ours"] = g.n_edges
        del g
        start = time.perf_counter()
        g = networkit.generators.ChungLuGenerator(as_list).generate()
        times["networkit"].append(time.perf_counter() - start)
        sizes["networkit"] = g.numberOfEdges()
        del g
        start = time.perf_counter()
        g = igraph.Graph.Degree_Sequence(as_list, method="configuration")
        times["igraph"].append(time.perf_counter() - start)
        sizes["igraph"] = g.ecount()
        del g
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "case": "versus_libraries_1m",
        "what": CASES["versus_libraries_1m"],
        "n_nodes": n,
        "degree_sequence": "the community graph's achieved degrees (log-normal, sigma 0.8, "
        "mean 10)",
        "threads": threads,
        "seconds_median": {k: round(v, 3) for k, v in med.items()},
        "seconds_all": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "n_edges": sizes,
        "ratio_to_networkit": round(med["ours"] / med["networkit"], 3),
        "ratio_to_igraph": round(med["ours"] / med["igraph"], 3),
        "no_slower_than_networkit": med["ours"] <= med["networkit"],
        "versions": {
            "networkit": networkit.__version__,
            "igraph": igraph.__version__,
            "numba": numba.__version__,
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument(
        "--here",
        action="store_true",
        help="run the case in this process (used for each case's subprocess)",
    )
    args = parser.parse_args()
    if args.case and args.here:
        print(json.dumps(_run_case(args.case)))
        return
    root = Path(__file__).resolve().parents[2]
    results = []
    for case in [args.case] if args.case else CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--here"],
            check=True,
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        results.append(json.loads(out.stdout))
        print(json.dumps(results[-1]), file=sys.stderr)
    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "note": "peak_rss_mb is the whole process's peak (imports and inputs included)",
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Compiling the kernels: counted apart, announced on a cold cache, shared with a helper."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from numba import njit

from sim.ensemble import compiling
from sim.graphs import community
from tests.cli_helpers import ROOT

SMALL = {
    "population.size": 1000,
    "close_peers.count": 3,
    "distant_peers.count": 3,
    "run.weeks": 2,
    "run.replicates": 2,
    "run.seed": 11,
}


def test_compile_time_is_counted_for_the_thread_that_compiles():
    @njit
    def fresh(x):
        return x + 1

    compiling.install()
    before = compiling.thread_compile_seconds()
    seen = []
    other = threading.Thread(target=lambda: seen.append(compiling.thread_compile_seconds()))
    assert fresh(1) == 2  # compiles now
    other.start()
    other.join()
    assert compiling.thread_compile_seconds() > before
    assert seen == [0.0]  # another thread compiled nothing


def test_a_runs_time_split_keeps_compiling_apart():
    from sim.ensemble.replicates import RunResult, run_ensemble, worlds_line
    from sim.model.scenario import Scenario

    s = Scenario().replace(SMALL)
    result = run_ensemble(s, workers=1)
    assert set(result.seconds()) == {"world", "model", "compile"}
    # A warm cache (or this session's earlier tests) compiles nothing; a compile is named.
    assert "compiling" not in worlds_line(s, result, 2) or result.seconds()["compile"] >= 0.05
    result.runs.append(
        RunResult(9, {}, {}, {}, world_seconds=0.1, model_seconds=0.2, compile_seconds=12.0)
    )
    line = worlds_line(s, result, 2)
    assert "s compiling the kernels once" in line
    assert f"{result.seconds()['model']:.1f} s in the model" in line


def test_the_helpers_types_are_the_weeks():
    # The helper compiles the phases for week_signature(admit's types): were they not the
    # types the model hands the week, it would compile versions nobody uses.
    from sim.ensemble.replicates import run_ensemble
    from sim.model import kernel as K
    from sim.model.scenario import Scenario

    run_ensemble(Scenario().replace(SMALL), workers=1)
    weeks = [tuple(sig) for sig in K.week.signatures]
    derived = [compiling.week_signature(tuple(sig)) for sig in K.admit.signatures]
    assert weeks and set(weeks) <= set(derived)  # the week hands its phases its own arguments


def test_the_notice_comes_only_while_compiling(monkeypatch):
    said = []
    monkeypatch.setattr(compiling, "NOTICE_AFTER_SECONDS", 0.05)
    monkeypatch.setitem(compiling._state, "notice", lambda: said.append(1))
    monkeypatch.setitem(compiling._state, "announced", False)
    monkeypatch.setitem(compiling._state, "compiling", 0)
    compiling._arm_notice()
    time.sleep(0.3)
    assert said == []  # the compile was over (a short one): nothing said
    compiling._state["compiling"] = 1
    compiling._arm_notice()
    time.sleep(0.3)
    compiling._arm_notice()
    time.sleep(0.3)
    assert said == [1]  # once, however long it goes on


def test_small_worlds_use_the_serial_twins_and_large_ones_the_parallel_kernels():
    small = community.kernels_for(5000, 10.0, threads=2)
    large = community.kernels_for(100_000, 10.0, threads=2)
    alone = community.kernels_for(100_000, 10.0, threads=1)
    assert small.pair_groups.py_func.__name__ == "_pair_groups_serial"
    assert alone.pair_groups is small.pair_groups
    assert large.pair_groups is community._pair_groups
    # The twin runs the same code under its own name in numba's cache.
    assert small.pair_groups.py_func.__code__ is community._pair_groups.py_func.__code__
    assert small.pair_groups.py_func.__qualname__ != community._pair_groups.py_func.__qualname__


def test_serial_twins_build_the_graph_the_parallel_kernels_build_on_one_thread(monkeypatch):
    import numba

    from sim.graphs.generators import community_graph

    graphs = []
    most = numba.get_num_threads()
    for parallel in (False, True):
        monkeypatch.setattr(community, "kernels_for", _forced(parallel))
        numba.set_num_threads(1)
        try:
            graphs.append(community_graph(3000, 41, homophily=0.6))
        finally:
            numba.set_num_threads(most)
    a, b = graphs
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


def _forced(parallel: bool):
    chosen = community._PARALLEL_KERNELS if parallel else community._SERIAL_KERNELS

    def kernels_for(n, mean_degree, threads):
        import types

        return types.SimpleNamespace(**{k.lstrip("_"): f for k, f in chosen.items()})

    return kernels_for


@pytest.mark.slow
def test_a_first_run_on_an_empty_cache_says_it_compiles_and_a_second_does_not(tmp_path):
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    args = [
        sys.executable,
        "-m",
        "sim.cli",
        "run",
        "baseline",
        "--replicates",
        "2",
        "--weeks",
        "4",
        "--set",
        "population.size=1000",
    ]
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
        )
        first_line = proc.stderr.readline()  # waits for the notice (or the end)
        said_after = time.perf_counter() - start
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        runs.append((first_line + err, out, said_after))
    (cold_err, cold_out, said_after), (warm_err, warm_out, _) = runs
    assert "compiling the model once, about" in cold_err
    assert "later runs start at once" in cold_err
    # Within seconds of the start (imports, then half a second of compiling), not at the end.
    assert said_after < 10, said_after
    assert "s compiling the kernels once" in cold_out
    assert "compiling" not in warm_err and "compiling" not in warm_out


def test_the_helpers_small_world_hands_the_kernels_the_types_of_the_real_one():
    # The helper compiles for a small-world ring of the scenario (no world kernel to compile):
    # only if its model's arrays have the real model's types are its versions the ones used.
    from numba import typeof

    from sim.model.outreach import OutreachModel
    from sim.model.scenario import Scenario
    from sim.model.world import build_world

    real = Scenario().replace(SMALL)
    ring = real.replace(
        {
            "network.generator": "small_world",
            "population.size": compiling._HELPER_WORLD_SIZE,
            "run.weeks": 1,
        }
    )
    models = [OutreachModel(s, 0, build_world(s, 0)) for s in (real, ring)]
    types = [
        tuple(
            typeof(a)
            for a in (m._world_arrays, m._clients, m.peer_arrays(), m._params, m._keys, m._counters)
        )
        for m in models
    ]
    assert types[0] == types[1]

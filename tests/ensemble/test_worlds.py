"""Tests of world reuse: the world cache, run.worlds, and comparisons sharing worlds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sim.model.scenario import Scenario
from sim.model.world import _cached_world, build_world, world_index, world_stats

SMALL = {
    "population.size": 2000,
    "close_peers.count": 4,
    "distant_peers.count": 4,
    "run.weeks": 4,
    "run.seed": 99,
}


def _built(before: dict) -> int:
    return int(world_stats()["built"] - before["built"])


def test_run_worlds_shares_worlds_modulo_n():
    s = Scenario().replace({**SMALL, "run.worlds": 2})
    assert [world_index(s, r) for r in range(5)] == [0, 1, 0, 1, 0]
    assert build_world(s, 0) is build_world(s, 2)
    assert build_world(s, 0) is not build_world(s, 1)
    # World 0 of run.worlds = 2 is replicate 0's own world: the same streams.
    own = build_world(Scenario().replace(SMALL), 0)
    assert np.array_equal(own.graph.indices, build_world(s, 0).graph.indices)
    assert np.array_equal(own.mistrust, build_world(s, 0).mistrust)


def test_threads_asking_for_one_world_build_it_once():
    s = Scenario().replace({**SMALL, "run.seed": 123})
    _cached_world.clear()
    before = world_stats()
    with ThreadPoolExecutor(4) as pool:
        worlds = list(pool.map(lambda _: build_world(s, 7), range(8)))
    assert _built(before) == 1
    assert all(w is worlds[0] for w in worlds)


def test_compare_builds_each_replicates_world_once():
    from sim.ensemble.compare import run_comparison

    # More replicates than the old cache held (8): scenarios run replicate by replicate, so a
    # world is built once and shared by both scenarios whatever the number of replicates.
    reps = 12
    a = Scenario().replace({**SMALL, "name": "a", "run.replicates": reps, "run.seed": 5})
    b = a.replace({"name": "b", "close_peers.count": 6})
    _cached_world.clear()
    before = world_stats()
    comparison = run_comparison([a, b], workers=2)
    assert _built(before) == reps
    assert any(
        n.startswith(f"worlds shared: {reps} worlds built for {2 * reps} runs")
        for n in comparison.notes
    )
    # Each scenario's runs are its own, in replicate order.
    for result in comparison.results:
        assert [r.replicate for r in result.runs] == list(range(reps))
    # Identical to running the first scenario alone (workers and order do not matter).
    from sim.ensemble.replicates import run_ensemble

    alone = run_ensemble(a, workers=1)
    # (equal as numbers: a share of no one is NaN in both, which == would call unequal)
    np.testing.assert_equal(
        [r.metrics for r in alone.runs], [r.metrics for r in comparison.results[0].runs]
    )


def test_ensemble_reports_where_its_time_went():
    from sim.ensemble.replicates import run_ensemble, worlds_line

    s = Scenario().replace({**SMALL, "run.replicates": 4, "run.worlds": 1, "run.seed": 6})
    _cached_world.clear()
    before = world_stats()
    result = run_ensemble(s, workers=2)
    built = _built(before)
    assert built == 1
    line = worlds_line(s, result, built)
    assert line.startswith("worlds: 1 built, shared by 4 replicates (run.worlds = 1")
    seconds = result.seconds()
    assert seconds["world"] > 0 and seconds["model"] > 0


def test_large_worlds_are_shared_by_the_replicates_unless_asked_otherwise():
    from sim.ensemble.replicates import run_ensemble, worlds_line
    from sim.model.world import world_count

    # Automatic (run.worlds = 0): below run.shared_world_from people a world per replicate,
    # from it one world for all; an explicit run.worlds = N still gives N worlds.
    s = Scenario().replace({**SMALL, "run.replicates": 4, "run.seed": 17})
    assert [world_index(s, r) for r in range(4)] == [0, 1, 2, 3] and world_count(s) == 4
    big = s.replace({"run.shared_world_from": 2000})  # the world has 2000 people
    assert [world_index(big, r) for r in range(4)] == [0, 0, 0, 0] and world_count(big) == 1
    assert world_count(big.replace({"run.worlds": 3})) == 3
    _cached_world.clear()
    before = world_stats()
    result = run_ensemble(big, workers=2)
    built = _built(before)
    assert built == 1
    assert "one world shared by the 4 replicates" in worlds_line(big, result, built)
    # The peers still differ between replicates: their recruitment draws its own streams.
    assert len({r.metrics["clients_contacted"] for r in result.runs}) > 1
    # Replicate 0 lives in the same world either way, so its numbers do not change.
    own = run_ensemble(s.replace({"run.replicates": 1}), workers=1)
    assert own.runs[0].metrics == result.runs[0].metrics

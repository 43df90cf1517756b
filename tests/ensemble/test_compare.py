"""Scenario comparison: paired differences on common random numbers, and ``outreach compare``.

The CLI runs are real subprocesses on small scenarios, started two at a time in one module
fixture; their numbers are checked against :func:`sim.ensemble.replicates.run_ensemble` in this
process.
"""

from __future__ import annotations

import csv
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim.ensemble.compare import (
    align_run_settings,
    differing_settings,
    paired_difference,
    run_comparison,
)
from sim.ensemble.replicates import run_ensemble
from sim.model.metrics import METRICS
from sim.model.scenario import load_scenario
from tests.cli_helpers import outreach

A = textwrap.dedent("""\
    name = "team_a"
    description = "mixed team"

    [run]
    weeks = 10
    replicates = 4
    seed = 5

    [population]
    size = 500

    [close_peers]
    count = 4

    [distant_peers]
    count = 4
""")
# More distant peers on the same world: a policy difference only.
B = (
    A.replace('name = "team_a"', 'name = "team_b"')
    .replace("[distant_peers]\ncount = 4", "[distant_peers]\ncount = 10")
    .replace("seed = 5", "seed = 99")
)
# A bigger population: the world differs too.
C = A.replace('name = "team_a"', 'name = "team_c"').replace("size = 500", "size = 600")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compare")
    for name, text in (("a", A), ("b", B), ("c", C)):
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def _calls(w: Path) -> dict[str, list]:
    return {
        "self": [
            "compare",
            w / "a.toml",
            w / "a.toml",
            "--json",
            w / "self.json",
            "--csv",
            w / "self.csv",
            "--plot",
            w / "self.png",
            "--workers",
            "2",
        ],
        "pair": [
            "compare",
            w / "a.toml",
            w / "b.toml",
            w / "c.toml",
            "--json",
            w / "pair.json",
            "--csv",
            w / "pair.csv",
            "--plot",
            w / "pair.png",
            "--workers",
            "1",
        ],
        "seeded": [
            "compare",
            w / "b.toml",
            w / "a.toml",
            "--seed",
            "7",
            "--replicates",
            "3",
            "--weeks",
            "6",
            "--json",
            w / "seeded.json",
        ],
    }


@pytest.fixture(scope="module")
def runs(workdir):
    calls = _calls(workdir)
    procs = {name: outreach(*call) for name, call in calls.items()}
    for name, proc in procs.items():
        assert proc.returncode == 0, (name, proc.stderr)
        assert "Traceback" not in proc.stderr
    return procs


def _json(path: Path) -> dict:
    def reject(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


# --------------------------------------------------------------------------- logic


def test_paired_difference_of_identical_values_is_exactly_zero():
    d = paired_difference([3.0, 5.0, 8.0], [3.0, 5.0, 8.0])
    assert (d["mean"], d["ci_low"], d["ci_high"], d["n"]) == (0.0, 0.0, 0.0, 3)
    assert d["distinguishable"] is False


def test_paired_difference_pairs_by_replicate_and_skips_non_finite():
    first = [1.0, 2.0, float("nan"), 4.0, 5.0]
    other = [2.0, 3.5, 9.0, 5.0, 6.5]
    d = paired_difference(first, other)
    diffs = np.array([1.0, 1.5, 1.0, 1.5])
    assert d["n"] == 4
    assert d["mean"] == pytest.approx(diffs.mean())
    half = 3.182446305284263 * diffs.std(ddof=1) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert d["ci_low"] == pytest.approx(diffs.mean() - half)
    assert d["ci_high"] == pytest.approx(diffs.mean() + half)
    assert d["distinguishable"] is True


def test_paired_difference_including_zero_is_not_distinguishable():
    d = paired_difference([1.0, 2.0, 3.0], [2.0, 1.0, 3.5])
    assert d["ci_low"] < 0 < d["ci_high"]
    assert d["distinguishable"] is False


def test_align_run_settings_takes_the_first_scenario_and_says_so(workdir):
    a, b = load_scenario(workdir / "a.toml"), load_scenario(workdir / "b.toml")
    aligned, notes = align_run_settings([a, b])
    assert [s.run.seed for s in aligned] == [5, 5]
    assert any("run.seed = 5" in n for n in notes)
    aligned, notes = align_run_settings([a, b], seed=3, replicates=2, weeks=4)
    assert {(s.run.seed, s.run.replicates, s.run.weeks) for s in aligned} == {(3, 2, 4)}
    assert notes == []


def test_differing_settings_names_policy_and_world_keys(workdir):
    a, b, c = (load_scenario(workdir / f"{n}.toml") for n in "abc")
    diff = differing_settings([a, b, c])
    assert diff["distant_peers.count"] == [4, 10, 4]
    assert diff["population.size"] == [500, 500, 600]
    assert "name" not in diff and "run.seed" not in diff


def test_a_clients_setting_counts_as_a_world_difference(workdir):
    # The clients' attributes are drawn with the world, so scenarios that differ only there
    # live in different worlds, and the comparison says so.
    a = load_scenario(workdir / "a.toml", {"run.replicates": 2, "run.weeks": 2})
    b = a.replace({"name": "b", "clients.mistrust_outside_orbit": 0.8})
    comparison = run_comparison([a, b], workers=1)
    assert comparison.world_keys() == ["clients.mistrust_outside_orbit"]
    assert any(
        n.startswith(
            "the scenarios' populations, networks or clients differ "
            "(clients.mistrust_outside_orbit)"
        )
        for n in comparison.notes
    )


def test_in_process_self_comparison_is_zero(workdir):
    a = load_scenario(workdir / "a.toml", {"run.replicates": 3, "run.weeks": 5})
    comparison = run_comparison([a, a], workers=1)
    assert comparison.labels == ["team_a", "team_a (2)"]
    for m, d in comparison.differences()["team_a (2)"].items():
        if d["n"] >= 2:
            assert d["mean"] == 0.0 and d["ci_low"] == 0.0 and d["ci_high"] == 0.0, m


# --------------------------------------------------------------------------- the command


def test_self_comparison_shows_zero_difference(runs, workdir):
    doc = _json(workdir / "self.json")
    assert [s["label"] for s in doc["scenarios"]] == ["team_a", "team_a (2)"]
    assert doc["settings_that_differ"] == {}
    assert doc["world_differs"] is False
    for m, d in doc["differences"]["team_a (2)"].items():
        if d["n"] >= 2:
            assert (d["mean"], d["ci_low"], d["ci_high"]) == (0, 0, 0), m
            assert d["distinguishable"] is False
    assert doc["metrics"]["team_a"] == doc["metrics"]["team_a (2)"]
    assert "no (identical)" in runs["self"].stdout


def test_json_numbers_equal_run_ensemble(runs, workdir):
    doc = _json(workdir / "pair.json")
    assert (doc["seed"], doc["replicates"], doc["weeks"]) == (5, 4, 10)
    # b.toml says seed 99; the comparison runs it on the first scenario's seed
    a = load_scenario(workdir / "a.toml")
    b = load_scenario(workdir / "b.toml", {"run.seed": 5})
    ra, rb = run_ensemble(a, workers=1), run_ensemble(b, workers=1)
    for label, result in (("team_a", ra), ("team_b", rb)):
        expected = result.metrics()
        for m in METRICS:
            got = doc["metrics"][label][m]
            for k in ("mean", "ci_low", "ci_high"):
                e = expected[m][k]
                assert (got[k] is None) if not math.isfinite(e) else got[k] == pytest.approx(e), (
                    label,
                    m,
                    k,
                )
    for m in METRICS:
        d = paired_difference(ra.metric_values(m), rb.metric_values(m))
        got = doc["differences"]["team_b"][m]
        if d["n"] >= 2:
            assert got["mean"] == pytest.approx(d["mean"]), m
            assert got["ci_low"] == pytest.approx(d["ci_low"]), m
            assert got["distinguishable"] == d["distinguishable"], m
    # more distant peers on the same world contact more clients, run by run
    assert doc["differences"]["team_b"]["clients_contacted"]["mean"] > 0


def test_output_says_where_seed_came_from_and_flags_world_differences(runs, workdir):
    out = runs["pair"].stdout
    assert "seed 5 (the first scenario's run.seed, used for all)" in out
    assert "run.seed = 5 for every scenario" in out
    assert "population.size" in out and "different world" in out
    doc = _json(workdir / "pair.json")
    assert doc["world_differs"] is True
    assert doc["settings_that_differ"]["distant_peers.count"] == [4, 10, 4]


def test_table_lists_every_metric_and_scenario(runs):
    lines = runs["pair"].stdout.splitlines()
    for m in METRICS:
        assert any(line.startswith(m + " ") for line in lines), m
    assert "diff. to team_a" in runs["pair"].stdout
    assert sum("team_c" in line for line in lines) >= len(METRICS)


def test_command_line_run_settings_win(runs, workdir):
    doc = _json(workdir / "seeded.json")
    assert (doc["seed"], doc["replicates"], doc["weeks"]) == (7, 3, 6)
    assert doc["reference"] == "team_b"
    assert "seed 7 (--seed)" in runs["seeded"].stdout
    assert len(doc["weekly"]["team_a"]["contacted"]["mean"]) == 7


def test_csv_has_a_row_per_scenario_and_metric(runs, workdir):
    with (workdir / "pair.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * len(METRICS)
    doc = _json(workdir / "pair.json")
    for row in rows:
        mean = doc["metrics"][row["scenario"]][row["metric"]]["mean"]
        assert (row["mean"] == "") if mean is None else float(row["mean"]) == pytest.approx(mean)
        if row["scenario"] == "team_a":
            assert row["difference"] == ""
        else:
            d = doc["differences"][row["scenario"]][row["metric"]]
            assert row["distinguishable"] == ("yes" if d["distinguishable"] else "no")


def test_plots_are_written_and_not_blank(runs, workdir):
    import matplotlib.image

    for name in ("self.png", "pair.png"):
        path = workdir / name
        assert path.stat().st_size > 10_000, name
        image = matplotlib.image.imread(path)
        colours = np.unique(image[..., :3].reshape(-1, 3), axis=0)
        assert len(colours) > 10, name
    assert not list(workdir.glob(".*.tmp"))

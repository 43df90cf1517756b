"""Sweeps: spec validation, designs, determinism across workers, Sobol indices, the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.errors import UserInputError
from sim.sweep.design import make_design, point_seed
from sim.sweep.spec import Parameter, SpecError, load_spec
from tests.cli_helpers import outreach

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"

TINY = f"""
name = "tiny"
base = "{BASELINE}"
design = "grid"
replicates = 3
seed = 11
metrics = ["clients_contacted", "clients_linked", "peers_exhausted_fraction"]

[set]
"population.size" = 300
"run.weeks" = 6
"close_peers.count" = 4
"distant_peers.count" = 4

[parameters]
"services.p_attend" = {{ levels = [0.2, 0.6] }}
close_peers.caseload_cap = {{ levels = [0, 3] }}
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return outreach(*args)


# ------------------------------------------------------------------ spec validation


def test_spec_loads_and_flattens_dotted_keys(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    assert [p.key for p in spec.parameters] == ["services.p_attend", "close_peers.caseload_cap"]
    assert spec.parameters[1].integer and not spec.parameters[0].integer
    assert spec.base.population.size == 300
    assert spec.replicates == 3 and spec.seed == 11


def test_spec_base_may_name_a_shipped_scenario(tmp_path):
    # As every command takes a shipped scenario's name, so does a spec's base; a file beside
    # the spec with that name still comes first.
    spec = load_spec(write(tmp_path, TINY.replace(f'base = "{BASELINE}"', 'base = "big_city"')))
    assert spec.base.name == "big_city"
    (tmp_path / "big_city").write_text((BASELINE).read_text())
    assert (
        load_spec(
            write(tmp_path, TINY.replace(f'base = "{BASELINE}"', 'base = "big_city"'))
        ).base.name
        == "baseline"
    )
    with pytest.raises(SpecError, match="no shipped scenario of that name"):
        load_spec(write(tmp_path, TINY.replace(f'base = "{BASELINE}"', 'base = "nowhere"')))


@pytest.mark.parametrize(
    "change, expected",
    [
        (('design = "grid"', 'design = "grid"\ncolour = 3'), "colour: unknown key"),
        (
            ('"services.p_attend"', '"services.p_atend"'),
            "parameters.services.p_atend: not a parameter of the base scenario",
        ),
        (
            ("levels = [0.2, 0.6]", "levels = [0.2, 1.6]"),
            "parameters.services.p_attend = 1.6: must be a number in [0, 1]",
        ),
        (('"clients_linked"', '"clients_linkd"'), "metrics: 'clients_linkd': unknown metric"),
        (
            ('design = "grid"', 'design = "lhs"\nsamples = 8'),
            "parameters.services.p_attend.levels: the 'lhs' design samples ranges",
        ),
        (('design = "grid"', 'design = "factorial"'), "design = 'factorial': must be one of"),
        (("replicates = 3", "replicates = 0"), "replicates = 0: must be a whole number in"),
        (
            ('"population.size" = 300', '"population.size" = -5'),
            "population.size = -5: must be an integer",
        ),
    ],
)
def test_spec_errors_name_file_key_value_and_allowed(tmp_path, change, expected):
    path = write(tmp_path, TINY.replace(*change))
    with pytest.raises(UserInputError) as err:
        load_spec(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_range_spec_errors(tmp_path):
    sobol = TINY.replace('design = "grid"', 'design = "sobol"\nsamples = 8')
    bad_range = sobol.replace("{ levels = [0.2, 0.6] }", "{ range = [0.6, 0.2] }")
    with pytest.raises(SpecError, match=r"range = \[0.6, 0.2\]: lo must be below hi"):
        load_spec(write(tmp_path, bad_range))
    not_pow2 = (
        sobol.replace("samples = 8", "samples = 12")
        .replace("{ levels = [0.2, 0.6] }", "{ range = [0.2, 0.6] }")
        .replace("{ levels = [0, 3] }", "{ range = [0, 3] }")
    )
    with pytest.raises(SpecError, match="samples = 12: a Sobol design needs a power of 2"):
        load_spec(write(tmp_path, not_pow2))
    out_of_range = not_pow2.replace("samples = 12", "samples = 8").replace(
        "{ range = [0, 3] }", "{ range = [-2, 3] }"
    )
    with pytest.raises(SpecError, match=r"parameters.close_peers.caseload_cap = -2: must be"):
        load_spec(write(tmp_path, out_of_range))


# ------------------------------------------------------------------ designs and seeds


def test_point_seed_is_stable_and_distinct():
    seeds = [point_seed(5, p) for p in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert point_seed(5, 3) == point_seed(5, 3) != point_seed(6, 3)


def test_designs_sizes_and_rounding():
    ranges = [Parameter("a", lo=0.0, hi=1.0), Parameter("b", lo=2, hi=5, integer=True)]
    lhs = make_design("lhs", ranges, samples=40, seed=3)
    assert len(lhs) == 40
    b = [p[1] for p in lhs.points]
    assert all(isinstance(v, int) and 2 <= v <= 5 for v in b) and set(b) == {2, 3, 4, 5}
    # Latin hypercube: each of 40 equal strata of a holds exactly one point (McKay 1979).
    strata = sorted(int(p[0] * 40) for p in lhs.points)
    assert strata == list(range(40))
    assert make_design("lhs", ranges, samples=40, seed=3) == lhs
    sob = make_design("sobol", ranges, samples=16, seed=3)
    assert len(sob) == 16 * (2 + 2)
    sob2 = make_design("sobol", ranges, samples=16, seed=3, second_order=True)
    assert len(sob2) == 16 * (2 * 2 + 2)
    grid = make_design(
        "grid", [Parameter("x", levels=(1, 2, 3)), Parameter("y", levels=("u", "v"))]
    )
    assert grid.points == ((1, "u"), (1, "v"), (2, "u"), (2, "v"), (3, "u"), (3, "v"))


# ------------------------------------------------------------------ running and the store


@pytest.mark.slow  # worker processes, some 4 s (.ci/run runs it)
def test_sweep_identical_for_one_and_two_workers_and_resumes(tmp_path, capsys):
    from sim.cli import main
    from sim.ensemble.replicates import run_replicate
    from sim.model.world import build_world
    from sim.sweep.store import Store

    spec = write(tmp_path, TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "one"), "--workers", "1"]) == 0
    assert (
        main(
            [
                "sweep",
                str(spec),
                "--out",
                str(tmp_path / "two"),
                "--workers",
                "2",
                "--batch",
                "1",
                "--chunk-rows",
                "2",
            ]
        )
        == 0
    )
    one, two = Store.open(tmp_path / "one"), Store.open(tmp_path / "two")
    a, b = one.runs(), two.runs()
    assert len(a) == 4 * 3 and len(two.chunk_paths()) > 1
    assert a.equals(b)
    # A row is exactly the model run directly with the point's derived seed, in the world of
    # (root seed, replicate): the design varies no world setting, so the points share it.
    loaded = load_spec(spec)
    row = a.iloc[7]
    cap = int(row["close_peers.caseload_cap"])
    scenario = loaded.base.replace(
        {
            "services.p_attend": row["services.p_attend"],
            "close_peers.caseload_cap": cap,
            "run.seed": point_seed(11, int(row["point"])),
        }
    )
    world = build_world(loaded.base.replace({"run.seed": 11}), int(row["replicate"]))
    direct = run_replicate(scenario, int(row["replicate"]), world=world).metrics
    assert row["seed"] == point_seed(11, int(row["point"]))
    for m in loaded.metrics:
        assert row[m] == direct[m] or (math.isnan(row[m]) and math.isnan(direct[m]))
    # Running again skips everything; a different spec on the same folder is refused.
    assert main(["sweep", str(spec), "--out", str(tmp_path / "one")]) == 0
    assert len(Store.open(tmp_path / "one").chunk_paths()) == 1
    other = write(tmp_path, TINY.replace("seed = 11", "seed = 12"), "other.toml")
    assert main(["sweep", str(other), "--out", str(tmp_path / "one")]) == 2
    assert "holds a different sweep" in capsys.readouterr().err


def test_points_share_worlds_only_when_the_design_leaves_the_world_alone():
    from sim.sweep.executors import make_batches, make_job, shares_worlds

    assert shares_worlds(["close_peers.count", "services.p_attend", "run.weeks"])
    for key in ("population.size", "network.homophily", "clients.mistrust_in_orbit"):
        assert not shares_worlds(["close_peers.count", key])
    manifest = {
        "identity": "x",
        "base_scenario": {},
        "metrics": ["m"],
        "seed": 5,
        "replicates": 2,
        "design": {"keys": ["close_peers.count"], "points": [[1], [2], [3]]},
    }
    assert make_job(manifest)["world_seed"] == 5
    # Shared worlds: replicate-major order, so a batch needs few worlds.
    runs = [run for batch in make_batches(manifest, set(), 2) for run in batch]
    assert [(p, r) for p, _, _, r in runs] == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    manifest["design"]["keys"] = ["network.homophily"]
    assert make_job(manifest)["world_seed"] is None
    runs = [run for batch in make_batches(manifest, set(), 2) for run in batch]
    assert [(p, r) for p, _, _, r in runs] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]


def test_store_dedups_and_ignores_temporary_files(tmp_path):
    from sim.cli import main
    from sim.sweep.store import Store

    spec = write(tmp_path, TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "s"), "--workers", "1"]) == 0
    store = Store.open(tmp_path / "s")
    before = store.runs()
    rows = before.head(3).to_dict("records")
    store.write_chunk(rows)  # the same runs again, as a retried task would write them
    (tmp_path / "s" / "runs" / ".part-00009.parquet.123.tmp").write_bytes(b"partial")
    assert store.runs().equals(before)
    status = store.status()
    assert status["runs_done"] == 12 and status["duplicates"] == 3 and status["chunks"] == 2


# ------------------------------------------------------------------ analysis


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami & Homma (1990): a standard test function with known Sobol indices."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_through_the_store_and_analysis(tmp_path):
    from sim.sweep.analyze import analyze_store
    from sim.sweep.store import Store, sweep_identity

    params = [Parameter(f"x{i}", lo=-math.pi, hi=math.pi) for i in (1, 2, 3)]
    design = make_design("sobol", params, samples=1024, seed=2)
    content = {"design": design.to_dict(), "replicates": 1, "seed": 2, "metrics": ["y"]}
    manifest = {"name": "ishigami", **content, "identity": sweep_identity(content)}
    store, resumed = Store.create_or_resume(tmp_path / "ish", manifest)
    assert not resumed
    x = np.array(design.points, dtype=float)
    y = ishigami(x)
    rows = [
        {
            "point": i,
            "replicate": 0,
            "seed": point_seed(2, i),
            "x1": x[i, 0],
            "x2": x[i, 1],
            "x3": x[i, 2],
            "y": y[i],
        }
        for i in range(len(y))
    ]
    half = len(rows) // 2  # two chunks, written out of order
    store.write_chunk(rows[half:])
    store.write_chunk(rows[:half])
    store.close()
    result = analyze_store(tmp_path / "ish")
    table = result["indices"].set_index("parameter")
    # Analytic values for a = 7, b = 0.1 (Ishigami & Homma 1990; Saltelli et al. 2010).
    s1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    st = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
    for key in s1:
        r = table.loc[key]
        assert abs(r["S1"] - s1[key]) <= r["S1_conf"] + 0.01, (key, r.to_dict())
        assert abs(r["ST"] - st[key]) <= r["ST_conf"] + 0.01, (key, r.to_dict())
        assert r["S1_conf"] < 0.1 and r["ST_conf"] < 0.1
    names = {p.name for p in result["files"]}
    assert {"summary.csv", "sobol_indices.csv", "sobol_indices.png", "scatter_y.png"} <= names


def test_grid_analysis_writes_heatmaps_and_summary(tmp_path):
    import pandas as pd

    from sim.cli import main

    spec = write(tmp_path, TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "g"), "--workers", "1"]) == 0
    assert main(["sweep", "analyze", str(tmp_path / "g"), "--metric", "clients_contacted"]) == 0
    out = tmp_path / "g" / "analysis"
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and (summary["replicates"] == 3).all()
    assert (summary["clients_contacted_ci_low"] <= summary["clients_contacted_mean"]).all()
    assert (out / "heatmap_clients_contacted.png").stat().st_size > 1000


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A folder with the spec ``spec.toml`` of :data:`TINY` and its finished sweep ``c``."""
    folder = tmp_path_factory.mktemp("finished")
    spec = write(folder, TINY)
    done = run_cli("sweep", str(spec), "--out", str(folder / "c"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    return folder


def test_cli_status_of_a_finished_sweep(finished):
    status = run_cli("sweep", "status", str(finished / "c"))
    assert status.returncode == 0 and "12 of 12 done" in status.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "{t}/missing.toml", "--out", "{t}/x"),
        ("sweep", "{t}/spec.toml"),  # no --out
        ("sweep", "status"),  # no DIR
        ("sweep", "status", "{t}/nowhere"),
        ("sweep", "analyze", "{t}/c", "--metric", "cost_total"),
        ("sweep", "{t}/spec.toml", "--out", "{t}/y", "--workers", "0"),
        # (missing parent folders are made; a parent that is a file cannot be)
        ("sweep", "{t}/spec.toml", "--out", "{t}/spec.toml/dir"),
        ("sweep", "status", "{t}/c", "--workers", "2"),
    ],
    ids=[
        "missing-spec",
        "no-out",
        "status-no-dir",
        "status-nowhere",
        "analyze-bad-metric",
        "workers-0",
        "out-under-a-file",
        "status-workers",
    ],
)
def test_cli_bad_input_exit_2_with_one_line(finished, args):
    result = run_cli(*(a.format(t=finished) for a in args))
    assert result.returncode == 2, (args, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, args


def test_module_import_is_light():
    code = (
        "import sys, sim.cli.sweep, sim.cli; sim.cli.build_parser(); "
        "heavy = [m for m in ('numba', 'dask', 'distributed', 'pyarrow', 'matplotlib', "
        "'pandas', 'SALib') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

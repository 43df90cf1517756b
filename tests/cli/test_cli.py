"""End-to-end tests of the ``outreach`` command, run as a real subprocess.

Each call pays for importing numba, scipy and mesa (about 1.5 s), so the successful runs are
started together in one module fixture and the failing ones run two at a time.
"""

from __future__ import annotations

import json
import math
import os
import pty
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.cli.options import scenarios_folder
from sim.model.metrics import METRICS
from sim.model.outreach import WEEKLY_SERIES
from tests.cli_helpers import TIMEOUT, OnDemand, outreach

SMALL = textwrap.dedent("""\
    name = "small"
    description = "a small scenario for CLI tests"

    [run]
    weeks = 8
    replicates = 3
    seed = 11

    [population]
    size = 300

    [[population.localities]]
    name = "city"
    share = 0.8
    stigma = 0.2

    [[population.localities]]
    name = "town"
    share = 0.2
    stigma = 0.6

    [close_peers]
    count = 5
    age_band_shares = [0.2, 0.3, 0.5]

    [distant_peers]
    count = 5
""")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "small.toml").write_text(SMALL, encoding="utf-8")
    return folder


RUNS = {
    # name: extra arguments after `run small.toml --json name.json`
    "seed7_w1": ["--seed", "7", "--replicates", "4", "--weeks", "6", "--workers", "1"],
    "seed7_w1_again": ["--seed", "7", "--replicates", "4", "--weeks", "6", "--workers", "1"],
    "seed7_w2": ["--seed", "7", "--replicates", "4", "--weeks", "6", "--workers", "2"],
    "seed8_w1": ["--seed", "8", "--replicates", "4", "--weeks", "6", "--workers", "1"],
    "file": ["--workers", "2"],
}


@pytest.fixture(scope="module")
def runs(workdir) -> dict[str, tuple[subprocess.CompletedProcess, dict | None]]:
    """Every successful run of the module, one after another in this process."""

    def one(name: str):
        proc = outreach(
            "run", workdir / "small.toml", "--json", workdir / f"{name}.json", *RUNS[name]
        )
        path = workdir / f"{name}.json"
        document = None
        if proc.returncode == 0 and path.exists():
            text = path.read_text(encoding="utf-8")
            document = json.loads(text, parse_constant=_reject_constant)
        return name, (proc, document)

    return dict(map(one, RUNS))


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def _ok(runs, name: str) -> dict:
    proc, document = runs[name]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert document is not None
    return document


def test_no_progress_bar_when_stderr_is_not_a_terminal(runs):
    for name, (proc, _) in runs.items():
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", (name, proc.stderr)


# --------------------------------------------------------------------------- help


def test_help():
    proc = outreach("--help")
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout


@pytest.mark.skipif(shutil.which("outreach") is None, reason="console script not installed")
def test_console_script_help():
    proc = subprocess.run(
        ["outreach", "run", "--help"], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "SCENARIO" in proc.stdout


def test_run_help():
    proc = outreach("run", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--replicates", "--seed", "--weeks", "--set", "--workers", "--json"):
        assert option in proc.stdout
    assert "shipped scenario" in proc.stdout and "outreach run baseline" in proc.stdout


HEAVY = (
    "numpy",
    "numba",
    "scipy",
    "matplotlib",
    "dask",
    "distributed",
    "mesa",
    "solara",
    "pandas",
    "pyarrow",
    "tqdm",
)


def test_help_imports_nothing_heavy():
    # -X importtime lists every module imported, to stderr, one per line ending in its name.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sim.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "sim.cli.options" in imported
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == []
    # importtime does not log modules loaded by importlib.import_module (the command
    # registry), so ask the interpreter too.
    code = (
        "import sys\nfrom sim.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
        "print('sim.cli.run' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["[]", "True"], proc.stdout


# --------------------------------------------------------------------------- successful runs


def test_summary_table_lists_every_metric(runs):
    proc, _ = runs["file"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("small: 3 replicates of 8 weeks, seed 11, 300 people")
    lines = proc.stdout.splitlines()
    for name in METRICS:
        assert any(line.split() and line.split()[0] == name for line in lines), name
    assert "results written to" in proc.stdout


def test_json_document(runs):
    doc = _ok(runs, "file")
    for key in ("scenario", "seed", "replicates", "metrics", "groups", "weekly"):
        assert key in doc
    assert doc["scenario"] == "small"
    assert (doc["seed"], doc["replicates"], doc["weeks"]) == (11, 3, 8)
    assert doc["settings"]["population"]["size"] == 300


def test_json_metrics_have_intervals(runs):
    metrics = _ok(runs, "file")["metrics"]
    assert set(metrics) == set(METRICS)
    for name, m in metrics.items():
        assert set(m) == {"mean", "ci_low", "ci_high"}, name
        values = [m["mean"], m["ci_low"], m["ci_high"]]
        if all(v is not None and math.isfinite(v) for v in values):
            assert m["ci_low"] - 1e-9 <= m["mean"] <= m["ci_high"] + 1e-9, (name, m)
    assert metrics["clients_contacted"]["mean"] > 0


def test_json_groups(runs):
    groups = _ok(runs, "file")["groups"]
    clients = {"gender", "age_band", "locality", "service_orbit", "mistrust", "depth"}
    assert set(groups) == clients | {"peers_left"}
    # Why peers left: every reason, each with the peers in all, those who left, their share.
    assert set(groups["peers_left"]) == {
        "exhaustion",
        "relapse",
        "other_work",
        "health_or_prison",
        "moving",
        "policy",
    }
    for measures in groups.pop("peers_left").values():
        assert set(measures) == {"size", "left", "left_share"}
    assert set(groups["service_orbit"]) == {"in orbit", "outside orbit"}
    assert set(groups["mistrust"]) == {"low", "high"}
    assert list(groups["depth"]) == ["edge", "middle", "deep"]
    assert set(groups["locality"]) == {"city", "town"}
    assert set(groups["gender"]) == {"man", "woman"}
    assert len(groups["age_band"]) == 3
    for attr, labels in groups.items():
        for label, measures in labels.items():
            assert {
                "size",
                "contacted",
                "engaged",
                "linked",
                "contacted_share",
                "engaged_share",
                "linked_share",
            } <= set(measures), (attr, label)
            assert set(measures["size"]) >= {"mean", "ci_low", "ci_high"}
    # every client in the population at some time of the period counts (not the dormant, nor
    # those in prison throughout), and peers only once someone reached them (promoted clients)
    total = sum(m["size"]["mean"] for m in groups["locality"].values())
    end = _ok(runs, "file")["metrics"]["population_size_end"]["mean"]
    assert end - 10 <= total <= 1.5 * 300


def test_json_weekly_series(runs):
    doc = _ok(runs, "file")
    weekly = doc["weekly"]
    assert set(weekly) == set(WEEKLY_SERIES)
    for name, series in weekly.items():
        for stat in ("mean", "ci_low", "ci_high"):
            assert len(series[stat]) == doc["weeks"] + 1, (name, stat)
    contacted = weekly["contacted"]["mean"]
    assert contacted[0] == 0
    assert all(a <= b for a, b in zip(contacted, contacted[1:], strict=False))


def test_options_are_honoured(runs):
    doc = _ok(runs, "seed7_w1")
    assert (doc["seed"], doc["replicates"], doc["weeks"]) == (7, 4, 6)
    assert doc["settings"]["run"] == {
        "weeks": 6,
        "replicates": 4,
        "seed": 7,
        "worlds": 0,
        "shared_world_from": 50_000,
        "history_weeks": 0,
    }
    assert len(doc["weekly"]["contacted"]["mean"]) == 7
    assert runs["seed7_w1"][0].stdout.startswith("small: 4 replicates of 6 weeks, seed 7")


def test_same_seed_same_results(runs):
    a, b = _ok(runs, "seed7_w1"), _ok(runs, "seed7_w1_again")
    assert a["metrics"] == b["metrics"]
    assert a["groups"] == b["groups"]
    assert a["weekly"] == b["weekly"]


def test_other_seed_other_results(runs):
    a, c = _ok(runs, "seed7_w1"), _ok(runs, "seed8_w1")
    assert a["metrics"] != c["metrics"]


def test_results_do_not_depend_on_workers(runs):
    one, two = _ok(runs, "seed7_w1"), _ok(runs, "seed7_w2")
    assert one["metrics"] == two["metrics"]
    assert one["groups"] == two["groups"]
    assert one["weekly"] == two["weekly"]


def test_set_overrides(workdir):
    out = workdir / "set.json"
    proc = outreach(
        "run",
        workdir / "small.toml",
        "--set",
        "run.replicates=2",
        "--set",
        "run.weeks=3",
        "--set",
        "population.size=200",
        "--set",
        "name=overridden",
        "--workers",
        "1",
        "--json",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert (doc["scenario"], doc["replicates"], doc["weeks"]) == ("overridden", 2, 3)
    assert doc["settings"]["population"]["size"] == 200


# --------------------------------------------------------------------------- bad input

BAD_TOML = "[run]\nweeks = = 3\n"
UNKNOWN_KEY = SMALL + "\n[wellbeing]\nstamina = 3\n"
OUT_OF_RANGE = SMALL.replace("size = 300", "size = 5")

BAD = {
    # name: (scenario file contents or None for a missing file, extra args, text in the error)
    "missing_file": (None, [], "no such scenario file"),
    "bad_toml": (BAD_TOML, [], "not valid TOML"),
    "unknown_key": (UNKNOWN_KEY, [], "wellbeing.stamina: unknown key"),
    "out_of_range": (OUT_OF_RANGE, [], "population.size = 5: must be an integer in [10,"),
    "set_without_equals": (SMALL, ["--set", "noequals"], "dotted.key=value"),
    # A --set value's problem names --set, not the file (which is named after it).
    "set_unknown_key": (SMALL, ["--set", "run.weks=3"], "--set run.weks=3: unknown key"),
    "set_bad_value": (
        SMALL,
        ["--set", "outreach.hop_trust=2"],
        "--set outreach.hop_trust=2: must be",
    ),
    "set_bad_index": (SMALL, ["--set", "population.localities.7.stigma=0.1"], "index below 2"),
    "replicates_zero": (SMALL, ["--replicates", "0"], "--replicates"),
    "replicates_abc": (SMALL, ["--replicates", "abc"], "--replicates"),
    "seed_negative": (SMALL, ["--seed", "-1"], "--seed"),
    "json_in_missing_folder": (
        SMALL,
        ["--json", "{tmp}/no/such/folder/out.json"],
        "does not exist",
    ),
    "json_is_a_folder": (SMALL, ["--json", "{tmp}"], "is a folder"),
    "workers_zero": (SMALL, ["--workers", "0"], "--workers"),
    "scenario_is_a_folder": ("<folder>", [], "is a folder"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every failing call of the module, each in its own folder, run when a test first asks."""

    def one(name: str):
        folder = tmp_path_factory.mktemp(name)
        contents, extra, _ = BAD[name]
        scenario = folder / "scenario.toml"
        if contents == "<folder>":
            scenario = folder / "folder.toml"
            scenario.mkdir()
        elif contents is not None:
            scenario.write_text(contents, encoding="utf-8")
        args = [a.replace("{tmp}", str(folder)) for a in extra]
        if "--json" not in args:
            args += ["--json", str(folder / "out.json")]
        before = sorted(p.name for p in folder.iterdir())
        proc = outreach("run", scenario, *args)
        after = sorted(p.name for p in folder.iterdir())
        return proc, before, after

    return OnDemand(one)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_and_status_2(bad_runs, name):
    proc, before, after = bad_runs[name]
    expected = BAD[name][2]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("outreach"), lines[0]
    assert expected in lines[0], lines[0]
    assert after == before, "a failed run left files behind"


@pytest.mark.parametrize(
    "name", ["missing_file", "bad_toml", "unknown_key", "out_of_range", "set_unknown_key"]
)
def test_bad_input_names_the_file(bad_runs, name):
    proc, _, _ = bad_runs[name]
    assert "scenario.toml" in proc.stderr, (name, proc.stderr)


def test_set_through_a_list_value_is_a_user_error(workdir):
    proc = outreach("run", workdir / "small.toml", "--set", "close_peers.age_band_shares.0.x=1")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2


# --------------------------------------------------------------------------- shipped scenarios


def test_run_a_shipped_scenario_by_name_from_any_folder(tmp_path):
    out = tmp_path / "b.json"
    proc = outreach(
        "run",
        "baseline",
        "--replicates",
        "2",
        "--weeks",
        "3",
        "--set",
        "population.size=400",
        "--json",
        out,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("baseline: 2 replicates of 3 weeks")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert Path(doc["file"]) == scenarios_folder() / "baseline.toml"
    assert doc["settings"]["population"]["size"] == 400


def test_a_file_in_the_folder_comes_before_a_shipped_name(tmp_path):
    # A bare name that is a file here is that file, even where a shipped scenario has the name.
    (tmp_path / "baseline").write_text(SMALL, encoding="utf-8")
    proc = outreach("run", "baseline", "--replicates", "2", "--weeks", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("small: 2 replicates of 2 weeks")


@pytest.mark.parametrize(
    "arg, expected",
    [
        (
            "basline",
            "basline: no such scenario file, and no shipped scenario of that name "
            "(did you mean baseline?",
        ),
        ("no/such.toml", "no/such.toml: no such scenario file (or name a shipped scenario:"),
        ("baseline.toml", "baseline.toml: no such scenario file (or name a shipped scenario:"),
    ],
)
def test_unknown_scenario_is_one_line_listing_the_library(tmp_path, arg, expected):
    proc = outreach("run", arg, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert expected in lines[0], lines[0]
    for path in scenarios_folder().glob("*.toml"):
        assert path.stem in lines[0], path.stem


@pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("solara", "mesa")),
    reason="needs the viz extra",
)
def test_viz_takes_a_shipped_name(tmp_path):
    # With the port taken, the command stops just after loading the scenario: the error is
    # about the port, so the name was found.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = outreach("viz", "baseline", "--port", str(port), cwd=tmp_path)
        wrong = outreach("viz", "basline", "--port", str(port), cwd=tmp_path)
    assert proc.returncode == 2 and f"--port {port}: cannot listen" in proc.stderr, proc.stderr
    assert wrong.returncode == 2 and "did you mean baseline?" in wrong.stderr, wrong.stderr


# --------------------------------------------------------------------------- progress bar


def _on_a_terminal(*args: str, cwd: Path, columns: int | None) -> tuple[int, str, str]:
    """Run ``outreach ARGS`` with standard error on a pseudo-terminal (of ``columns`` width,
    or of no known size); returns the exit status, stdout and what the terminal showed."""
    import fcntl
    import termios

    leader, follower = pty.openpty()
    if columns is not None:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(TIMEOUT), stdout, shown.decode(errors="replace")


@pytest.mark.e2e
@pytest.mark.parametrize("columns", [100, None])
def test_progress_bar_on_a_terminal(workdir, columns):
    code, stdout, shown = _on_a_terminal(
        "run",
        "small.toml",
        "--replicates",
        "5",
        "--weeks",
        "3",
        "--workers",
        "2",
        cwd=workdir,
        columns=columns,
    )
    assert code == 0, shown
    assert stdout.startswith("small: 5 replicates")  # the table stays on stdout, clean
    assert "\r" not in stdout
    final = shown.strip().split("\r")[-1]
    assert final.startswith("small: 100%|") and "5/5 [" in final, shown
    assert "run/s]" in final, final  # tqdm's rate; its ETA sits before it, after '<'
    widths = {len(frame) for frame in shown.strip().split("\r") if frame}
    assert max(widths) <= (columns or 80), widths

"""Untidy edges (issue 27, items 6-10): a sweep without its extra, --set on one item of a
defaulted list, messages that named the wrong thing, a killed or finished sweep's leftovers,
files written unasked, and the shipped examples.

Each case goes through the real command line where the user meets it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, one_line_error, outreach, write
from tests.fit_helpers import InterruptingExecutor

BASE = textwrap.dedent("""\
    name = "base"
    [run]
    weeks = 4
    replicates = 1
    seed = 5
    [population]
    size = 300
    [close_peers]
    count = 3
    [distant_peers]
    count = 3
""")

TINY_SWEEP = textwrap.dedent("""\
    name = "tiny_sweep"
    base = "base.toml"
    design = "grid"
    replicates = 1
    seed = 3
    metrics = ["clients_linked"]
    [parameters]
    "services.p_attend" = { levels = [0.2, 0.6] }
""")


def outreach_without(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``outreach ARGS`` in an interpreter where ``module`` cannot be imported."""
    code = (
        f"import sys; sys.modules[{module!r}] = None; from sim.cli import main; "
        f"sys.exit(main({list(args)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


# ----------------------------------------------------------------- item 6: sweep without its extra


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "spec.toml", "--out", "out", "--workers", "1"),
        ("sweep", "status", "done"),
        ("sweep", "analyze", "done"),
    ],
)
def test_a_sweep_without_pyarrow_says_so_and_leaves_nothing(tmp_path, args):
    write(tmp_path / "base.toml", BASE)
    write(tmp_path / "spec.toml", TINY_SWEEP)
    (tmp_path / "done").mkdir()
    proc = outreach_without("pyarrow", *args, cwd=tmp_path)
    one_line_error(
        proc,
        "needs the sweep extra (pyarrow is not installed)",
        "pip install 'peer-outreach[sweep]'",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "done", "spec.toml"]
    assert not any((tmp_path / "done").iterdir())


# ----------------------------------------------------------------- item 10: a sweep's leftovers


def test_a_finished_sweep_leaves_no_lock_file(tmp_path):
    pytest.importorskip("pyarrow")
    write(tmp_path / "base.toml", BASE)
    write(tmp_path / "spec.toml", TINY_SWEEP)
    proc = outreach("sweep", "spec.toml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "runs"]
    again = outreach("sweep", "spec.toml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    assert not (tmp_path / "out" / ".lock").exists()


def test_a_held_sweep_folder_is_refused_and_freed_on_close(tmp_path):
    pytest.importorskip("pyarrow")
    from sim.errors import UserInputError
    from sim.sweep.design import make_design
    from sim.sweep.spec import load_spec
    from sim.sweep.store import Store, manifest_for

    write(tmp_path / "base.toml", BASE)
    spec = load_spec(write(tmp_path / "spec.toml", TINY_SWEEP))
    design = make_design(
        spec.design,
        spec.parameters,
        samples=spec.samples,
        seed=spec.seed,
        second_order=spec.second_order,
    )
    manifest = manifest_for(spec, design)
    first, _ = Store.create_or_resume(tmp_path / "out", manifest)
    with pytest.raises(UserInputError, match="another sweep is writing to this folder"):
        Store.create_or_resume(tmp_path / "out", manifest)
    first.close()
    assert not (tmp_path / "out" / ".lock").exists()
    second, resumed = Store.create_or_resume(tmp_path / "out", manifest)
    assert resumed and (tmp_path / "out" / ".lock").exists()
    second.close()


LONG_SWEEP = textwrap.dedent("""\
    name = "long"
    base = "base.toml"
    design = "lhs"
    samples = 2000
    replicates = 4
    seed = 3
    metrics = ["clients_linked"]
    [parameters]
    "services.p_attend" = { range = [0.2, 0.6] }
""")


@pytest.mark.e2e
def test_sigterm_stops_a_sweep_as_ctrl_c_does(tmp_path):
    pytest.importorskip("pyarrow")
    write(
        tmp_path / "base.toml",
        BASE.replace("weeks = 4", "weeks = 52").replace("size = 300", "size = 2000"),
    )
    write(tmp_path / "spec.toml", LONG_SWEEP)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "sweep",
            "spec.toml",
            "--out",
            "out",
            "--workers",
            "2",
            "--chunk-rows",
            "2",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        deadline = time.monotonic() + 90
        while (
            time.monotonic() < deadline
            and proc.poll() is None
            and not any((tmp_path / "out" / "runs").glob("part-*"))
        ):
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("outreach: terminated: "), err
    assert "run the same command again to resume" in lines[0]
    assert not (tmp_path / "out" / ".lock").exists()
    status = outreach("sweep", "status", "out", cwd=tmp_path)
    assert status.returncode == 0 and "incomplete" in status.stdout, status.stderr


# ----------------------------------------------------------------- item 7: --set into defaults


def test_set_reaches_an_item_of_a_defaulted_list_as_a_sweep_does(tmp_path):
    from sim.model.scenario import load_scenario

    path = write(tmp_path / "base.toml", BASE)
    key = "population.localities.0.stigma"
    scenario = load_scenario(path, {key: 0.5})
    assert scenario.population.localities[0].stigma == 0.5
    # What a sweep does: the base scenario (every default in it) with the key replaced.
    assert scenario == load_scenario(path).replace({key: 0.5})
    proc = outreach("run", "base.toml", "--set", f"{key}=0.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    beyond = outreach(
        "run", "base.toml", "--set", "population.localities.1.stigma=0.5", cwd=tmp_path
    )
    one_line_error(
        beyond,
        "--set population.localities.1.stigma",
        "population.localities.1 must be an index below 1",
    )


def test_set_of_a_subgroups_shares_keeps_its_default_names(tmp_path):
    from sim.model.scenario import load_scenario

    path = write(tmp_path / "base.toml", BASE)
    scenario = load_scenario(path, {"population.subgroups.gender.shares": [0.5, 0.5]})
    assert scenario.population.subgroups["gender"].names == ("man", "woman")
    assert scenario.population.subgroups["gender"].shares == (0.5, 0.5)
    proc = outreach(
        "run",
        "base.toml",
        "--set",
        "population.subgroups.gender.shares=[0.5,0.3,0.2]",
        cwd=tmp_path,
    )
    one_line_error(
        proc,
        "--set population.subgroups.gender.shares=[0.5,0.3,0.2]: must give one "
        "share per name (2 names, 3 shares",
        "population.subgroups.gender.names = ['man', 'woman']",
    )


# ----------------------------------------------------------------- item 8: messages that misled


def test_a_resumed_fit_counts_the_trials_the_interrupted_one_stored(tmp_path):
    pytest.importorskip("optuna")
    import dataclasses

    from sim.fit.calibrate import calibrate
    from sim.fit.runs import InlineExecutor
    from sim.fit.spec import load_fit_spec

    targets = write(
        tmp_path / "t.toml",
        textwrap.dedent("""\
        name = "synthetic"
        seed = 7
        replicates = 2
        [set]
        "population.size" = 300
        "run.weeks" = 4
        [parameters]
        "outreach.p_engage_per_week" = { range = [0.05, 0.5] }
        [[target]]
        metric = "clients_contacted"
        value = 30
        sd = 5
        """),
    )
    spec = load_fit_spec(targets, ROOT / "sim" / "scenarios" / "baseline.toml")
    spec = dataclasses.replace(spec, replicates=2)

    # Ctrl-C after 21 runs: the first round's 8 trials told, the second's running.
    first = calibrate(
        spec, tmp_path / "fit", InterruptingExecutor(after=21), trials=16, say=lambda _: None
    )
    assert first.interrupted and first.trials_done == 8
    said: list[str] = []
    calibrate(spec, tmp_path / "fit", InlineExecutor(), trials=16, posterior=0, say=said.append)
    assert said[0] == (
        f"resuming {tmp_path / 'fit'}: 8 trials stored; 8 interrupted trials run again first"
    ), said


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ("run", "base.toml", "--json", "afile/x.json"),
            "--json afile/x.json: afile is a file, not a folder",
        ),
        (
            ("report", "base.toml", "--out", "afile/a/b"),
            "--out afile/a/b: afile is a file, not a folder",
        ),
        (("sweep", "analyze", "afile"), "afile: is a file, not a sweep folder"),
    ],
)
def test_a_file_in_the_way_is_called_a_file(tmp_path, args, expected):
    write(tmp_path / "base.toml", BASE)
    write(tmp_path / "afile", "x")
    one_line_error(outreach(*args, cwd=tmp_path), expected)


def test_sweep_analyze_names_its_own_option_or_folder(tmp_path):
    pytest.importorskip("pyarrow")
    write(tmp_path / "base.toml", BASE)
    write(tmp_path / "spec.toml", TINY_SWEEP)
    write(tmp_path / "afile", "x")
    assert (
        outreach("sweep", "spec.toml", "--out", "out", "--workers", "1", cwd=tmp_path).returncode
        == 0
    )
    proc = outreach("sweep", "analyze", "out", "--analysis-dir", "afile", cwd=tmp_path)
    line = one_line_error(proc, "--analysis-dir afile: is a file; give a folder")
    assert "--out" not in line
    proc = outreach("sweep", "analyze", "out", "--analysis-dir", "afile/x", cwd=tmp_path)
    one_line_error(proc, "--analysis-dir afile/x: afile is a file, not a folder")
    write(tmp_path / "out" / "analysis", "x")
    one_line_error(
        outreach("sweep", "analyze", "out", cwd=tmp_path),
        "analysis folder out/analysis: is a file; give a folder",
    )


def test_the_memory_estimate_of_a_10m_run_follows_its_measured_peak(monkeypatch, capsys):
    """A 10M-person baseline run (4 replicates, 2 threads) peaked at 6.2 GB resident on the
    project's machine, 0.81 GB at 1M people; the warning once said 35.8 GB. Measured on
    worlds of the population alone: no dormant people (``population.dormant_per_person = 0``)."""
    from sim.cli import resources
    from sim.cli.options import scenario_path
    from sim.model.scenario import load_scenario

    def estimate(people: int, replicates: int) -> float:
        s = load_scenario(
            scenario_path("baseline"),
            {
                "population.size": people,
                "run.replicates": replicates,
                "population.dormant_per_person": 0.0,
            },
        )
        monkeypatch.setattr(resources, "available_memory", lambda: 1)
        resources.warn_before_runs([s], 2)
        line = capsys.readouterr().err
        return float(line.split("needs about ")[1].split(" GB")[0])

    for people, replicates, measured in ((10_000_000, 4, 6.2), (1_000_000, 1, 0.81)):
        assert measured <= estimate(people, replicates) <= 1.25 * measured
    # Replicates beyond those running at once share the world: no more memory.
    assert estimate(10_000_000, 40) == estimate(10_000_000, 4)


# ----------------------------------------------------------------- item 10: files unasked


def test_reach_writes_no_plot_unless_asked(tmp_path):
    proc = outreach(
        "reach",
        "baseline",
        "--policies",
        "random,degree",
        "--replicates",
        "2",
        "--peers",
        "3",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "plot written" not in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_compare_plots_panel_titles_do_not_overlap():
    from sim.cli.options import scenario_path
    from sim.ensemble.compare import align_run_settings, run_comparison
    from sim.model.scenario import load_scenario
    from sim.output.plots import comparison_figure, metrics_figure

    scenarios = [
        load_scenario(
            scenario_path(n), {"population.size": 500, "run.weeks": 3, "run.replicates": 2}
        )
        for n in ("close_peers_only", "distant_peers_only", "mixed_team")
    ]
    scenarios, _ = align_run_settings(scenarios)
    comparison = run_comparison(scenarios, workers=1)
    for make in (comparison_figure, metrics_figure):
        fig = make(comparison)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
        assert len(boxes) >= 6
        # Titles of one row keep at least half an 11-point character apart (at 100 dpi): the
        # bottom row's "Clients linked to services" and "Share outside the orbit contacted"
        # were 3 pixels apart, their letters touching.
        gap = 0.5 * 11 * fig.dpi / 72
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                if a.y1 > b.y0 and b.y1 > a.y0:  # one row
                    assert max(b.x0 - a.x1, a.x0 - b.x1) >= gap, (make.__name__, a, b)
        import matplotlib.pyplot as plt

        plt.close(fig)


# ----------------------------------------------------------------- shipped examples


def test_the_readmes_specs_are_shipped_examples_named_like_scenarios(tmp_path):
    from sim.cli.options import example_path
    from sim.fit.spec import load_fit_spec, load_search_spec
    from sim.sweep.spec import load_spec

    folder = ROOT / "sim" / "examples"
    assert example_path("sensitivity", "sweep spec") == folder / "sensitivity.toml"
    spec = load_spec(example_path("sensitivity", "sweep spec"))
    assert spec.base.name == "baseline"  # base = "baseline": the shipped scenario by name
    baseline = ROOT / "sim" / "scenarios" / "baseline.toml"
    assert load_fit_spec(example_path("burnout", "targets"), baseline).name == "burnout"
    assert load_fit_spec(example_path("helsinki", "targets"), baseline).targets
    assert (
        load_search_spec(
            example_path("budget", "search"), ROOT / "sim" / "scenarios" / "mixed_team.toml"
        ).name
        == "budget"
    )
    # A file of that name in the current folder comes first, as with scenarios.
    mine = write(tmp_path / "sensitivity", "x")
    assert example_path(str(mine), "sweep spec") == mine
    proc = outreach("calibrate", "baseline", "burnot", "--out", "fit", cwd=tmp_path)
    one_line_error(
        proc,
        "burnot: no such targets file, and no shipped example of that name",
        "did you mean burnout?",
    )
    proc = outreach("sweep", "sensitivty", "--out", "sw", cwd=tmp_path)
    one_line_error(proc, "did you mean sensitivity?")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sensitivity"]


def test_a_spec_without_base_says_how_to_name_a_shipped_scenario(tmp_path):
    spec = write(tmp_path / "spec.toml", TINY_SWEEP.replace('base = "base.toml"\n', ""))
    proc = outreach("sweep", spec, "--out", "sw", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert 'shipped scenario\'s name (base = "baseline")' in proc.stderr
    spec = write(tmp_path / "spec.toml", TINY_SWEEP.replace('"base.toml"', '"basline"'))
    proc = outreach("sweep", spec, "--out", "sw", cwd=tmp_path)
    assert (
        "no shipped scenario of that name (shipped: " in proc.stderr and "baseline" in proc.stderr
    ), proc.stderr

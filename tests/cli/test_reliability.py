"""Never silently wrong (issue 16, items 5-8): what a user meets around the runs themselves.

Files follow the umask, a report is not overwritten without --force, `new` keeps a copied
scenario's graph files, a --set value's problem names --set, piped output stops quietly, a
killed sweep leaves no worker behind, and warnings come before runs that will not fit.
Every case goes through the real command line where the user meets it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.cli_helpers import ROOT, one_line_error, outreach, write

TINY = textwrap.dedent("""\
    name = "tiny"
    [run]
    weeks = 4
    replicates = 2
    seed = 5
    [population]
    size = 300
    [close_peers]
    count = 3
    [distant_peers]
    count = 3
""")


def ring_edges(n: int, prefix: str = "p") -> str:
    rows = [f"{prefix}{i},{prefix}{(i + 1) % n}" for i in range(n)]
    return "source,target\n" + "\n".join(rows) + "\n"


# ----------------------------------------------------------------- file modes (item 7)


def test_atomic_writes_follow_the_umask(tmp_path):
    from sim.output.atomic import write_bytes_atomic, write_folder_atomic, write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
        write_bytes_atomic(tmp_path / "b.png", b"x")
        folder = write_folder_atomic(tmp_path / "report", {"report.html": b"<p>"})[0].parent
        os.umask(0o027)
        write_text_atomic(tmp_path / "c.csv", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.png").stat().st_mode & 0o777 == 0o644
    assert (folder / "report.html").stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "c.csv").stat().st_mode & 0o777 == 0o640


@pytest.mark.e2e
def test_new_writes_a_file_readable_by_others(tmp_path):
    write(tmp_path / "tiny.toml", TINY)
    command = f"umask 022 && {sys.executable} -m sim.cli new mine --from tiny.toml"
    proc = subprocess.run(
        ["sh", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mine.toml").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------- help texts (item 7)


@pytest.mark.parametrize(
    "command",
    [
        "run",
        "compare",
        "report",
        "validate",
        "scenarios",
        "new",
        "params",
        "sweep",
        "viz",
        "animate",
    ],
)
def test_help_has_no_doubled_percent(command):
    proc = outreach(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "%%" not in proc.stdout, proc.stdout


# ----------------------------------------------------------------- report (item 7)


def test_report_refuses_to_overwrite_a_report_without_force(tmp_path):
    write(tmp_path / "tiny.toml", TINY)
    out = tmp_path / "out"
    write(out / "report.html", "<p>the planner's own report</p>")
    proc = outreach("report", tmp_path / "tiny.toml", "--out", out)
    one_line_error(proc, f"--out {out}", "report.html", "--force")
    assert (out / "report.html").read_text() == "<p>the planner's own report</p>"


def test_report_header_says_one_scenario_in_the_singular():
    from sim.model.scenario import Scenario
    from sim.output.comparison import comparison_header

    one = SimpleNamespace(
        run=SimpleNamespace(replicates=2, weeks=4, seed=1),
        labels=["a"],
        scenarios=[Scenario()],
        notes=[],
        history_weeks=lambda: {"a": 0},
    )
    assert comparison_header(one, "--seed").startswith("compared 1 scenario on ")
    two = SimpleNamespace(**{**vars(one), "labels": ["a", "b"], "scenarios": [Scenario()] * 2})
    assert comparison_header(two, "--seed").startswith("compared 2 scenarios on ")


# ----------------------------------------------------------------- new (item 6)


@pytest.mark.parametrize("name", ["", "...", ".", ".hidden", "sub/", "x/..", " ", "a b"])
def test_new_refuses_a_name_that_is_no_name(tmp_path, name):
    proc = outreach("new", name, cwd=tmp_path)
    one_line_error(proc, "new ")
    assert list(tmp_path.iterdir()) == []


def test_new_keeps_a_copied_scenarios_graph_file(tmp_path):
    other = tmp_path / "other"
    write(other / "net" / "edges.csv", ring_edges(20))
    write(other / "net" / "nodes.csv", "id,gender\n" + "".join(f"p{i},man\n" for i in range(20)))
    write(
        other / "net.toml",
        textwrap.dedent("""\
        name = "net"
        [run]
        weeks = 4
        replicates = 2
        [network]
        generator = "file"
        file = "net/edges.csv"      # the ties
        nodes_file = 'net/nodes.csv'
        [close_peers]
        count = 2
        [distant_peers]
        count = 2
        """),
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = outreach("new", "copied", "--from", other / "net.toml", cwd=work)
    assert proc.returncode == 0, proc.stderr
    text = (work / "copied.toml").read_text()
    assert 'file = "../other/net/edges.csv"      # the ties' in text
    assert 'nodes_file = "../other/net/nodes.csv"' in text
    proc = outreach("validate", "copied.toml", cwd=work)
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------- --set (items 6, 7)


def test_set_value_problem_names_set_not_the_file(tmp_path):
    write(tmp_path / "tiny.toml", TINY)
    proc = outreach("run", "tiny.toml", "--set", "population.size=5", cwd=tmp_path)
    line = one_line_error(proc, "--set population.size=5: must be an integer in [10, ")
    assert not line.startswith("outreach: error: tiny.toml:"), line
    proc = outreach(
        "compare", "tiny.toml", "tiny.toml", "--set", "services.p_attend=2", cwd=tmp_path
    )
    one_line_error(proc, "--set services.p_attend=2: must be")
    proc = outreach("run", "tiny.toml", "--set", "close_peers.count=400", cwd=tmp_path)
    one_line_error(
        proc, "close_peers.count + distant_peers.count", "(with --set close_peers.count=400)"
    )


def test_set_graph_file_is_taken_from_the_current_folder(tmp_path):
    scenarios = tmp_path / "scenarios"
    write(scenarios / "tiny.toml", TINY)
    write(tmp_path / "net" / "edges.csv", ring_edges(30))
    sets = [
        "--set",
        "network.generator=file",
        "--set",
        "network.file=net/edges.csv",
        "--set",
        "close_peers.count=2",
        "--set",
        "distant_peers.count=2",
    ]
    # There is no scenarios/net/edges.csv: a path typed on the command line is the shell's.
    proc = outreach(
        "compare",
        "scenarios/tiny.toml",
        "scenarios/tiny.toml",
        "--replicates",
        "1",
        *sets,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "30 people" in proc.stdout
    proc = outreach(
        "run",
        "scenarios/tiny.toml",
        "--set",
        "network.generator=file",
        "--set",
        "network.file=nowhere/edges.csv",
        cwd=tmp_path,
    )
    one_line_error(proc, str(tmp_path / "nowhere" / "edges.csv"))


# ----------------------------------------------------------------- broken pipe (also)


@pytest.mark.e2e
@pytest.mark.parametrize("args", [("scenarios",), ("--help",), ("run", "{tiny}")])
def test_output_to_a_closed_pipe_ends_quietly(tmp_path, args):
    write(tmp_path / "tiny.toml", TINY)
    json_out = tmp_path / "out.json"
    args = [a.format(tiny=tmp_path / "tiny.toml") for a in args]
    if args[0] == "run":
        args += ["--json", str(json_out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader has gone, as `| head -0` would
    stderr = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert code == 0, stderr
    if args[0] == "run":
        assert json_out.is_file()  # the work is done even when nobody reads the summary


@pytest.mark.e2e
def test_head_reads_the_first_line(tmp_path):
    write(tmp_path / "tiny.toml", TINY)
    proc = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m sim.cli run tiny.toml | head -1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stdout.startswith("tiny: 2 replicates"), proc.stdout
    assert proc.stderr == "", proc.stderr


# ----------------------------------------------------------------- a killed sweep (item 5)


def _children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (Linux /proc; zombies count as gone)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


SWEEP_BASE = textwrap.dedent("""\
    name = "sweep_base"
    [run]
    weeks = 52
    [population]
    size = 2000
    [close_peers]
    count = 5
    [distant_peers]
    count = 5
""")

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
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_a_killed_sweep_leaves_no_worker_behind(tmp_path, signal_name):
    import signal

    pytest.importorskip("pyarrow")
    write(tmp_path / "base.toml", SWEEP_BASE)
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
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        # Wait until both workers run (their runs reach the store), not only exist.
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children_of(proc.pid)
            if len(workers) >= 2 and any((tmp_path / "out" / "runs").glob("part-*")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read()
        assert len(workers) >= 2, workers
        os.kill(proc.pid, getattr(signal, signal_name))
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(workers), f"workers left running: {_alive(workers)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _alive(workers):  # a failed test leaves nothing running either
            os.kill(pid, 9)


# ----------------------------------------------------------------- sweep folders (items 7, 8)


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


def test_sweep_makes_the_parent_folder_of_out(tmp_path):
    pytest.importorskip("pyarrow")
    write(tmp_path / "base.toml", TINY)
    write(tmp_path / "spec.toml", TINY_SWEEP)
    proc = outreach("sweep", "spec.toml", "--out", "runs/tiny", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "runs" / "tiny" / "manifest.json").is_file()
    mode = (tmp_path / "runs" / "tiny" / "manifest.json").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_sweep_whose_scheduler_cannot_be_reached_leaves_no_folder(tmp_path):
    import socket

    pytest.importorskip("distributed")
    write(tmp_path / "base.toml", TINY)
    write(tmp_path / "spec.toml", TINY_SWEEP)
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = outreach(
        "sweep",
        "spec.toml",
        "--out",
        "runs/tiny",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        cwd=tmp_path,
    )
    one_line_error(proc, f"--scheduler tcp://127.0.0.1:{port}: cannot connect")
    assert time.monotonic() - started < 15  # not Dask's 20 s of retries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "spec.toml"]


def test_a_sweep_of_very_many_runs_is_warned_about(tmp_path):
    pytest.importorskip("distributed")
    write(tmp_path / "base.toml", TINY)
    write(tmp_path / "spec.toml", TINY_SWEEP.replace("replicates = 1", "replicates = 60000"))
    proc = outreach(
        "sweep", "spec.toml", "--out", "runs/tiny", "--scheduler", "tcp://127.0.0.1:1", cwd=tmp_path
    )
    warning, error = proc.stderr.splitlines()
    assert warning.startswith("outreach: warning: this sweep has 120,000 runs"), warning
    assert "cannot connect" in error


def test_sweep_error_on_too_many_peers_names_the_peer_counts(tmp_path):
    write(tmp_path / "base.toml", TINY)
    write(
        tmp_path / "spec.toml",
        TINY_SWEEP.replace(
            '"services.p_attend" = { levels = [0.2, 0.6] }',
            '"population.size" = { levels = [10, 300] }',
        ),
    )
    proc = outreach("sweep", "spec.toml", "--out", "out", cwd=tmp_path)
    one_line_error(
        proc, "parameters.population.size = 10", "close_peers.count + distant_peers.count = 6"
    )


# ----------------------------------------------------------------- params (item 8)


def test_params_lists_every_key_with_default_range_and_meaning():
    from sim.model.scenario import Scenario, scenario_to_dict

    proc = outreach("params")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "an integer in [10, 10000000]; people in the hidden population" in out
    assert "'small_world'" in out
    listed = {m.group(1).replace(".N.", ".0.") for m in re.finditer(r"(?m)^(\S+) +=", out)}

    def leaves(value, prefix=""):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from leaves(v, f"{prefix}{k}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            yield prefix[:-1]
            yield from leaves(value[0], f"{prefix}0.")
        else:
            yield prefix[:-1]

    # The very keys a scenario has: none missing, none made up.
    assert listed == set(leaves(scenario_to_dict(Scenario())))


def test_params_of_one_section_and_an_unknown_one():
    proc = outreach("params", "population.localities")
    assert proc.returncode == 0, proc.stderr
    keys = [line.split()[0] for line in proc.stdout.splitlines() if line and line[0] != " "]
    assert keys and all(k.startswith("population.localities") for k in keys), keys
    assert "population.localities.N.stigma" in keys
    one_line_error(outreach("params", "netwrk"), "params netwrk", "did you mean network?")


# ----------------------------------------------------------------- warnings (item 8)


def test_more_workers_than_cores_is_a_warning_and_the_run_goes_on(tmp_path):
    write(tmp_path / "tiny.toml", TINY)
    workers = (os.cpu_count() or 1) + 3
    proc = outreach("run", "tiny.toml", "--workers", str(workers), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"outreach: warning: --workers {workers} is more than"
    ), proc.stderr
    assert "tiny: 2 replicates" in proc.stdout


def test_a_run_that_will_not_fit_in_memory_is_warned_about(monkeypatch, capsys):
    from sim.cli import resources
    from sim.model.scenario import Scenario

    big = Scenario().replace(
        {"population.size": 10_000_000, "run.replicates": 4, "population.dormant_per_person": 0}
    )
    # The estimate follows the arrays (about 6.5 GB, measured 6.2 GB): it fits in 8 GB.
    monkeypatch.setattr(resources, "available_memory", lambda: 4 * 2**30)
    resources.warn_before_runs([big], 2)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("outreach: warning: scenario needs about "), err
    assert "10,000,000 people" in err[0] and "4.0 GB free" in err[0]
    small = Scenario().replace({"population.size": 2000})
    resources.warn_before_runs([small], 2)
    assert capsys.readouterr().err == ""


def test_available_memory_is_read_without_psutil():
    from sim.cli.resources import available_memory

    free = available_memory()
    assert free is None or 2**20 < free < 2**50


# ----------------------------------------------------------------- isolated people (item 8)


def _isolated_files(folder: Path) -> Path:
    """A ring of 30 people with ties and 10 more listed only in the nodes file."""
    write(folder / "edges.csv", ring_edges(30))
    rows = [f"p{i},{'man' if i % 2 else 'woman'},30-44" for i in range(40)]
    write(folder / "nodes.csv", "id,gender,age_band\n" + "\n".join(rows) + "\n")
    return write(
        folder / "iso.toml",
        textwrap.dedent("""\
        name = "iso"
        [run]
        weeks = 4
        replicates = 2
        [network]
        generator = "file"
        file = "edges.csv"
        nodes_file = "nodes.csv"
        [close_peers]
        count = 3
        [distant_peers]
        count = 3
        """),
    )


def test_a_nodes_file_adds_people_with_no_ties(tmp_path):
    from sim.graphs.graph_files import Labels, load_graph

    _isolated_files(tmp_path)
    labels = {"gender": Labels(("man", "woman"))}
    graph, ids = load_graph(tmp_path / "edges.csv", tmp_path / "nodes.csv", labels=labels)
    assert graph.n_nodes == 40 and ids == [f"p{i}" for i in range(40)]
    degree = graph.indptr[1:] - graph.indptr[:-1]
    assert (degree[:30] == 2).all() and (degree[30:] == 0).all()
    gender = graph.node_attrs["gender"]
    assert [int(g) for g in gender[28:32]] == [1, 0, 1, 0]  # p28 woman, p29 man, ...


def test_run_and_report_count_the_isolated_people(tmp_path):
    _isolated_files(tmp_path)
    proc = outreach("validate", "iso.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = outreach("report", "iso.toml", "--out", "rep", "--format", "markdown", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "iso.toml, 40 people" in proc.stdout
    assert "compared 1 scenario on" in proc.stdout
    report = (tmp_path / "rep" / "report.md").read_text()
    assert re.search(r"\| iso \| [^|]* \| 40 \|", report), report[:2000]


# ----------------------------------------------------------------- validate in one pass (item 7)


def test_validate_shows_problems_between_keys_with_bad_values(tmp_path):
    write(
        tmp_path / "v.toml",
        textwrap.dedent("""\
        name = "v"
        [population]
        size = 5
        [population.subgroups.gender]
        names = ["man", "woman"]
        shares = [0.5, 0.6]
        [close_peers]
        count = -1
        [wellbeing]
        return_threshold = 0.1
        exhaustion_threshold = 0.5
        """),
    )
    proc = outreach("validate", "v.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "v.toml: population.size = 5: must be an integer in [10, 10000000]"
    assert lines[1].startswith("v.toml: close_peers.count = -1: must be an integer")
    assert any("gender.shares = [0.5, 0.6]: shares must add up to 1" in x for x in lines)
    assert any(
        x.startswith("v.toml: wellbeing.return_threshold = 0.1: must be above") for x in lines
    )
    # Not the peers against the default population.size that replaced the bad one.
    assert not any("at most half of population.size" in x for x in lines), lines

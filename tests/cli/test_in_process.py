"""The in-process command runner of the tests (:func:`tests.cli_helpers.outreach`).

It must answer as a real ``outreach`` process would, and leave nothing behind in the test
process that a later command or test could see: the working folder, environment variables,
numba's thread count, signal handlers, warning filters, in-memory caches.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import types
import warnings
from pathlib import Path

import pytest

from tests import cli_helpers
from tests.cli_helpers import outreach, outreach_process, write

TINY = """
name = "tiny"
[run]
replicates = 2
weeks = 3
seed = 5
[population]
size = 200
[close_peers]
count = 1
[distant_peers]
count = 2
"""


def _as_main(monkeypatch, body):
    """Let ``outreach`` call ``body(argv)`` in place of :func:`sim.cli.main`."""
    monkeypatch.setattr(cli_helpers, "_main", body)


def test_standard_streams_and_the_exit_status_are_the_commands(monkeypatch):
    def body(argv):
        print("out", *argv)
        print("err", file=sys.stderr)
        sys.stdout.buffer.write(b"bytes\n")
        return 3

    _as_main(monkeypatch, body)
    proc = outreach("a", Path("b"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out a b\nbytes\n", "err\n")
    assert proc.args == ["outreach", "a", "b"]


@pytest.mark.parametrize(
    ("code", "status", "stderr"), [(None, 0, ""), (2, 2, ""), ("bad input", 1, "bad input\n")]
)
def test_sys_exit_ends_as_in_a_process(monkeypatch, code, status, stderr):
    def body(argv):
        sys.exit(code)

    _as_main(monkeypatch, body)
    proc = outreach()
    assert (proc.returncode, proc.stderr) == (status, stderr)


def test_an_uncaught_error_is_a_traceback_and_status_1(monkeypatch):
    def body(argv):
        raise RuntimeError("boom")

    _as_main(monkeypatch, body)
    proc = outreach()
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback") and "RuntimeError: boom" in proc.stderr


def test_what_a_command_changes_in_the_process_is_put_back(monkeypatch, tmp_path):
    numba = pytest.importorskip("numba")
    monkeypatch.delenv("OUTREACH_TEST_LEFT", raising=False)
    threads = numba.get_num_threads()
    handler = signal.getsignal(signal.SIGTERM)
    here = Path.cwd()
    seen = {}

    def body(argv):
        seen["cwd"] = Path.cwd()
        os.environ["OUTREACH_TEST_LEFT"] = "1"
        os.chdir(tmp_path)
        numba.set_num_threads(1)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return 0

    _as_main(monkeypatch, body)
    assert outreach(cwd=tmp_path).returncode == 0
    assert seen["cwd"] == tmp_path
    assert "OUTREACH_TEST_LEFT" not in os.environ
    assert numba.get_num_threads() == threads
    assert signal.getsignal(signal.SIGTERM) == handler
    assert Path.cwd() == here


def test_the_working_folder_is_the_project_root_by_default(monkeypatch, cli):
    _as_main(monkeypatch, lambda argv: print(Path.cwd()) or 0)
    assert cli().stdout.strip() == str(cli_helpers.ROOT)


def test_warnings_go_to_the_commands_stderr_as_in_a_fresh_interpreter(monkeypatch):
    def body(argv):
        warnings.warn("shown", UserWarning, stacklevel=1)
        warnings.warn("hidden", DeprecationWarning, stacklevel=1)
        return 0

    _as_main(monkeypatch, body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc = outreach()
    assert "UserWarning: shown" in proc.stderr and "hidden" not in proc.stderr
    assert caught == []


def test_the_packages_in_memory_caches_are_emptied_after_a_command(monkeypatch):
    # A module of the package as a command leaves it: a functools cache and a dict cache full.
    probe = types.ModuleType("sim._probe")
    exec(
        "import functools\n"
        "@functools.lru_cache\ndef square(x):\n    return x * x\n"
        "_graph_cache = {}\n",
        vars(probe),
    )
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    probe.square(3)
    probe._graph_cache["a"] = 1
    _as_main(monkeypatch, lambda argv: 0)
    outreach()
    assert probe.square.cache_info().currsize == 0
    assert probe._graph_cache == {}


def test_on_demand_computes_each_entry_once():
    calls = []
    table = cli_helpers.OnDemand(lambda key: calls.append(key) or key * 2)
    assert (table[3], table[3], table[4]) == (6, 6, 8)
    assert calls == [3, 4]


# ------------------------------------------------- the same answers as a real process (e2e)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("scenarios",),
        ("run", "tiny.toml"),
        ("run", "tiny.toml", "--set", "run.weks=3"),
        ("validate", "missing.toml"),
    ],
    ids=["version", "scenarios", "run", "bad-set", "missing-file"],
)
def test_in_process_answers_as_python_m_sim_cli(tmp_path, args):
    write(tmp_path / "tiny.toml", TINY)
    here = outreach(*args, cwd=tmp_path)
    there = outreach_process(*args, cwd=tmp_path)
    assert (here.returncode, _timeless(here.stdout), here.stderr) == (
        there.returncode,
        _timeless(there.stdout),
        there.stderr,
    )


@pytest.mark.e2e
def test_a_run_writes_the_same_json_in_process_and_in_a_process(cli, small_scenario, tmp_path):
    assert cli("run", small_scenario, "--json", "a.json", cwd=tmp_path).returncode == 0
    assert outreach_process("run", small_scenario, "--json", "b.json", cwd=tmp_path).returncode == 0
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    for document in (a, b):
        worlds = document["worlds"]
        for key in [k for k in worlds if k.endswith("_seconds")]:
            del worlds[key]
    assert a == b


def _timeless(text: str) -> str:
    """The text with its measured times (``0.6 s``, ``63% on worlds``) blanked."""
    text = re.sub(r"\d+(\.\d+)? s\b", "T s", text)
    return re.sub(r"\d+% on worlds", "P% on worlds", text)

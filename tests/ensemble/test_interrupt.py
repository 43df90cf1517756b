"""Ctrl-C stops ``run``, ``compare`` and ``report`` promptly: one line, exit status 130.

The command-line tests start the real command in its own session, wait until it is really
running replicates (by the CPU time it has used), send SIGINT as a terminal's Ctrl-C does, and
time how long it takes to end. The unit tests stop :func:`sim.ensemble.replicates.run_ensemble`
through its ``stop`` event and by an interrupt in the waiting main thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim.ensemble.replicates import RunCancelled, run_ensemble
from sim.model.scenario import load_scenario
from tests.cli_helpers import ROOT

BASELINE = ROOT / "sim" / "scenarios" / "baseline.toml"

#: CPU seconds the command has used before the interrupt: well past the interpreter's start,
#: numba's cache and the first replicate (about 3 s), so the worker threads are running.
BUSY_CPU_SECONDS = 5.0
#: How long after the interrupt the command may take to end (the promise is about two seconds;
#: the rest is slack for a loaded machine).
STOP_WITHIN_SECONDS = 4.0
#: Enough replicates that the command would run for minutes if the interrupt did not stop it.
REPLICATES = "2000"


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(args: list[str], presses: int, cwd: Path) -> tuple[int, float, str, str]:
    """Start ``outreach ARGS``, press Ctrl-C ``presses`` times once it is busy.

    Returns:
        Exit status, seconds from the first SIGINT to the end, standard output and error.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        # as from a terminal, even when these tests run in a background job
        # (which ignores SIGINT, and children inherit that)
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 120
        while _cpu_seconds(proc.pid) < BUSY_CPU_SECONDS:
            assert proc.poll() is None, f"ended before the interrupt: {proc.communicate()}"
            assert time.monotonic() < deadline, "never got busy"
            time.sleep(0.1)
        start = time.monotonic()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.1)
        try:
            out, err = proc.communicate(timeout=STOP_WITHIN_SECONDS + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return proc.returncode, time.monotonic() - start, out, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _assert_stopped(status: int, seconds: float, err: str) -> None:
    assert "Traceback" not in err, err
    assert err.splitlines() == ["outreach: interrupted"], err
    assert status == 130, (status, err)
    assert seconds < STOP_WITHIN_SECONDS, f"ended {seconds:.1f} s after Ctrl-C"


@pytest.mark.e2e
@pytest.mark.parametrize("presses", [1, 3])
def test_ctrl_c_stops_run(tmp_path, presses):
    out_json = tmp_path / "results.json"
    status, seconds, out, err = _interrupt(
        ["run", "baseline", "--replicates", REPLICATES, "--json", str(out_json)], presses, tmp_path
    )
    _assert_stopped(status, seconds, err)
    assert out == ""
    assert list(tmp_path.iterdir()) == []  # no results, no temporary file left behind


@pytest.mark.e2e
def test_ctrl_c_three_times_stops_compare(tmp_path):
    status, seconds, out, err = _interrupt(
        ["compare", "baseline", "mixed_team", "--replicates", REPLICATES, "--csv", "table.csv"],
        3,
        tmp_path,
    )
    _assert_stopped(status, seconds, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_ctrl_c_stops_report(tmp_path):
    status, seconds, out, err = _interrupt(
        ["report", "baseline", "mixed_team", "--replicates", REPLICATES, "--out", "report"],
        1,
        tmp_path,
    )
    _assert_stopped(status, seconds, err)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- run_ensemble


def _scenario(replicates: int):
    return load_scenario(BASELINE, {"population.size": 2000, "run.replicates": replicates})


def _replicate_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("replicate")]


def test_set_stop_event_cancels_before_any_work():
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    with pytest.raises(RunCancelled):
        run_ensemble(_scenario(50), workers=2, stop=stop)
    assert time.monotonic() - t0 < 1.0


def test_stop_event_set_while_running_stops_every_worker():
    stop = threading.Event()
    done: list[int] = []
    set_at: list[float] = []

    def stop_now() -> None:  # as another thread (a page, a service) would
        set_at.append(time.monotonic())
        stop.set()

    def progress(n: int, _total: int) -> None:
        done.append(n)
        if n == 3:  # replicates are running in the worker threads now
            threading.Timer(0.2, stop_now).start()

    with pytest.raises(RunCancelled):
        run_ensemble(_scenario(2000), workers=2, progress=progress, stop=stop)
    assert time.monotonic() - set_at[0] < 1.5
    assert 3 <= max(done) < 2000
    # The workers were joined before the exception arrived: nothing runs behind the caller.
    assert _replicate_threads() == []


def test_interrupt_in_main_thread_stops_workers_promptly():
    def progress(n: int, _total: int) -> None:
        if n == 3:
            raise KeyboardInterrupt  # as Ctrl-C raises it in the waiting main thread

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_ensemble(_scenario(2000), workers=2, progress=progress)
    # 2,000 replicates take about 40 s; stopping waits only for the running ones' current week.
    assert time.monotonic() - t0 < 5.0
    assert _replicate_threads() == []


def test_unset_stop_event_changes_nothing():
    scenario = _scenario(3)
    plain = run_ensemble(scenario, workers=2)
    watched = run_ensemble(scenario, workers=2, stop=threading.Event())
    assert [r.metrics for r in watched.runs] == [r.metrics for r in plain.runs]

"""Sweeps on a real Dask cluster on loopback, a killed worker, and interrupt-and-resume.

The cluster is a ``dask scheduler`` and two ``dask worker`` processes started here on
127.0.0.1, as a user would start them; every process is stopped by the fixtures' finalizers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from sim.sweep.store import Store  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
BIN = Path(sys.executable).parent

FAST = f"""
name = "fast"
base = "{BASELINE}"
design = "lhs"
samples = 12
replicates = 2
seed = 3
metrics = ["clients_contacted", "clients_linked", "peers_exhausted_fraction"]

[set]
"population.size" = 300
"run.weeks" = 8
"close_peers.count" = 4
"distant_peers.count" = 4

[parameters]
"services.p_attend" = {{ range = [0.2, 0.6] }}
"distant_peers.count" = {{ range = [2, 6] }}
"""

# Runs of about 30 ms each, so a sweep lasts long enough to be interrupted part-way: the design
# varies the network, so every run builds its own world (a sweep that leaves the world alone
# shares each replicate's world among its points, and would end within a second).
SLOW = f"""
name = "slow"
base = "{BASELINE}"
design = "lhs"
samples = 40
replicates = 3
seed = 5
metrics = ["clients_contacted", "clients_linked", "peers_exhausted_fraction"]

[set]
"population.size" = 8000
"run.weeks" = 52

[parameters]
"services.p_attend" = {{ range = [0.2, 0.6] }}
"wellbeing.supervision_every_weeks" = {{ range = [1, 8] }}
"network.mean_degree" = {{ range = [8.0, 14.0] }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def sweep_cmd(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sim.cli", "sweep", str(spec), "--out", str(out), *extra]


def wait_for_chunks(folder: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = folder / "runs"
        if runs.is_dir() and len(list(runs.glob("part-*.parquet"))) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {n} chunks in {folder} after {timeout} s")


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("specs")
    (folder / "fast.toml").write_text(FAST)
    (folder / "slow.toml").write_text(SLOW)
    return folder


@pytest.fixture(scope="module")
def slow_reference(specs, tmp_path_factory):
    """The slow sweep run uninterrupted on two local processes."""
    out = tmp_path_factory.mktemp("ref") / "slow"
    done = subprocess.run(
        sweep_cmd(specs / "slow.toml", out, "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return Store.open(out).runs()


@pytest.fixture(scope="module")
def cluster(request):
    """A scheduler and two single-threaded worker processes on 127.0.0.1."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    procs: list[subprocess.Popen] = []

    def cleanup():
        for p in reversed(procs):
            stop(p)

    request.addfinalizer(cleanup)
    procs.append(
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    workers = []
    for _ in range(2):
        w = subprocess.Popen(
            [
                str(BIN / "dask"),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(w)
        workers.append(w)
    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    return {"address": address, "workers": workers}


def test_dask_cluster_gives_the_same_rows_as_local_processes(specs, cluster, tmp_path):
    local = subprocess.run(
        sweep_cmd(specs / "fast.toml", tmp_path / "local", "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert local.returncode == 0, local.stderr
    dask = subprocess.run(
        sweep_cmd(
            specs / "fast.toml",
            tmp_path / "dask",
            "--scheduler",
            cluster["address"],
            "--batch",
            "2",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dask.returncode == 0, dask.stderr
    assert "Dask scheduler" in dask.stdout
    a, b = Store.open(tmp_path / "local").runs(), Store.open(tmp_path / "dask").runs()
    assert len(a) == 24
    assert a.equals(b)


def test_interrupt_and_resume_equals_an_uninterrupted_run(specs, slow_reference, tmp_path):
    out = tmp_path / "resumed"
    cmd = sweep_cmd(specs / "slow.toml", out, "--workers", "2", "--batch", "2", "--chunk-rows", "4")
    # Ctrl-C as a user's shell delivers it: the sweep starts with SIGINT's default disposition,
    # whatever an earlier test left in this process (an ignored SIGINT is inherited).
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_chunks(out, 2, proc)
        proc.send_signal(signal.SIGINT)  # as Ctrl-C does
        _, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and "interrupted" in err and "resume" in err, err
    status = Store.open(out).status()
    assert 0 < status["runs_done"] < status["runs_total"] == 120
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming {out}: {status['runs_done']} of 120" in again.stdout
    store = Store.open(out)
    assert store.status()["duplicates"] == 0
    assert store.runs().equals(slow_reference)


def test_killing_a_dask_worker_mid_sweep_loses_and_duplicates_nothing(
    specs, cluster, slow_reference, tmp_path
):
    # Runs last: it kills one of the module's two workers.
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        sweep_cmd(
            specs / "slow.toml",
            out,
            "--scheduler",
            cluster["address"],
            "--batch",
            "2",
            "--chunk-rows",
            "4",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_chunks(out, 1, proc)
        victim = cluster["workers"][0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        at_kill = Store.open(out).status()["runs_done"]
        assert proc.poll() is None and at_kill < 120, "the sweep ended before the kill"
        stdout, err = proc.communicate(timeout=300)
    finally:
        stop(proc)
    assert proc.returncode == 0, err
    store = Store.open(out)
    status = store.status()
    assert status["runs_done"] == 120 and status["duplicates"] == 0, status
    assert status["chunks"] > 1
    assert store.runs().equals(slow_reference)

"""Running a sweep's runs: local worker processes or a Dask cluster, behind one interface.

A task is a batch of runs, and :func:`run_batch` is a pure function of the job (base scenario,
metrics) and the batch (points, their values and seeds, replicate indices): it returns plain
rows, never model objects. Any worker can run any batch, a lost worker's batches can be run
again elsewhere, and the store keeps one row per (point, replicate), so results are the same
whatever the executor, the number of workers or the failures on the way.

Executors (:class:`LocalExecutor`, :class:`DaskExecutor`) share one interface: ``submit(job,
batches)``, ``results()`` (row lists as batches finish), ``stop(grace)`` (cancel what has not
started and return what finishes within ``grace`` seconds) and ``close()``.
:func:`run_sweep` drives one: it skips the runs already stored, writes chunks as runs finish
and, on Ctrl-C, keeps everything finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DaskExecutor",
    "LocalExecutor",
    "SweepOutcome",
    "make_batches",
    "make_job",
    "one_numba_thread",
    "run_batch",
    "run_sweep",
    "shares_worlds",
]

#: Restarts of a local process pool after a worker died, before giving up.
_MAX_POOL_RESTARTS = 3

_scenario_cache: dict[str, Any] = {}
_malloc_tuned = False


def _undo_aggressive_malloc_trim() -> None:
    """Let glibc keep freed memory in a worker whose environment made it trim eagerly.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also switches off
    glibc's adaptive mmap threshold: every array above 128 KiB is then mapped and unmapped
    anew, and a model run takes about twice as long (measured by experiments/bench/sweep.py).
    Generous fixed thresholds restore the default's speed. Only on glibc, only when the
    variable is set, once per process.
    """
    global _malloc_tuned
    if _malloc_tuned or not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    _malloc_tuned = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


def shares_worlds(keys) -> bool:
    """Whether a design's points share each replicate's world: it varies no world setting."""
    from sim.model.world import WORLD_SECTIONS

    return not any(k.split(".")[0] in WORLD_SECTIONS for k in keys)


def one_numba_thread() -> None:
    """Ask for one numba thread in this process (a worker), if numba is not imported yet.

    Only then: once numba's threads run, a changed ``NUMBA_NUM_THREADS`` makes its next
    compilation fail (an in-process run).
    """
    import sys

    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def make_job(manifest: dict[str, Any]) -> dict[str, Any]:
    """What every task of a sweep shares: the base scenario, the varied keys, the metrics.

    ``world_seed`` is the sweep's root seed when the points share worlds (see
    :func:`shares_worlds`): replicate ``r`` of every point then lives in the world of
    ``(root seed, r)``, built once per worker process, and the points differ only by policy
    and their own streams. Otherwise it is None and each point's world comes from its own seed.
    """
    keys = list(manifest["design"]["keys"])
    return {
        "identity": manifest["identity"],
        "base": manifest["base_scenario"],
        "keys": keys,
        "metrics": list(manifest["metrics"]),
        "world_seed": int(manifest["seed"]) if shares_worlds(keys) else None,
    }


def run_batch(
    job: dict[str, Any], batch: Sequence[tuple[int, Sequence[Any], int, int]]
) -> list[dict[str, Any]]:
    """Run a batch of a sweep's runs and return one plain row per run.

    Args:
        job: from :func:`make_job`.
        batch: runs as ``(point, values, seed, replicate)``: the point's index, its values of
            ``job["keys"]``, its ``run.seed`` and the replicate index.

    Returns:
        Rows ``{"point", "replicate", "seed", <key>: value..., <metric>: value...}``; or, when
        the job names another ``task`` (``"module:function"``, as ``outreach calibrate`` and
        ``optimize`` do), that function's rows for the same batch.
    """
    if "task" in job:  # another command's runs on the same executors
        import importlib

        module, _, function = job["task"].partition(":")
        return getattr(importlib.import_module(module), function)(job, batch)
    # One numba thread per worker process: the workers are the parallelism (the local pool's
    # initializer sets it earlier).
    one_numba_thread()
    _undo_aggressive_malloc_trim()
    from sim.ensemble.replicates import run_replicate
    from sim.model.scenario import scenario_from_dict
    from sim.model.world import build_world

    base = _scenario_cache.get(job["identity"])
    if base is None:
        base = scenario_from_dict(job["base"], "<sweep base scenario>")
        _scenario_cache.clear()
        _scenario_cache[job["identity"]] = base
    keys, metrics = job["keys"], job["metrics"]
    world_seed = job.get("world_seed")
    rows = []
    current: tuple[int, Any, Any] = (-1, None, None)
    for point, values, seed, replicate in batch:
        if current[0] != point:  # consecutive runs of one point share its scenario
            overrides = dict(zip(keys, values, strict=True))
            overrides["run.seed"] = int(seed)
            scenario = base.replace(overrides)
            shared = None if world_seed is None else scenario.replace({"run.seed": world_seed})
            current = (point, scenario, shared)
        world = None if current[2] is None else build_world(current[2], int(replicate))
        result = run_replicate(current[1], int(replicate), world=world)
        row: dict[str, Any] = {"point": int(point), "replicate": int(replicate), "seed": int(seed)}
        row.update(zip(keys, values, strict=True))
        row.update({m: float(result.metrics[m]) for m in metrics})
        rows.append(row)
    return rows


def make_batches(
    manifest: dict[str, Any], done: set[tuple[int, int]], batch_size: int
) -> list[list[tuple[int, list[Any], int, int]]]:
    """The runs not yet done, cut into batches.

    In (point, replicate) order; when the points share worlds (:func:`shares_worlds`), in
    (replicate, point) order instead, so a batch needs few worlds and a worker builds each once.
    """
    from sim.sweep.design import point_seed

    seed = int(manifest["seed"])
    reps = int(manifest["replicates"])
    todo = []
    for point, values in enumerate(manifest["design"]["points"]):
        missing = [r for r in range(reps) if (point, r) not in done]
        if missing:
            s = point_seed(seed, point)
            todo.extend((point, list(values), s, r) for r in missing)
    if shares_worlds(manifest["design"]["keys"]):
        todo.sort(key=lambda run: (run[3], run[0]))
    return [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]


def _init_local_worker(parent: int | None = None) -> None:
    """Set up a local worker process: one numba thread; Ctrl-C is the parent's to handle.

    Args:
        parent: the sweep's main process; the worker ends when it is gone (see
            :func:`_die_with_parent`).
    """
    import signal

    os.environ["NUMBA_NUM_THREADS"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)


#: Seconds between a worker's checks that the sweep's main process is still there.
_PARENT_POLL_SECONDS = 1.0


def _die_with_parent(parent: int) -> None:
    """End this worker process as soon as the sweep's main process ``parent`` is gone.

    A main process killed outright (SIGKILL, SIGTERM, the out-of-memory killer) cannot shut
    its pool down, and its workers would otherwise stay, idle, holding their memory. On Linux
    the kernel kills the worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere
    a daemon thread also checks once a second that the parent is still this process's parent
    (an orphan is adopted by another process) and ends the worker if not.
    """
    import sys
    import threading

    def orphaned() -> bool:
        return os.getppid() != parent

    if orphaned():  # the parent died before this worker got here
        os._exit(1)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl here: the thread below still watches
            pass
        if orphaned():  # died between the check above and the request
            os._exit(1)

    def watch() -> None:
        while not orphaned():
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)  # no cleanup: the rows of an orphan have nowhere to go

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


class LocalExecutor:
    """Local worker processes (``concurrent.futures``, started with ``spawn``).

    Processes are started fresh rather than forked, as forking a process that has started
    numba's threads is fragile. If a worker dies, the pool is restarted and its unfinished
    batches are submitted again (up to three times). If the main process dies, however it is
    killed, its workers end with it.

    Args:
        workers: number of processes.
    """

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = None
        self._pending: dict[Any, list] = {}
        self._job: dict[str, Any] | None = None
        self._restarts = 0

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker,
            initargs=(os.getpid(),),
        )

    def describe(self) -> str:
        """One line naming the executor."""
        return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"

    def submit(self, job: dict[str, Any], batches: list[list]) -> None:
        """Queue every batch."""
        self._job = job
        if self._pool is None:
            self._pool = self._new_pool()
        for batch in batches:
            self._pending[self._pool.submit(run_batch, job, batch)] = batch

    def results(self) -> Iterator[list[dict[str, Any]]]:
        """Row lists, as batches finish (in any order)."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        while self._pending:
            try:
                for fut in as_completed(list(self._pending)):
                    rows = fut.result()  # raises BrokenProcessPool if a worker died
                    del self._pending[fut]
                    yield rows
            except BrokenProcessPool:
                self._restarts += 1
                if self._restarts > _MAX_POOL_RESTARTS:
                    raise
                batches = list(self._pending.values())
                self._pending.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self.submit(self._job, batches)

    def stop(self, grace: float = 10.0) -> list[list[dict[str, Any]]]:
        """Cancel the batches not started; return those that finish within ``grace`` s."""
        from concurrent.futures import wait

        for fut in self._pending:
            fut.cancel()
        running = [f for f in self._pending if not f.cancelled()]
        finished, _ = wait(running, timeout=grace)
        out = [f.result() for f in finished if f.exception() is None]
        self._pending.clear()
        return out

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """A Dask cluster: a running one (``address``) or a local one started here (``local``).

    The same tasks go to a ``dask scheduler`` / ``dask worker`` pair, to ``dask-jobqueue``
    workers on a batch system, or to a ``LocalCluster``. A worker lost mid-task has its tasks
    run again by the scheduler on another worker.

    Args:
        address: scheduler address, e.g. ``tcp://127.0.0.1:8786``.
        local: start a local cluster of this many single-threaded worker processes on
            127.0.0.1 instead.
    """

    name = "dask"

    def __init__(self, address: str | None = None, local: int | None = None):
        from distributed import Client, LocalCluster

        from sim.errors import UserInputError

        self._cluster = None
        if local is not None:
            self._cluster = LocalCluster(
                n_workers=local,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self.client = Client(self._cluster)
            self._where = f"a local Dask cluster of {local} worker processes"
        else:
            _check_reachable(address)
            try:
                self.client = Client(address, timeout=20)
            except (OSError, TimeoutError, ValueError) as err:
                raise UserInputError(
                    f"--scheduler {address}: cannot connect to a Dask "
                    f"scheduler there ({type(err).__name__}: {err})"
                ) from None
            n = len(self.client.scheduler_info().get("workers", {}))
            self._where = f"the Dask scheduler at {address} ({n} workers now)"
        self._futures: list[Any] = []
        self._yielded: set[str] = set()

    def describe(self) -> str:
        """One line naming the executor."""
        return self._where

    def submit(self, job: dict[str, Any], batches: list[list]) -> None:
        """Send every batch to the scheduler."""
        for batch in batches:
            # pure=False: a unique key per submission, so a batch sent again is run again.
            self._futures.append(self.client.submit(run_batch, job, batch, pure=False, retries=2))

    def results(self) -> Iterator[list[dict[str, Any]]]:
        """Row lists, as batches finish (in any order)."""
        from distributed import as_completed

        for fut in as_completed([f for f in self._futures if f.key not in self._yielded]):
            rows = fut.result()
            self._yielded.add(fut.key)
            yield rows
        self._futures = []

    def stop(self, grace: float = 10.0) -> list[list[dict[str, Any]]]:
        """Cancel what has not finished; return what had finished but was not yet read."""
        out = []
        for fut in self._futures:
            if fut.key in self._yielded:
                continue
            if fut.status == "finished":
                out.append(fut.result())
            else:
                fut.cancel()
        self._futures = []
        return out

    def close(self) -> None:
        """Disconnect (and stop a local cluster started here)."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail at once, not after Dask's 20 s of retries, when no one listens at a TCP address.

    Raises:
        UserInputError: the address is a ``tcp://HOST:PORT`` where nothing accepts a
            connection (refused, no route, unknown host). Other address forms are left to Dask.
    """
    import socket
    from urllib.parse import urlsplit

    from sim.errors import UserInputError

    if not address.startswith("tcp://"):
        return
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        return  # Dask says what is wrong with it
    port = port or 8786  # Dask's default port
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UserInputError(
            f"--scheduler {address}: cannot connect to a Dask scheduler there "
            f"({reason}); start one with `dask scheduler`, or check the "
            "address"
        ) from None


@dataclass
class SweepOutcome:
    """What a call of :func:`run_sweep` did.

    Attributes:
        total: runs in the sweep.
        skipped: runs already stored when it started.
        written: runs written by this call.
        chunks: chunks written by this call.
        seconds: wall time of this call's runs.
        interrupted: stopped by Ctrl-C before the end.
    """

    total: int
    skipped: int
    written: int
    chunks: int
    seconds: float
    interrupted: bool = False


def run_sweep(
    store,
    executor,
    *,
    batch_size: int | None = None,
    chunk_rows: int = 1000,
    flush_seconds: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Run every run of ``store``'s sweep that is not stored yet.

    Rows are written as a chunk whenever ``chunk_rows`` have finished or ``flush_seconds``
    have passed since the last chunk, and at the end. On Ctrl-C (KeyboardInterrupt) nothing
    more is started, batches finishing within a grace period are kept, everything finished is
    written, and the outcome says ``interrupted``.

    Args:
        store: an open, locked :class:`sim.sweep.store.Store`.
        executor: a :class:`LocalExecutor` or :class:`DaskExecutor`.
        batch_size: runs per task (default: about 16 tasks per worker, at most 32 runs each).
        chunk_rows: rows per chunk written.
        flush_seconds: longest wait before finished runs are written.
        progress: called with (runs done, total runs).

    Returns:
        What was done.
    """
    manifest = store.manifest
    total = store.total_runs
    done = store.done()
    skipped = len(done)
    todo = total - skipped
    if batch_size is None:
        workers = getattr(executor, "workers", 2)
        batch_size = max(1, min(32, -(-todo // (16 * max(1, workers)))))
    batches = make_batches(manifest, done, batch_size)
    outcome = SweepOutcome(total, skipped, 0, 0, 0.0)
    if not batches:
        return outcome
    buffer: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    start = last_flush
    seen = set(done)

    def add(rows: list[dict[str, Any]]) -> None:
        nonlocal last_flush
        for row in rows:
            pair = (row["point"], row["replicate"])
            if pair in seen:  # a batch run twice (a retried task): keep the first
                continue
            seen.add(pair)
            buffer.append(row)
            outcome.written += 1
        if len(buffer) >= chunk_rows or time.monotonic() - last_flush >= flush_seconds:
            flush()
        if progress:
            progress(skipped + outcome.written, total)

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            store.write_chunk(buffer)
            outcome.chunks += 1
            buffer.clear()
        last_flush = time.monotonic()

    try:
        executor.submit(make_job(manifest), batches)
        for rows in executor.results():
            add(rows)
    except KeyboardInterrupt:
        outcome.interrupted = True
        try:
            for rows in executor.stop():
                add(rows)
        except KeyboardInterrupt:
            pass
    finally:
        flush()
        outcome.seconds = time.monotonic() - start
    return outcome

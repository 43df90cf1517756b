"""Compiling numba's kernels made visible and shorter: a clock, a notice, and a helper process.

The kernels are compiled on their first call and cached on disk (``cache=True``), so only a
first run on an empty cache (a fresh install, a changed kernel file) compiles, and then for
about 35 seconds on two cores, most of it the nine phases of :func:`sim.model.kernel.week`.
This module

- counts the seconds each thread spends compiling (:func:`thread_compile_seconds`), so a run's
  time split shows compiling apart from building worlds and running the model;
- when enabled (:func:`enable`; the command line does), prints one line on standard error once
  compiling has gone on for :data:`NOTICE_AFTER_SECONDS`, so a first run does not wait in
  silence;
- and, enabled, compiles the model's kernels in a second process while this one compiles the
  rest. When a run's scenario is known (:func:`expect`), the helper starts at the first cache
  miss, builds a small world of that scenario with a generator that needs no kernel (a
  small-world ring, whose arrays have the types of every world) and a model on it (compiling
  the recruitment's kernels), then compiles the week's phases from the last back, while this
  process builds its world (the world builder's kernels) and then compiles from the first
  phase forward. Otherwise (``outreach reach``) the helper starts when the model's
  :func:`~sim.model.kernel.admit` misses the cache, with the phases' argument types. Each
  process finds in numba's cache what the other has written (numba writes cache files
  atomically: a temporary file, then a rename), so they meet in the middle, and nothing waits
  for the helper: if it fails, or is slow, this process compiles the kernels itself, as
  without it. The same machine code runs either way. The helper starts only when a core is
  idle (the load average says so): on busy cores it slows the first run down.

Listening costs nothing on a warm cache: numba announces a compile only on a cache miss.
``OUTREACH_COMPILE_PROCESSES=1`` turns the helper off.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

__all__ = [
    "NOTICE_AFTER_SECONDS",
    "FIRST_RUN_SECONDS",
    "enable",
    "expect",
    "install",
    "thread_compile_seconds",
    "week_signature",
]

#: Seconds of compiling after which the notice is printed (a warm cache compiles nothing).
NOTICE_AFTER_SECONDS = 0.5
#: A first run's compiling, in seconds (``experiments/bench/first_run.py``: 35 s in all on an
#: idle 2-core machine with the helper; the well-being and outreach phases compile in about
#: 8 s each, the others in 2-3 s).
FIRST_RUN_SECONDS = 35

_local = threading.local()
_lock = threading.Lock()
_state: dict[str, Any] = {
    "installed": False,
    "notice": None,
    "announced": False,
    "timer": None,
    "helper": False,
    "pid": None,
    "compiling": 0,
    "started": False,
    "scenario": None,
}


def thread_compile_seconds() -> float:
    """Seconds the calling thread has spent compiling numba functions (since :func:`install`)."""
    return getattr(_local, "seconds", 0.0)


def install() -> None:
    """Start counting compile time (idempotent; numba is imported here, not before)."""
    with _lock:
        if _state["installed"]:
            return
        from numba.core import event

        event.register("numba:compile", _make_listener())
        _state["installed"] = True


def enable(notice: Any = None, helper: bool = True) -> None:
    """Say on standard error when compiling, and compile the phases in a helper process.

    Args:
        notice: the line's printer (default: print to standard error).
        helper: start the helper process when the week's phases are to be compiled (not in
            processes forked from this one, and not with ``OUTREACH_COMPILE_PROCESSES=1``).
    """
    install()
    _state["notice"] = notice or _print_notice
    _state["helper"] = helper and os.environ.get("OUTREACH_COMPILE_PROCESSES", "2") != "1"
    _state["pid"] = os.getpid()


def expect(scenario: Any) -> None:
    """Name the scenario about to run, so a helper can compile its model from the start."""
    if _state["pid"] == os.getpid() and _state["helper"]:
        _state["scenario"] = scenario


def _print_notice() -> None:
    print(
        f"outreach: compiling the model once, about {FIRST_RUN_SECONDS} s; later runs start "
        "at once",
        file=sys.stderr,
        flush=True,
    )


def _make_listener():
    """The listener of numba's compiles (numba is imported here, when counting starts)."""
    from numba.core import event as numba_event

    class Listener(numba_event.Listener):
        """Times each thread's outermost compile; starts the notice's timer and the helper."""

        def on_start(self, event) -> None:
            depth = getattr(_local, "depth", 0)
            _local.depth = depth + 1
            if depth:
                return
            _local.started = time.perf_counter()
            with _lock:
                _state["compiling"] += 1
            if _state["pid"] != os.getpid():  # not enabled here (a forked worker, a library)
                return
            _arm_notice()
            if _state["helper"]:
                _maybe_start_helper(event)

        def on_end(self, event) -> None:
            depth = getattr(_local, "depth", 0)
            if depth == 0:  # a compile that started before the listener did
                return
            _local.depth = depth - 1
            if _local.depth:
                return
            _local.seconds = thread_compile_seconds() + time.perf_counter() - _local.started
            with _lock:
                _state["compiling"] -= 1

    return Listener()


def _arm_notice() -> None:
    """Print the notice in :data:`NOTICE_AFTER_SECONDS` if compiling is still going on then."""
    with _lock:
        if _state["announced"] or _state["notice"] is None or _state["timer"] is not None:
            return
        timer = threading.Timer(NOTICE_AFTER_SECONDS, _notice_due)
        timer.daemon = True
        _state["timer"] = timer
    timer.start()


def _notice_due() -> None:
    with _lock:
        _state["timer"] = None
        if _state["announced"] or _state["compiling"] == 0:
            return  # a short compile, over already: arm again at the next one
        _state["announced"] = True
    _state["notice"]()


def week_signature(admit_args: tuple) -> tuple:
    """The numba types of :func:`sim.model.kernel.week`'s arguments, from ``admit``'s.

    ``admit`` takes the same world, clients, peers and parameters (the model hands both the
    same structures); the week adds its number, the keys and the counters, whose types the
    model fixes in code (:mod:`sim.model.state`).
    """
    import numpy as np
    from numba import typeof, types

    from sim.model import state as E

    world, clients, peers, params = admit_args[:4]
    keys = typeof(E.make_keys(np.zeros(len(E.Keys._fields), np.uint64)))
    counters = typeof(np.zeros(E.N_COUNTERS, np.int64))
    return (types.int64, world, clients, peers, params, keys, counters)


def _maybe_start_helper(event) -> None:
    """Start the helper: at the first cache miss for an expected scenario, else at ``admit``'s."""
    scenario = _state["scenario"]
    if scenario is None:
        data = event.data or {}
        func = getattr(data.get("dispatcher"), "py_func", None)
        if func is None or func.__module__ != "sim.model.kernel" or func.__name__ != "admit":
            return
    with _lock:
        if _state["started"]:
            return
        _state["started"] = True
    if not _core_free():
        return
    try:
        if scenario is not None:
            from sim.model.scenario import scenario_to_dict

            job = pickle.dumps(("scenario", scenario_to_dict(scenario)))
        else:
            job = pickle.dumps(("types", week_signature(tuple(data["args"]))))
        # This process's import path first, so the helper compiles the same source files.
        code = (
            f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; "
            "from sim.ensemble.compiling import _helper_main; _helper_main()"
        )
        # A file, not a pipe: writing more than a pipe holds would wait for the helper's imports.
        with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as f:
            f.write(job)
        proc = subprocess.Popen(
            [sys.executable, "-c", code, f.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except Exception:  # the helper only saves time: without it this process compiles all
        return
    atexit.register(_stop_helper, proc)


def _core_free() -> bool:
    """Whether a core is idle for the helper (the load besides this process below one).

    On a machine whose cores are busy the helper's own start (imports, a small world) and
    the kernels both processes compile while they meet are extra work that slows this process
    down (measured: 37 s against 27 s for a first run at a load of four on two cores).
    """
    try:
        cores = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Linux: no way to tell, so no helper
        return False
    return load - 1.0 < cores - 1 - 0.5


def _stop_helper(proc: subprocess.Popen) -> None:
    """Stop a helper still compiling when this process ends (its cache files are whole).

    Waited for either way, so its CPU time counts as this process's children's.
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


#: The people in the helper's small world: enough for every kind of peer to be recruited.
_HELPER_WORLD_SIZE = 400


def _helper_main() -> None:
    """The helper process: compile for the scenario or the types in the file it is given."""
    path = sys.argv[1]
    try:
        with open(path, "rb") as f:
            what, job = pickle.load(f)
    finally:
        os.unlink(path)
    from sim.model import kernel as K

    if what == "scenario":
        from sim.model.outreach import OutreachModel
        from sim.model.scenario import scenario_from_dict
        from sim.model.world import build_world

        small = scenario_from_dict(job).replace(
            {
                "network.generator": "small_world",
                "population.size": _HELPER_WORLD_SIZE,
                "run.weeks": 1,
            }
        )
        OutreachModel(small, 0, build_world(small, 0))  # compiles the recruitment's kernels
        job = week_signature(tuple(K.admit.signatures[0]))
    for phase in reversed(K.PHASES.values()):  # the week's phases, from the last back
        phase.compile(job)

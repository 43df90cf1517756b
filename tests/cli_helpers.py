"""Running the ``outreach`` command from tests: in this interpreter, or in a fresh one.

:func:`outreach` calls :func:`sim.cli.main` in the test's own process, as a user's shell would
run the command but without starting an interpreter and importing (or compiling) numba again.
It gives the command what a fresh process would have (its own working folder, standard streams
and warning filters) and takes back afterwards what a command may leave behind in a process
(environment variables, numba's thread count, signal handlers, open figures, in-memory caches
such as the built worlds), so one test's command never changes the next one's.

:func:`outreach_process` runs ``python -m sim.cli`` in a fresh interpreter, for the end-to-end
tests that need a real process: signals, pipes, exit of the interpreter, the entry point itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import traceback
import types
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120

#: The warning filters of a fresh interpreter (``python -W`` unset): what a user would see.
#: One command at a time: the working folder and the standard streams belong to the process.
_ONE_AT_A_TIME = threading.Lock()

_FRESH_FILTERS = (
    ("ignore", DeprecationWarning),
    ("ignore", PendingDeprecationWarning),
    ("ignore", ImportWarning),
    ("ignore", ResourceWarning),
)


def outreach(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``outreach ARGS`` in this interpreter; returns it as a finished process would be.

    The result has the command's exit status, standard output and standard error. An uncaught
    exception becomes its traceback on standard error and status 1, as in a real process.

    Args:
        args: the command's arguments.
        cwd: the working folder of the command (the project's root by default).
    """
    argv = [str(a) for a in args]
    out, err = _stream(), _stream()
    with _ONE_AT_A_TIME, _fresh_process_state(cwd or ROOT):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = _main(argv)
            except SystemExit as stop:
                code = _exit_status(stop.code, err)
            except Exception:  # a real process prints the traceback and ends with status 1
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    return subprocess.CompletedProcess(["outreach", *argv], code, _text(out), _text(err))


def outreach_process(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m sim.cli ARGS`` in a fresh interpreter; returns the finished process."""
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd or ROOT,
        env=env,
    )


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (making its folder), and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """The single stderr line of a refused command, after checking it says each fragment."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


class OnDemand(dict):
    """A dict whose missing entries are computed on first use by ``make(key)``, then kept.

    A module's costly calls (one per parametrised case) run in the test that first asks for
    them, so each case's time is its own and ``-k`` runs only what it selects.
    """

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, key):
        self[key] = value = self._make(key)
        return value


def _main(argv: list[str]) -> int:
    from sim.cli import main  # imported late: collecting the tests stays light

    return main(argv)


def _stream() -> io.TextIOWrapper:
    # A text stream with a byte buffer beneath, like a pipe's: commands that write bytes
    # (``sys.stdout.buffer``) work too. It is not a terminal, so no progress bars are drawn.
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", errors="replace")


def _exit_status(code, err: io.TextIOWrapper) -> int:
    # What the interpreter does with ``sys.exit(code)``: None is 0, a message is printed
    # and is status 1.
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=err)
    return 1


@contextlib.contextmanager
def _fresh_process_state(cwd: Path):
    """Give a command the state of a fresh process, and restore the caller's afterwards."""
    environ = dict(os.environ)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    threads = _numba_threads()
    try:
        with contextlib.chdir(cwd), warnings.catch_warnings():
            warnings.resetwarnings()
            warnings.simplefilter("default")
            for action, category in _FRESH_FILTERS:
                warnings.filterwarnings(action, category=category)
            # Shown on the command's standard error, not recorded by pytest.
            warnings.showwarning = _show_warning
            yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
        sys.unraisablehook = hook
        if threads is not None and "numba" in sys.modules:
            sys.modules["numba"].set_num_threads(threads)
        _forget_process_state()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _numba_threads() -> int | None:
    numba = sys.modules.get("numba")
    return numba.get_num_threads() if numba is not None else None


def _forget_process_state() -> None:
    """Drop what a command kept in memory that a fresh process would not have.

    The package's in-memory caches go (``functools`` caches, and module-level objects named
    for a cache that have a ``clear()``: dicts, the cache of built worlds), so a later command
    reads its files and builds its worlds again; open figures are closed.
    """
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "sim" or name.startswith("sim.")):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, (type, types.ModuleType)):
                continue
            if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == name:
                value.cache_clear()
            elif "cache" in attr.lower() and callable(getattr(value, "clear", None)):
                value.clear()
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")

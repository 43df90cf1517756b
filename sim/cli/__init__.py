"""The ``outreach`` command line: the parser, the registry of command modules, and :func:`main`.

Each command group lives in its own module (:mod:`sim.cli.run`, :mod:`sim.cli.plan`,
:mod:`sim.cli.sweep`, :mod:`sim.cli.viz`); what they share (argparse types, the run options,
scenario arguments, the progress bar) is in :mod:`sim.cli.options`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable

from sim import __version__
from sim.errors import UserInputError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Modules that add commands, in the order of ``outreach --help``; each has
#: ``register(subparsers)``, which adds its subparsers and imports nothing heavy (numba,
#: matplotlib, dask, mesa) until its command runs.
COMMAND_MODULES: tuple[str, ...] = (
    "sim.cli.run",
    "sim.cli.plan",
    "sim.cli.params",
    "sim.cli.sweep",
    "sim.cli.fit",
    "sim.cli.viz",
    "sim.cli.survey",
    "sim.cli.reach",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``outreach`` command."""
    parser = _Parser(
        prog="outreach",
        description=(
            "Simulate peer outreach to a hidden population: how many clients peers reach, engage "
            "and link to services, and at what cost to the peers, under a policy."
        ),
        epilog="A SCENARIO is a TOML file or the name of a shipped scenario "
        "(outreach scenarios lists them).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit status.

    Ctrl-C (or SIGINT) prints one line, ``outreach: interrupted``, and returns 130. Commands stop
    their work before the interrupt reaches here (see :func:`sim.ensemble.replicates.run_ensemble`)
    and write their outputs only at the end, so an interrupted command leaves nothing behind.

    Args:
        argv: the arguments; None reads them from ``sys.argv`` as the ``outreach`` program, and
            then, once interrupted, further Ctrl-C is ignored while the process ends.
    """
    as_program = argv is None
    if as_program and not isinstance(sys.stdout, _QuietPipe) and sys.stdout is not None:
        sys.stdout = _QuietPipe(sys.stdout)
    interrupted = threading.Event()
    restore = _watch_interrupts(interrupted)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        # Long commands pass it on as their stop event (an interrupt can also be lost, below).
        args.interrupted = interrupted
        if as_program:  # a first run on an empty numba cache says so, and compiles in two
            from sim.ensemble import compiling

            compiling.enable()
        return args.func(args)
    except UserInputError as err:
        print(f"outreach: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _say_interrupted(as_program)
    except Exception:
        # An interrupt that lands inside numba's compiler (a first run, before its cache is
        # filled) can come out as an error of the compiler's own: still the user's Ctrl-C.
        if not interrupted.is_set():
            raise
        return _say_interrupted(as_program)
    finally:
        # A program that was interrupted keeps ignoring Ctrl-C and the compiler's noise
        # until it has ended; a caller in this process gets its own handlers back.
        if restore is not None and not (as_program and interrupted.is_set()):
            restore()


class _QuietPipe:
    """Standard output that goes on quietly once its reader has gone.

    After ``outreach run X | head -1`` has read its line, the rest of the output is discarded,
    with no BrokenPipeError traceback, and the command still finishes its work (a ``--json``
    file, a sweep's runs).

    Args:
        stream: the real standard output.
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:  # noqa: D102
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def flush(self) -> None:  # noqa: D102
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        # Point the file descriptor at the null device: what is still buffered, and every
        # later write (the interpreter's last flush included), then goes nowhere.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no descriptor: nothing more to do
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _watch_interrupts(interrupted: threading.Event) -> Callable[[], None] | None:
    """Note every Ctrl-C in ``interrupted`` before raising KeyboardInterrupt as usual.

    The note matters where the KeyboardInterrupt itself is lost: numba's compiler calls
    Python from C, and an exception raised there is reported as "Exception ignored" and
    dropped. Once interrupted, such reports are not shown.

    Returns:
        A function that puts back the previous handlers, or None when they stay: outside the
        main thread (only it may set signal handlers), or when Ctrl-C is not Python's usual
        KeyboardInterrupt (ignored, as in a shell's background job, or a caller's own handler).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None

    def on_interrupt(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    def on_unraisable(report) -> None:
        if not interrupted.is_set():
            previous_hook(report)

    previous_handler = signal.signal(signal.SIGINT, on_interrupt)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = on_unraisable

    def restore() -> None:
        signal.signal(signal.SIGINT, previous_handler)
        sys.unraisablehook = previous_hook

    return restore


def _say_interrupted(as_program: bool) -> int:
    if as_program and threading.current_thread() is threading.main_thread():
        # The process is ending: a further Ctrl-C during the interpreter's shutdown would only
        # print a traceback after the one line.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _close_progress_bars()
    print("outreach: interrupted", file=sys.stderr)
    return 130


def _close_progress_bars() -> None:
    """Close an interrupted progress bar, so the message has a line of its own.

    Left open, the bar would be redrawn when it is collected, after the message.
    """
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        for bar in list(getattr(tqdm.tqdm, "_instances", ())):
            bar.close()


if __name__ == "__main__":
    sys.exit(main())

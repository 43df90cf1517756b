"""The ``outreach`` command line: the parser, the registry of command modules, and :func:`main`.

Each command group lives in its own module (:mod:`sim.cli.run`, :mod:`sim.cli.plan`,
:mod:`sim.cli.sweep`, :mod:`sim.cli.viz`); what they share (argparse types, the run options,
scenario arguments, the progress bar) is in :mod:`sim.cli.options`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sim import __version__
from sim.errors import UserInputError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Modules that add commands, in the order of ``outreach --help``; each has
#: ``register(subparsers)``, which adds its subparsers and imports nothing heavy (numba,
#: matplotlib, dask, mesa) until its command runs.
COMMAND_MODULES: tuple[str, ...] = (
    "sim.cli.run",
    "sim.cli.plan",
    "sim.cli.sweep",
    "sim.cli.viz",
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
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except UserInputError as err:
        print(f"outreach: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("outreach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

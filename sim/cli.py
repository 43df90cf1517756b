"""The ``outreach`` command line."""

from __future__ import annotations

import argparse
import sys

from sim import __version__
from sim.errors import UserInputError

__all__ = ["main"]


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
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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

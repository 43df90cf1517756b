"""``outreach params [SECTION]``: every scenario key with its default, allowed values and meaning.

The list is read from the scenario's declaration (:mod:`sim.model.scenario`: each ``param(...)``
stores its range, choices and description), so it cannot drift from what ``validate`` checks.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from sim.errors import UserInputError

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``outreach params`` to the CLI."""
    p = subparsers.add_parser(
        "params",
        help="list every scenario key: default, allowed values, meaning",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List every key a scenario file (or --set, or a sweep's parameters) can "
        "set, by dotted key, with its default, the values allowed and what it "
        "means. Items of a list of tables are addressed by index: "
        "population.localities.0.stigma is the first locality's stigma.",
        epilog="examples:\n  outreach params\n  outreach params wellbeing\n"
        "  outreach params population.localities",
    )
    p.add_argument(
        "section",
        nargs="?",
        metavar="SECTION",
        help="only the keys of this section or under this dotted key (e.g. "
        "network, close_peers, population.localities)",
    )
    p.set_defaults(func=_cmd_params)


def _cmd_params(args: argparse.Namespace) -> int:
    from sim.model.scenario import describe_parameters

    rows = describe_parameters()
    if args.section:
        prefix = args.section.strip().strip(".")
        chosen = [r for r in rows if r[0] == prefix or r[0].startswith(prefix + ".")]
        if not chosen:
            import difflib

            sections = sorted({r[0].split(".")[0] for r in rows})
            keys = sorted({r[0].rsplit(".", 1)[0] for r in rows} | set(sections))
            near = difflib.get_close_matches(prefix, keys, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise UserInputError(
                f"params {args.section}: no such section or key ({hint}"
                f"sections: {', '.join(sections)})"
            )
        rows = chosen
    width = max(len(r[0]) for r in rows)
    columns = shutil.get_terminal_size((100, 24)).columns
    for key, default, allowed, doc in rows:
        # Key and default on one line, what is allowed and the meaning indented below it, so
        # long lists of defaults never push the descriptions off the screen.
        print(f"{key:<{width}}  = {default}")
        detail = "; ".join(t for t in (allowed, doc) if t)
        if detail:
            indent = " " * 4
            print(_wrap(detail, indent, max(40, columns)))
    if not args.section:
        print(
            "\nset a key in a scenario file ([section] then key = value), with --set "
            "KEY=VALUE, or vary it in a sweep spec's [parameters]",
            file=sys.stdout,
        )
    return 0


def _wrap(text: str, indent: str, width: int) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)

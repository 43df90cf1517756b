"""``outreach params [SECTION]``: every scenario key with its default, allowed values and meaning.

The list is read from the scenario's declaration (:mod:`sim.model.scenario`: each ``param(...)``
stores its range, choices and description), so it cannot drift from what ``validate`` checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import typing
from collections.abc import Mapping
from typing import Any

from sim.errors import UserInputError

__all__ = ["parameter_rows", "register"]


def register(subparsers) -> None:
    """Add ``outreach params`` to the CLI."""
    p = subparsers.add_parser(
        "params", help="list every scenario key: default, allowed values, meaning",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List every key a scenario file (or --set, or a sweep's parameters) can "
                    "set, by dotted key, with its default, the values allowed and what it "
                    "means. Items of a list of tables are addressed by index: "
                    "population.localities.0.stigma is the first locality's stigma.",
        epilog="examples:\n  outreach params\n  outreach params wellbeing\n"
               "  outreach params population.localities")
    p.add_argument("section", nargs="?", metavar="SECTION",
                   help="only the keys of this section or under this dotted key (e.g. "
                        "network, close_peers, population.localities)")
    p.set_defaults(func=_cmd_params)


def parameter_rows() -> list[tuple[str, str, str, str]]:
    """Every scenario key as ``(dotted key, default, allowed, description)``.

    A list of tables (the localities) is listed as a whole and then by its items' keys, with
    ``N`` for the index; a table of subgroups by each subgroup's keys.
    """
    from sim.model.scenario import Scenario

    rows: list[tuple[str, str, str, str]] = []

    def walk(obj: Any, prefix: str) -> None:
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            if f.metadata.get("internal"):
                continue
            key, value, kind = prefix + f.name, getattr(obj, f.name), hints[f.name]
            if f.metadata.get("section"):
                walk(value, key + ".")
            elif isinstance(value, Mapping):  # subgroups: a table of tables
                for name, sub in value.items():
                    walk(sub, f"{key}.{name}.")
            elif _is_table_list(kind):
                rows.append((key, _literal(value), "a list of tables",
                             f.metadata.get("doc", "")))
                walk(typing.get_args(kind)[0](), f"{key}.N.")
            else:
                rows.append((key, _literal(value), _allowed(kind, f.metadata),
                             f.metadata.get("doc", "")))

    walk(Scenario(), "")
    return rows


def _is_table_list(kind: Any) -> bool:
    args = typing.get_args(kind)
    return typing.get_origin(kind) is tuple and bool(args) and dataclasses.is_dataclass(args[0])


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _allowed(kind: Any, meta: Mapping[str, Any]) -> str:
    """What a key allows, in the words of validation's messages."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if item is str:
            return "a list of text"
        return f"a list, each {_allowed(item, meta)}"
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    if kind is bool:
        return "true or false"
    if kind is str:
        return "text"
    noun = "an integer" if meta.get("integer") or kind is int else "a number"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"{noun} in {'(' if meta.get('lo_open') else '['}{_number(lo)}, {_number(hi)}]"
    if lo is not None:
        return f"{noun} of at least {_number(lo)}"
    return noun


def _literal(value: Any) -> str:
    """A default as it would be written in a scenario file (TOML)."""
    if dataclasses.is_dataclass(value):
        return "{" + ", ".join(f"{f.name} = {_literal(getattr(value, f.name))}"
                               for f in dataclasses.fields(value)) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return _number(value) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return str(value)


def _cmd_params(args: argparse.Namespace) -> int:
    rows = parameter_rows()
    if args.section:
        prefix = args.section.strip().strip(".")
        chosen = [r for r in rows if r[0] == prefix or r[0].startswith(prefix + ".")]
        if not chosen:
            import difflib

            sections = sorted({r[0].split(".")[0] for r in rows})
            keys = sorted({r[0].rsplit(".", 1)[0] for r in rows} | set(sections))
            near = difflib.get_close_matches(prefix, keys, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise UserInputError(f"params {args.section}: no such section or key ({hint}"
                                 f"sections: {', '.join(sections)})")
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
        print("\nset a key in a scenario file ([section] then key = value), with --set "
              "KEY=VALUE, or vary it in a sweep spec's [parameters]", file=sys.stdout)
    return 0


def _wrap(text: str, indent: str, width: int) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)

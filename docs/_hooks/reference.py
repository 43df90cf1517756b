"""Reference pages generated at build time: the scenario parameters and the ``outreach`` command.

MkDocs calls :func:`on_page_markdown` for every page (``hooks:`` in ``mkdocs.yml``). A page
asks for generated text with a marker on a line of its own:

- ``<!-- outreach:params SECTION -->``: a table of every key under SECTION (all keys with
  ``*``), read from the scenario's declarations through :func:`sim.model.scenario.
  describe_parameters`, the code path of ``outreach params``;
- ``<!-- outreach:metrics -->``: a table of every outcome measure of a run, from
  :data:`sim.model.metrics.METRICS` (name, title, unit, meaning);
- ``<!-- outreach:cli -->``: the help of every command and subcommand, from the parser of
  :func:`sim.cli.build_parser`.

:func:`on_page_content` turns the Sphinx roles that the package's docstrings use
(``:func:`name```) into plain code spans on the API pages.

Nothing here is copied from the package: a parameter or an option added to the code appears on
the site at the next build.
"""

from __future__ import annotations

import argparse
import html
import re

MARKER = re.compile(r"^<!-- outreach:(params|cli|metrics)(?: +([\w.*]+))? -->$", re.MULTILINE)

#: Names and phrases in a parameter's description that say where its value comes from.
_SOURCE = re.compile(
    r"[A-Z][A-Za-z\-]+(?: (?:et al\.|& [A-Z][A-Za-z\-]+))?,? (?:19|20)\d\d"
    r"|MIPA|Osis|Street Clinic|Delhi|Masese|[Aa]ssumption|[Ff]itted|[Cc]alibrated"
)


def parameter_rows(section: str = "*") -> list[tuple[str, str, str, str]]:
    """The rows of ``outreach params [SECTION]``: (dotted key, default, allowed, meaning).

    Args:
        section: a section or dotted key (``wellbeing``, ``population.localities``); ``*``
            for every key.
    """
    from sim.model.scenario import describe_parameters

    rows = describe_parameters()
    if section in ("*", ""):
        return rows
    prefix = section.strip(".")
    return [r for r in rows if r[0] == prefix or r[0].startswith(prefix + ".")]


def unit_of(key: str) -> str:
    """The unit a key's name states (units are in the names: ``..._per_week``, ``weeks``)."""
    name = key.rsplit(".", 1)[-1]
    if name.endswith("weeks") or name == "weeks":
        return "weeks"
    parts = []
    if name.startswith("p_"):
        parts.append("probability")
    elif name.endswith("share") or name.endswith("shares"):
        parts.append("share")
    elif name.startswith("hours_") or "_hours_" in name:
        parts.append("hours")
    elif key.startswith("costs.") or name.startswith("pay_") or name.startswith("fair_wage"):
        parts.append("currency")
    elif name.endswith("_cost") or name.startswith("demand_"):
        parts.append("energy")
    found = re.search(r"_per_(\w+)$", name)
    if found:
        parts.append("per " + found.group(1).replace("_", " "))
    return " ".join(parts) or "-"


def source_of(doc: str) -> str:
    """The sources and stated assumptions a parameter's description names, or ``-``."""
    seen: list[str] = []
    for match in _SOURCE.findall(doc):
        label = (
            match[0].lower() + match[1:]
            if match.lower() in ("assumption", "fitted", "calibrated")
            else match
        )
        if label not in seen:
            seen.append(label)
    return "; ".join(seen) or "-"


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _breakable(key: str) -> str:
    """A dotted key that a narrow table column may break after its dots only."""
    return ".<wbr>".join(html.escape(part) for part in key.split("."))


def parameter_table(section: str = "*") -> str:
    """A Markdown table of the keys under ``section``: default, allowed range, unit, source."""
    rows = parameter_rows(section)
    if not rows:
        raise ValueError(f"outreach:params {section}: no such section or key")
    lines = [
        "| key | default | allowed | unit | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for key, default, allowed, doc in rows:
        default = default if len(default) <= 60 else default[:57] + "..."
        lines.append(
            f"| <code>{_breakable(key)}</code> | `{_cell(default)}` | {_cell(allowed)} | "
            f"{unit_of(key)} | "
            f"{_cell(doc)} | {_cell(source_of(doc))} |"
        )
    return "\n".join(lines)


def metrics_table() -> str:
    """A Markdown table of every outcome measure: name, title, unit and how it is computed."""
    from sim.model.metrics import KEY_METRICS, METRICS

    lines = ["| metric | title | unit | meaning |", "|---|---|---|---|"]
    for name, metric in METRICS.items():
        shown = f"**`{name}`**" if name in KEY_METRICS else f"`{name}`"
        lines.append(
            f"| {shown} | {_cell(metric.long_title)} | {_cell(metric.unit)} | "
            f"{_cell(metric.meaning)} |"
        )
    return "\n".join(lines)


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def cli_reference() -> str:
    """The help of ``outreach`` and of each command and subcommand, as Markdown."""
    import os

    from sim.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; the page is not one
    parser = build_parser()
    parts = ["## outreach", "", "```text", parser.format_help().rstrip(), "```", ""]

    def walk(p: argparse.ArgumentParser, prog: str, depth: int) -> None:
        for name, sub in _subcommands(p):
            title = f"{prog} {name}"
            parts.extend(
                [f"{'#' * depth} {title}", "", "```text", sub.format_help().rstrip(), "```", ""]
            )
            walk(sub, title, min(depth + 1, 4))

    walk(parser, "outreach", 2)
    return "\n".join(parts)


def expand(markdown: str) -> str:
    """Replace every marker of a page with its generated text."""

    def one(match: re.Match) -> str:
        if match.group(1) == "params":
            return parameter_table(match.group(2) or "*")
        if match.group(1) == "metrics":
            return metrics_table()
        return cli_reference()

    return MARKER.sub(one, markdown)


def on_config(config):  # noqa: D103
    # Document the checkout being built, whatever the installed copy of the package is: here
    # and in the kernel that runs the tutorial notebook.
    import os
    import sys

    root = os.path.dirname(os.path.abspath(config.config_file_path))
    if root not in sys.path:
        sys.path.insert(0, root)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: D103
    return expand(markdown)


_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|data|attr|exc|obj):(?=<code>|`)")


def on_page_content(html_text: str, page, config, files) -> str:  # noqa: D103
    return _ROLE.sub("", html_text)

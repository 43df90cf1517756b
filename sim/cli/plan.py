"""Planner commands: ``compare``, ``report``, ``validate``, ``scenarios`` and ``new``.

:func:`register` only adds argument parsers; numpy, numba and matplotlib are imported inside
the commands, so ``outreach --help`` and ``outreach validate`` start quickly.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path

from sim.cli.options import (
    add_run_options,
    progress_bar,
    scenario_path,
    scenarios_folder,
    shipped_scenarios,
)
from sim.errors import UserInputError

__all__ = ["file_problems", "load_scenario_text", "register"]

_EPILOG_COMPARE = """\
how to read it:
  Every scenario runs replicates 0..N-1 on the same random streams (common random numbers),
  so replicate r of each sees the same luck and differences come from the settings. For each
  metric the table gives each scenario's mean and 95% interval, and the difference to the
  first scenario, replicate by replicate, with its own 95% interval: "yes" when that interval
  excludes 0 (a real difference in the model), "no" when these runs cannot tell them apart.

examples:
  outreach compare close_peers_only distant_peers_only mixed_team --plot team.png
  outreach compare supervision_monthly supervision_weekly \\
      --replicates 100 --json supervision.json --csv supervision.csv
  outreach compare baseline my_programme.toml
"""


def register(subparsers) -> None:
    """Add the planner commands to the ``outreach`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter

    p = subparsers.add_parser(
        "compare",
        help="compare scenarios on common random numbers",
        formatter_class=fmt,
        epilog=_EPILOG_COMPARE,
        description="Run every scenario on the same random streams and print each metric per "
        "scenario with its 95% interval, and the paired difference of each "
        "scenario to the first with its 95% interval and whether it is "
        "distinguishable from zero.",
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="two or more scenario files (TOML) or shipped scenarios' names; the "
        "first is the reference",
    )
    add_run_options(p, scenarios=2)
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="draw reach over time (95%% bands) and the key metrics side by side "
        "to FILE (.png, .svg or .pdf)",
    )
    p.add_argument("--json", metavar="PATH", help="write every number as JSON to PATH")
    p.add_argument(
        "--csv",
        metavar="PATH",
        help="write one row per scenario and metric (mean, interval, difference) as CSV to PATH",
    )
    p.set_defaults(func=_cmd_compare)

    p = subparsers.add_parser(
        "report",
        help="write an HTML or Markdown report of scenarios to send on",
        formatter_class=fmt,
        description="Run scenarios on common random numbers and write a report a planner can "
        "send on: the question, the settings that differ, tables with 95% "
        "intervals, plots and the model's assumptions in plain words. HTML is one "
        "self-contained file (report.html); Markdown is report.md with PNG images. "
        "results.csv holds the numbers.",
        epilog="example:\n  outreach report small_town_stigma small_town_online "
        "--out online_report",
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="one or more scenario files (TOML) or shipped scenarios' names; the "
        "first is the reference",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder to write the report into (made if missing; its parent must "
        "exist); a report already there is kept unless --force is given",
    )
    p.add_argument("--force", action="store_true", help="replace a report already in DIR")
    p.add_argument(
        "--format",
        choices=("html", "markdown"),
        default="html",
        help="html (one self-contained file, default) or markdown (with PNG files)",
    )
    p.add_argument(
        "--question",
        metavar="TEXT",
        help="the question the report answers (default: which programme reaches "
        "more people, and at what cost to the peers)",
    )
    add_run_options(p, scenarios=2)
    p.set_defaults(func=_cmd_report)

    p = subparsers.add_parser(
        "validate",
        help="check scenario files and list every problem",
        description="Check scenario files and print every problem of every file, each with "
        "the dotted key, the bad value and what is allowed. Exit status 0 when "
        "every file is valid, 2 otherwise.",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="SCENARIO",
        help="scenario files (TOML) or shipped scenarios' names",
    )
    p.set_defaults(func=_cmd_validate)

    p = subparsers.add_parser(
        "scenarios",
        help="list the shipped scenario library",
        description="List the scenarios installed with the package, each with a one-line "
        "description and its file. Every command that takes a scenario takes "
        "one of these names too (outreach run baseline); copy one to edit with "
        "`outreach new NAME --from SCENARIO`.",
    )
    p.set_defaults(func=_cmd_scenarios)

    p = subparsers.add_parser(
        "new",
        help="write a commented scenario file to edit",
        description="Write NAME.toml (or the path given), a commented copy of the baseline "
        "scenario (or of --from) with its name set, ready to edit. An existing "
        "file is not overwritten unless --force is given.",
    )
    p.add_argument("name", metavar="NAME", help="scenario name, or a path ending in .toml")
    p.add_argument(
        "--from",
        dest="template",
        metavar="SCENARIO",
        default="baseline",
        help="a shipped scenario's name or any scenario file to copy (default: baseline)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_cmd_new)


# --------------------------------------------------------------------------- compare, report


def _prepare(args: argparse.Namespace, at_least: int):
    """Load and align the scenarios of a compare or report command."""
    from sim.cli.options import load_with_sets, option_overrides
    from sim.ensemble.compare import align_run_settings
    from sim.model.scenario import ScenarioError

    if len(args.scenarios) < at_least:
        raise UserInputError(
            f"{args.command}: give at least {at_least} scenario files (the first is the reference)"
        )
    overrides = option_overrides(args)
    scenarios = []
    for arg in args.scenarios:
        try:
            scenarios.append(load_with_sets(scenario_path(arg), overrides, args.overrides))
        except ScenarioError as err:
            if len(err.problems) == 1:
                raise
            raise UserInputError(f"{err}; `outreach validate {arg}` lists them all") from None
    aligned, notes = align_run_settings(
        scenarios, seed=args.seed, replicates=args.replicates, weeks=args.weeks
    )
    from sim.cli.resources import warn_before_runs

    warn_before_runs(aligned, args.workers)
    seed_from = "--seed" if args.seed is not None else "the first scenario's run.seed, used for all"
    return aligned, notes, seed_from


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.output.atomic import check_writable

    scenarios, notes, seed_from = _prepare(args, 2)
    if args.plot:
        from sim.output.plots import PLOT_SUFFIXES

        if Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
            raise UserInputError(f"--plot {args.plot}: must end in " + ", ".join(PLOT_SUFFIXES))
    outputs = [
        (opt, path)
        for opt, path in (("--json", args.json), ("--csv", args.csv), ("--plot", args.plot))
        if path
    ]
    for opt, path in outputs:  # before minutes of work, not after
        check_writable(path, opt)
    if len({Path(p).resolve() for _, p in outputs}) < len(outputs):
        raise UserInputError("--json, --csv and --plot must be different files")

    from sim.ensemble.compare import run_comparison
    from sim.output.atomic import write_text_atomic
    from sim.output.comparison import (
        comparison_csv,
        comparison_document,
        comparison_header,
        comparison_table,
        groups_comparison_table,
        years_comparison_table,
    )
    from sim.output.tables import WEEKS_PER_YEAR, dump_json

    comparison = run_comparison(
        scenarios,
        workers=args.workers,
        notes=notes,
        progress=progress_bar("compare"),
        stop=getattr(args, "interrupted", None),
    )
    print(comparison_header(comparison, seed_from))
    print()
    print(comparison_table(comparison))
    if comparison.run.weeks > WEEKS_PER_YEAR:  # a single year is the table above
        from sim.output.comparison import YEARS_MARK

        print("\nYear by year (each measure's mean over replicates, its 95% interval below):")
        print(years_comparison_table(comparison))
        print(YEARS_MARK)
    print("\nWho is reached (share of each client type, means over replicates):")
    print(groups_comparison_table(comparison))
    # Draw the plot before writing anything, so a plotting failure leaves no partial outputs.
    figure = None
    if args.plot:
        from sim.output.plots import comparison_figure

        figure = comparison_figure(comparison)
    if args.json:
        write_text_atomic(
            args.json, dump_json(comparison_document(comparison, seed_from)), "--json"
        )
        print(f"numbers written to {args.json}")
    if args.csv:
        write_text_atomic(args.csv, comparison_csv(comparison), "--csv")
        print(f"table written to {args.csv}")
    if figure is not None:
        from sim.output.plots import save_figure

        save_figure(figure, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.output.reports import (
        DEFAULT_QUESTION,
        check_out_dir,
        existing_report,
        write_report,
    )

    scenarios, notes, seed_from = _prepare(args, 1)
    check_out_dir(args.out)
    found = existing_report(args.out)
    if found and not args.force:  # before minutes of work, and never over a report silently
        raise UserInputError(
            f"--out {args.out}: already holds a report ({', '.join(found)}); "
            "give --force to replace it, or another folder"
        )
    from sim.ensemble.compare import run_comparison
    from sim.output.comparison import comparison_header

    comparison = run_comparison(
        scenarios,
        workers=args.workers,
        notes=notes,
        progress=progress_bar("report"),
        stop=getattr(args, "interrupted", None),
    )
    print(comparison_header(comparison, seed_from))
    command = "outreach " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    files = write_report(
        comparison, args.out, args.format, args.question or DEFAULT_QUESTION, command
    )
    print(f"report written to {args.out}: " + ", ".join(f.name for f in files))
    return 0


# --------------------------------------------------------------------------- validate


def file_problems(path: str) -> list[str]:
    """Every problem of one scenario file, each one line; empty when the file is valid."""
    from sim.model.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(path)
    except ScenarioError as err:
        return list(err.problems)
    except UserInputError as err:
        return [str(err)]
    from sim.model.world import world_problems

    net = scenario.network
    problems = []
    if net.generator == "file":  # checked here, not only when a run builds the graph
        for key in ("file", "nodes_file"):
            name = getattr(net, key)
            if name and not Path(name).is_file():
                problems.append(f"{path}: network.{key} = {name!r}: no such file")
    # What a run would refuse when it builds the world: the graph files read by the loader
    # runs use, generator settings against population.size, peers against a file's graph.
    return problems or world_problems(scenario)


def _cmd_validate(args: argparse.Namespace) -> int:
    bad = 0
    for arg in args.files:
        try:
            problems = file_problems(str(scenario_path(arg)))
        except UserInputError as err:  # neither a file nor a shipped name: one more problem
            problems = [str(err)]
        if problems:
            bad += 1
            for p in problems:
                print(p, file=sys.stderr)
        else:
            print(f"{arg}: ok")
    if bad:
        print(f"outreach: {bad} of {len(args.files)} files have problems", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------- library, new


def _cmd_scenarios(args: argparse.Namespace) -> int:
    rows = shipped_scenarios()
    print(f"{len(rows)} shipped scenarios, in {scenarios_folder()}:")
    width = max((len(p.stem) for p, _, _ in rows), default=0)
    for path, _, description in rows:
        print(f"  {path.stem:<{width}}  {description}")
        # The full path on a line of its own, to copy or open in an editor.
        print(f"  {'':<{width}}  {path}")
    print(
        "give a name wherever a scenario file goes: outreach run baseline; "
        "outreach compare baseline mixed_team"
    )
    print("copy one to edit: outreach new NAME --from baseline")
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    from sim.model.scenario import ScenarioError
    from sim.output.atomic import check_writable, write_text_atomic

    target = _new_target(args.name)
    name = target.stem
    if target.exists() and not args.force:
        raise UserInputError(f"new: {target} already exists (give --force to overwrite it)")
    check_writable(target, "new")
    template = scenario_path(args.template, "--from")
    if template.is_dir():
        raise UserInputError(f"--from {args.template}: is a folder, not a scenario file")
    try:
        text = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserInputError(f"--from {args.template}: cannot be read: {err}") from None
    # A shipped scenario is named as the user can give it again, from any folder.
    source = template.stem if template.resolve().parent == scenarios_folder() else _shown(template)
    header = (
        f"# {name}: made with `outreach new` from {template.name}; edit the values below.\n"
        "# Check it with `outreach validate FILE` and compare it with the scenario it "
        "came from:\n"
        f"# outreach compare {source} {target}\n#\n"
    )
    text, count = re.subn(r"(?m)^name\s*=.*$", f"name = {_toml_str(name)}", text, count=1)
    if not count:  # a template without a name line
        text = f"name = {_toml_str(name)}\n" + text
    text = _move_relative_paths(text, template, target)
    try:
        load_scenario_text(text, str(target))
    except ScenarioError as err:
        raise UserInputError(f"new: the copy of {template} does not validate: {err}") from None
    write_text_atomic(target, header + text, "new")
    print(f"wrote {target}: edit it, then run `outreach validate {target}`")
    return 0


def _new_target(arg: str) -> Path:
    """The file ``outreach new NAME`` writes: ``NAME.toml`` (in a folder if NAME has one).

    Raises:
        UserInputError: an empty name, a name of dots only or starting with a dot (a hidden
            file, as ``new ""`` or ``new dir/`` would write), or characters other than letters,
            digits, '_', '-' and '.'.
    """
    target = Path(arg if arg.endswith(".toml") else f"{arg}.toml")
    name = target.stem  # "" -> ".toml", "dir/" -> "dir/.toml": a hidden file, refused below
    if not name or name.startswith(".") or not re.fullmatch(r"[\w.-]+", name):
        raise UserInputError(
            f"new {arg!r}: a name uses letters, digits, '_', '-' or '.' and "
            "does not start with '.' (e.g. my_programme, or a path such as "
            "scenarios/my_programme.toml)"
        )
    return target


def _move_relative_paths(text: str, template: Path, target: Path) -> str:
    """The template's text with relative graph-file paths rewritten for the new file's folder.

    A scenario file's ``network.file`` and ``network.nodes_file`` are taken from the file's
    folder; a copy written elsewhere must name the same files, so a relative path becomes the
    path from the new file's folder (absolute where there is none, e.g. another drive).

    Raises:
        UserInputError: the paths cannot be rewritten in the text (an unusual layout, such as an
            inline table); the message says which value to write.
    """
    try:
        network = tomllib.loads(text).get("network", {})
    except tomllib.TOMLDecodeError:
        return text  # the validation that follows reports it
    if not isinstance(network, dict):
        return text
    src_dir = template.resolve().parent
    dst_dir = target.resolve().parent
    for key in ("file", "nodes_file"):
        value = network.get(key)
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            continue
        full = src_dir / value
        try:
            moved = os.path.relpath(full, dst_dir)
        except ValueError:  # no relative path between them (Windows drives)
            moved = str(full)
        if Path(moved) == Path(value):
            continue
        moved = moved.replace(os.sep, "/")
        pattern = rf'(?m)^(\s*(?:network\.)?{key}\s*=\s*)(["\'])' + re.escape(value) + r"\2"
        new, count = re.subn(pattern, lambda m, s=moved: m.group(1) + _toml_str(s), text, count=1)
        if count != 1 or tomllib.loads(new).get("network", {}).get(key) != moved:
            raise UserInputError(
                f"new: {template} names network.{key} = {value!r}, relative "
                f"to its folder; the copy cannot rewrite it: write "
                f"network.{key} = {_toml_str(str(full))} in the copy yourself"
            )
        text = new
    return text


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_scenario_text(text: str, source: str):
    """Validate scenario TOML text without a file.

    Raises:
        UserInputError: invalid TOML or any invalid key or value.
    """
    from sim.model.scenario import scenario_from_dict

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserInputError(f"{source}: not valid TOML: {err}") from None
    return scenario_from_dict(data, source)

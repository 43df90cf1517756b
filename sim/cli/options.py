"""What the commands share: argparse types, the run options, scenario arguments, the progress bar.

A scenario argument is a file or the name of a shipped scenario (``baseline``, ``big_city``):
:func:`scenario_path` decides which, by one rule, for every command that takes one. A sweep
spec, a targets file or a search file is likewise a file or the name of a shipped example
(``sensitivity``, ``burnout``, ``budget``): :func:`example_path`.

Nothing here imports numpy, numba or tqdm at import time, so building the parser stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import UserInputError

__all__ = [
    "PATH_KEYS",
    "add_run_options",
    "int_in",
    "load_scenario_args",
    "load_with_sets",
    "option_overrides",
    "parse_sets",
    "blame_set",
    "example_path",
    "examples_folder",
    "positive_int",
    "progress_bar",
    "run_setting_int",
    "scenario_path",
    "scenarios_folder",
    "seed_int",
    "shipped_scenarios",
]


# --------------------------------------------------------------------------- argparse types


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[lo, hi]`` (no upper bound if ``hi`` is None)."""
    allowed = f"must be {lo} or more" if hi is None else f"must be in [{lo}, {hi}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{text!r} {allowed}")
        return value

    return parse


positive_int = int_in(1)
#: A root seed: what :class:`numpy.random.SeedSequence` accepts and a TOML integer can hold.
seed_int = int_in(0, 2**63 - 1)


def run_setting_int(name: str) -> Callable[[str], int]:
    """An argparse type: a whole number in the range ``run.<name>`` declares in a scenario.

    The range is read from the declaration when the option is parsed, so an option and
    ``--set run.<name>=...`` allow the same values (and the parser's construction imports
    nothing).
    """

    def parse(text: str) -> int:
        import dataclasses

        from sim.model.scenario import RunSettings

        meta = {f.name: f.metadata for f in dataclasses.fields(RunSettings)}[name]
        return int_in(int(meta["lo"]), int(meta["hi"]))(text)

    return parse


def add_run_options(p: argparse.ArgumentParser, *, scenarios: int = 1) -> None:
    """Add the options every simulating command shares: replicates, seed, weeks, --set, workers.

    Args:
        p: the command's parser.
        scenarios: 1 for a command that runs one scenario; more for a command that runs
            several on common random numbers (``compare``, ``report``), whose help then says
            that a value applies to every scenario and defaults come from the first.
    """
    if scenarios == 1:
        default = "the scenario's"
        each, overrides = "", "override a scenario value by dotted key, e.g. close_peers.count=12"
    else:
        default = "the first scenario's"
        each = " of every scenario"
        overrides = (
            "override a value in every scenario by dotted key, e.g. services.professionals=4"
        )
    overrides += "; a relative network.file or network.nodes_file is taken from the current folder"
    p.add_argument(
        "--replicates",
        type=positive_int,
        metavar="N",
        help=f"replicates{each or ' to run'} (default: {default} run.replicates)",
    )
    p.add_argument(
        "--seed",
        type=seed_int,
        metavar="S",
        help=(
            "root seed"
            + (" shared by every scenario" if each else "")
            + f" (default: {default} run.seed)"
        ),
    )
    p.add_argument(
        "--weeks",
        type=run_setting_int("weeks"),
        metavar="W",
        help=f"weeks measured{' in every scenario' if each else ''}; beyond 52 the results "
        f"are also given year by year (default: {default} run.weeks)",
    )
    p.add_argument(
        "--history-weeks",
        type=run_setting_int("history_weeks"),
        metavar="H",
        help="weeks the programme ran before the measured weeks"
        + (" (in every scenario)" if each else "")
        + "; its clients, peers and trust carry over, its own results are not reported "
        "(default: "
        + ("each scenario's" if each else "the scenario's")
        + " run.history_weeks; as --set run.history_weeks=H)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help=f"{overrides} (repeatable)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="parallel workers (default: all cores); results do not depend on it",
    )


# --------------------------------------------------------------------------- scenario library


def scenarios_folder() -> Path:
    """The shipped scenario library, installed with the package as ``sim/scenarios/``.

    Raises:
        UserInputError: the folder is missing (a broken installation).
    """
    # The folder beside this package, not beside the current directory or the checkout, so an
    # installed wheel finds its own copy from any folder.
    folder = Path(__file__).resolve().parents[1] / "scenarios"
    if not folder.is_dir():
        raise UserInputError(
            f"scenario library not found: {folder} does not exist (reinstall "
            "the package: pip install peer-outreach)"
        )
    return folder


def shipped_scenarios() -> list[tuple[Path, str, str]]:
    """Each shipped scenario as ``(path, name, description)``, sorted by file name.

    A file that cannot be read is listed with a description saying so, rather than hiding it.
    """
    from sim.model.scenario import read_toml

    out = []
    for path in sorted(scenarios_folder().glob("*.toml")):
        try:
            data = read_toml(path)
        except UserInputError:
            out.append((path, path.stem, "(cannot be read: run outreach validate on it)"))
            continue
        out.append((path, str(data.get("name", path.stem)), str(data.get("description", ""))))
    return out


def _shipped_names() -> list[str]:
    return [p.stem for p in sorted(scenarios_folder().glob("*.toml"))]


def scenario_path(arg: str | Path, option: str = "") -> Path:
    """The file a scenario argument names: a file, or a shipped scenario by name.

    The rule, the same for every command: an existing file is that file; otherwise a bare
    name (no folder, no ``.toml``) of a shipped scenario is that scenario's file; otherwise an
    existing path (a folder) is left for the loader to refuse, and anything else is an error.
    A folder never hides a shipped scenario: ``outreach report baseline --out baseline``
    followed by ``outreach run baseline`` still runs the shipped baseline.

    Args:
        arg: the command-line argument.
        option: the option it was given to (``"--from"``), for the message; empty for a
            positional argument.

    Returns:
        The path of the scenario file.

    Raises:
        UserInputError: no such file and no shipped scenario of that name; the message lists
            the shipped names.
    """
    path = Path(arg)
    if path.is_file():
        return path
    text = str(arg)
    shown = f"{option} {text}" if option else text
    bare = "/" not in text and "\\" not in text and not text.endswith(".toml")
    if bare and text:
        shipped = scenarios_folder() / f"{text}.toml"
        if shipped.is_file():
            return shipped
    if path.exists():
        return path
    if bare and text:
        import difflib

        names = _shipped_names()
        near = difflib.get_close_matches(text, names, n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise UserInputError(
            f"{shown}: no such scenario file, and no shipped scenario of that "
            f"name ({hint}shipped: {', '.join(names)})"
        )
    raise UserInputError(
        f"{shown}: no such scenario file (or name a shipped scenario: "
        f"{', '.join(_shipped_names())})"
    )


def examples_folder() -> Path:
    """The shipped examples of sweep specs, targets and search files: ``sim/examples/``.

    Raises:
        UserInputError: the folder is missing (a broken installation).
    """
    folder = Path(__file__).resolve().parents[1] / "examples"
    if not folder.is_dir():
        raise UserInputError(
            f"examples not found: {folder} does not exist (reinstall the "
            "package: pip install peer-outreach)"
        )
    return folder


def example_path(arg: str | Path, what: str) -> Path:
    """The file a spec argument names: a file, or a shipped example by name.

    The rule of :func:`scenario_path`: an existing file is that file; otherwise a bare name
    (no folder, no ``.toml``) of a shipped example is that example's file (``outreach sweep
    sensitivity``, ``outreach calibrate baseline burnout``), so the README's commands work
    from an installed package, outside a checkout.

    Args:
        arg: the command-line argument.
        what: what the argument is, for the message (``"sweep spec"``).

    Raises:
        UserInputError: no such file and no shipped example of that name; the message lists
            the shipped examples.
    """
    path = Path(arg)
    if path.is_file():
        return path
    text = str(arg)
    bare = bool(text) and "/" not in text and "\\" not in text and not text.endswith(".toml")
    if bare:
        shipped = examples_folder() / f"{text}.toml"
        if shipped.is_file():
            return shipped
    if path.exists():
        return path  # a folder: the loader says what is wrong with it
    names = ", ".join(p.stem for p in sorted(examples_folder().glob("*.toml")))
    if bare:
        import difflib

        near = difflib.get_close_matches(text, names.split(", "), n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise UserInputError(
            f"{text}: no such {what} file, and no shipped example of that "
            f"name ({hint}shipped: {names})"
        )
    raise UserInputError(f"{text}: no such {what} file (or name a shipped example: {names})")


def load_scenario_args(arg: str, args: argparse.Namespace):
    """Load a scenario argument with the command line's --set, --replicates, --seed and --weeks.

    Args:
        arg: a scenario file or a shipped scenario's name (see :func:`scenario_path`).
        args: the parsed command line, with the options of :func:`add_run_options`.

    Returns:
        The validated :class:`~sim.model.scenario.Scenario`.

    Raises:
        UserInputError: an unknown scenario, a bad file or a bad override.
    """
    overrides = option_overrides(args)
    for key, value in (
        ("run.replicates", args.replicates),
        ("run.seed", args.seed),
        ("run.weeks", args.weeks),
    ):
        if value is not None:
            overrides[key] = value
    return load_with_sets(scenario_path(arg), overrides, args.overrides)


def option_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` overrides (:func:`parse_sets`) with the options that apply to every scenario.

    ``--history-weeks H`` is ``--set run.history_weeks=H``. (``--seed``, ``--replicates`` and
    ``--weeks`` are shared by compared scenarios and set where they are aligned.)

    Raises:
        UserInputError: a bad ``--set`` pair.
    """
    overrides = parse_sets(args.overrides)
    history = getattr(args, "history_weeks", None)
    if history is not None:
        overrides["run.history_weeks"] = history
    return overrides


#: Scenario keys that name files. In a scenario file a relative path is taken from the file's
#: folder; given with --set, from the current folder, as a shell user expects of a path typed
#: on the command line.
PATH_KEYS = ("network.file", "network.nodes_file")


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """Parse ``--set KEY=VALUE`` arguments; a relative path of :data:`PATH_KEYS` made absolute.

    Raises:
        UserInputError: a pair without ``=`` or with an empty key.
    """
    from sim.model.scenario import parse_overrides

    overrides = parse_overrides(pairs)
    for key in PATH_KEYS:
        value = overrides.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            overrides[key] = os.path.abspath(value)
    return overrides


def load_with_sets(path: str | Path, overrides: dict[str, Any], pairs: list[str]):
    """Load a scenario file with overrides; a problem with a ``--set`` value names ``--set``.

    Args:
        path: the scenario file.
        overrides: from :func:`parse_sets` (plus any other options' values).
        pairs: the ``--set`` arguments as given, to quote in messages.

    Raises:
        UserInputError: a bad file or a bad override (a ScenarioError listing every problem,
            those of a --set value as ``--set KEY=VALUE: what is allowed``).
    """
    from sim.model.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path, overrides)
    except ScenarioError as err:
        problems = [blame_set(p, str(path), pairs) for p in err.problems]
        if problems == list(err.problems):
            raise
        raise ScenarioError(problems) from None


def blame_set(problem: str, source: str, pairs: list[str]) -> str:
    """A scenario problem caused by a ``--set`` value, reworded to name that ``--set``.

    A validation problem reads ``SOURCE: KEY = VALUE: what is allowed`` (or ``SOURCE: KEY:
    ...``). When KEY is one given with --set, the value came from the command line, not from
    the file, so the problem becomes ``--set KEY=VALUE: what is allowed (scenario SOURCE)``.
    Any other problem is returned as it was.
    """
    rest = problem[len(source) + 2 :] if problem.startswith(source + ": ") else problem
    for pair in pairs:
        key = pair.partition("=")[0].strip()
        # Validation names list items as localities[1]; --set addresses them as localities.1.
        shown = _bracketed(key)
        for lead in (f"{shown} = ", f"{shown}: "):
            if rest.startswith(lead):
                after = rest[len(lead) :]
                detail = after.split(": ", 1)[1] if lead.endswith("= ") and ": " in after else after
                return f"--set {pair.strip()}: {detail} (scenario {source})"
        # A table or list on the way to the key, made or changed by this --set.
        parts = key.split(".")
        if any(
            rest.startswith(_bracketed(".".join(parts[:i])) + " = ") for i in range(1, len(parts))
        ):
            return f"--set {pair.strip()}: {rest} (scenario {source})"
    # A problem of several keys (a sum, a comparison) that one --set took part in.
    used = [
        pair.strip()
        for pair in pairs
        if re.search(
            rf"(?<![\w.]){re.escape(_bracketed(pair.partition('=')[0].strip()))}"
            r"(?![\w\[])",
            rest,
        )
    ]
    if used:
        return problem + " (with " + ", ".join(f"--set {u}" for u in used) + ")"
    return problem


def _bracketed(key: str) -> str:
    """A --set key as validation names it: list items as ``localities[1]``, not ``.1``."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)


# --------------------------------------------------------------------------- progress


def progress_bar(label: str, unit: str = "run") -> Callable[[int, int], None] | None:
    """A ``progress(done, total)`` callback drawing a tqdm bar (rate, ETA) on standard error.

    Returns None when standard error is not a terminal, so piped output, logs and tests get
    no bar and no control characters.

    Args:
        label: the bar's title (a scenario or sweep name).
        unit: what is counted.
    """
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # only on a terminal: importing it costs the CLI's start 60 ms

    try:
        known = min(os.get_terminal_size(sys.stderr.fileno())) > 0
    except OSError:
        known = False
    # A terminal that reports no size (a bare pseudo-terminal) would get no bar at all: tqdm
    # hides bars below the screen's last row, and that row is 0.
    size = {"dynamic_ncols": True} if known else {"ncols": 80, "nrows": 24}
    bar = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            # Work already done (a resumed sweep) starts the bar, so the rate and the ETA
            # count only what this process does.
            bar = tqdm(
                total=total,
                initial=done,
                desc=label,
                unit=unit,
                file=sys.stderr,
                smoothing=0.1,
                **size,
            )
            if done >= total:
                bar.close()
            return
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return show

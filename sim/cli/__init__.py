"""The ``outreach`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys

from sim import __version__
from sim.errors import UserInputError

__all__ = ["COMMAND_MODULES", "add_run_options", "load_scenario_args", "main", "progress_bar"]

#: Modules that add commands; each has ``register(subparsers)``, which adds its subparsers and
#: imports nothing heavy (numba, matplotlib, dask) until its command runs.
COMMAND_MODULES: tuple[str, ...] = (
    "sim.cli.sweep",
    "sim.cli.viz",
    "sim.cli.plan",
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
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser(
        "run", help="run a scenario's replicates and print a summary",
        description="Run the replicates of a scenario (in parallel) and print each metric's "
                    "mean and 95%% interval over replicates.")
    run.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML)")
    add_run_options(run)
    run.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    run.set_defaults(func=_cmd_run)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def int_in(lo: int, hi: int | None = None):
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
_seed = int_in(0, 2**63 - 1)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Add the options every simulating command shares: replicates, seed, weeks, --set, workers."""
    p.add_argument("--replicates", type=positive_int, metavar="N",
                   help="replicates to run (default: the scenario's run.replicates)")
    p.add_argument("--seed", type=_seed, metavar="S",
                   help="root seed (default: the scenario's run.seed)")
    p.add_argument("--weeks", type=positive_int, metavar="W",
                   help="weeks to simulate (default: the scenario's run.weeks)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a scenario value by dotted key, e.g. close_peers.count=12 "
                        "(repeatable)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="parallel workers (default: all cores); results do not depend on it")


def load_scenario_args(path: str, args: argparse.Namespace):
    """Load a scenario file with the command line's --set, --replicates, --seed and --weeks."""
    from sim.model.scenario import load_scenario, parse_overrides

    overrides = parse_overrides(args.overrides)
    for key, value in (("run.replicates", args.replicates), ("run.seed", args.seed),
                       ("run.weeks", args.weeks)):
        if value is not None:
            overrides[key] = value
    return load_scenario(path, overrides)


def progress_bar(label: str):
    """A progress callback drawing a bar on standard error when it is a terminal."""
    if not sys.stderr.isatty():
        return None
    width = 30

    def show(done: int, total: int) -> None:
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done == total else ""
        print(f"\r{label} [{bar}] {done}/{total} runs", end=end, file=sys.stderr, flush=True)

    return show


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.model.scenario import scenario_to_dict
    from sim.output.tables import check_writable, dump_json, metrics_table, write_text_atomic
    from sim.run import run_ensemble

    scenario = load_scenario_args(args.scenario, args)
    if args.json:  # check the destination before hours of work, not after
        check_writable(args.json, "--json")
    result = run_ensemble(scenario, workers=args.workers, progress=progress_bar(scenario.name))
    summary = result.metrics()
    print(f"{scenario.name}: {scenario.run.replicates} replicates of {scenario.run.weeks} weeks, "
          f"seed {scenario.run.seed}, {scenario.population.size:,} people")
    print(metrics_table(summary))
    if args.json:
        document = {
            "scenario": scenario.name,
            "file": args.scenario,
            "seed": scenario.run.seed,
            "replicates": scenario.run.replicates,
            "weeks": scenario.run.weeks,
            "settings": scenario_to_dict(scenario),
            "metrics": {k: {m: v[m] for m in ("mean", "ci_low", "ci_high")}
                        for k, v in summary.items()},
            "groups": result.groups(),
            "weekly": result.weekly(),
        }
        write_text_atomic(args.json, dump_json(document), "--json")
        print(f"results written to {args.json}")
    return 0


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

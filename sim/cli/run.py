"""``outreach run``: a scenario's replicates, summarised with 95% intervals."""

from __future__ import annotations

import argparse

from sim.cli.options import add_run_options, load_scenario_args, progress_bar, scenario_path

__all__ = ["register"]

_EPILOG = """\
examples:
  outreach run baseline
  outreach run big_city --replicates 50 --json big_city.json
  outreach run my_programme.toml --set close_peers.count=12
  outreach run baseline --replicates 5 --events events.parquet
  outreach run baseline --weeks 156 --history-weeks 104
"""


def register(subparsers) -> None:
    """Add ``outreach run`` to the CLI."""
    p = subparsers.add_parser(
        "run",
        help="run a scenario's replicates and print a summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="Run the replicates of a scenario (in parallel) and print each metric's "
        "mean and 95% interval over replicates.",
    )
    p.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="scenario file (TOML), or a shipped scenario's name (outreach scenarios lists them)",
    )
    add_run_options(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument(
        "--events",
        metavar="PATH",
        help="also write the event history (one row per contact, engagement, "
        "referral, linkage, drop-out, peer recruited/exhausted/returned/"
        "withdrawn, in every replicate) as Parquet to PATH; needs pyarrow",
    )
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.cli.resources import warn_before_runs
    from sim.ensemble.replicates import run_ensemble, worlds_line
    from sim.model.scenario import scenario_to_dict
    from sim.model.world import world_count, world_stats
    from sim.output.atomic import check_writable, write_text_atomic
    from sim.output.tables import (
        WEEKS_PER_YEAR,
        dump_json,
        groups_table,
        history_line,
        leaving_line,
        metrics_table,
        people_words,
        years_document,
        years_table,
    )

    scenario = load_scenario_args(args.scenario, args)
    if args.json:  # check the destination before hours of work, not after
        check_writable(args.json, "--json")
    warn_before_runs([scenario], args.workers)
    before = world_stats()["built"]
    with _events_file(args.events) as events:
        result = run_ensemble(
            scenario,
            workers=args.workers,
            progress=progress_bar(scenario.name),
            stop=getattr(args, "interrupted", None),
            events=events.recorder if events else None,
        )
    summary = result.metrics()
    print(
        f"{scenario.name}: {scenario.run.replicates} replicates of {scenario.run.weeks} weeks, "
        f"seed {scenario.run.seed}, {people_words(scenario)}"
    )
    history = history_line(scenario.run.history_weeks, scenario.run.weeks)
    if history:
        print(history)
    built = int(world_stats()["built"] - before)
    print(worlds_line(scenario, result, built))
    print(metrics_table(summary))
    years = result.years()
    if scenario.run.weeks > WEEKS_PER_YEAR:  # a single year is the table above
        print("\nYear by year (each measure's mean over replicates, its 95% interval below):")
        print(years_table(years))
    groups = result.groups()
    print("\nWho is reached (share of each client type, means over replicates):")
    print(groups_table(groups))
    print(leaving_line(groups))
    if args.json:
        document = {
            "scenario": scenario.name,
            "file": str(scenario_path(args.scenario)),
            "seed": scenario.run.seed,
            "replicates": scenario.run.replicates,
            "weeks": scenario.run.weeks,
            "history_weeks": scenario.run.history_weeks,
            "settings": scenario_to_dict(scenario),
            "metrics": {
                k: {m: v[m] for m in ("mean", "ci_low", "ci_high")} for k, v in summary.items()
            },
            "years": years_document(years),
            "groups": groups,
            "weekly": result.weekly(),
            "worlds": {
                "built": built,
                "distinct": world_count(scenario),
                "run_worlds": scenario.run.worlds,
                **{f"{k}_seconds": round(v, 3) for k, v in result.seconds().items()},
            },
        }
        write_text_atomic(args.json, dump_json(document), "--json")
        print(f"results written to {args.json}")
    if args.events:
        print(f"events written to {args.events}")
    return 0


def _events_file(path: str | None):
    """The ``--events`` file's context (checked before any run), or an empty context."""
    import contextlib

    if not path:
        return contextlib.nullcontext()
    from sim.output.events import EventsFile

    return EventsFile(path, "--events")

"""``outreach reach``: screen recruitment policies by how far the network carries their peers."""

from __future__ import annotations

import argparse

from sim.cli.options import positive_int, progress_bar, scenario_path, seed_int

__all__ = ["register"]

#: Replicates screened when neither --replicates nor the scenario's own is wanted: enough for
#: paired differences on common random numbers, few enough for a screen in seconds.
DEFAULT_REPLICATES = 10

_EPILOG = """\
examples:
  outreach reach baseline
  outreach reach baseline --policies random,degree,influence --peers 15
  outreach reach big_city --full --json reach.json --plot reach.png
"""


def register(subparsers) -> None:
    """Add ``outreach reach`` to the CLI."""
    p = subparsers.add_parser(
        "reach",
        help="screen recruitment policies by the reach of the peers they pick",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="For each recruitment policy: the peers it picks and how many clients "
        "their outreach and referral chains are expected to reach through the "
        "network (mean and 95% interval over replicates, on common random "
        "numbers). This is the network's upper bound, without hours, caseloads, "
        "burnout or services; --full runs the full model beside it.",
    )
    p.add_argument(
        "scenario", metavar="SCENARIO", help="scenario file (TOML), or a shipped scenario's name"
    )
    p.add_argument(
        "--policies",
        default="random,degree,nomination,cover_subgroups,influence",
        metavar="P1,P2,...",
        help="recruitment policies to screen, comma-separated (default: %(default)s)",
    )
    p.add_argument(
        "--peers",
        type=positive_int,
        metavar="K",
        help="peers of each kind the scenario has (default: the scenario's counts)",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        metavar="R",
        help=f"replicates (worlds and picks) (default: {DEFAULT_REPLICATES})",
    )
    p.add_argument(
        "--seed", type=seed_int, metavar="S", help="root seed (default: the scenario's run.seed)"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="also run the full model (hours, burnout, services) for each policy and "
        "show its clients_contacted beside the screen",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="parallel workers of the full model (default: all cores)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also write the plot to FILE: .png, .svg or .pdf (default: no plot, as compare)",
    )
    p.set_defaults(func=_cmd_reach)


def _cmd_reach(args: argparse.Namespace) -> int:
    from sim.cli.options import load_with_sets
    from sim.ensemble.reach import parse_policies
    from sim.errors import UserInputError
    from sim.output.atomic import check_writable
    from sim.output.plots import PLOT_SUFFIXES

    policies = parse_policies(args.policies)
    if args.plot is not None and not args.plot.lower().endswith(PLOT_SUFFIXES):
        raise UserInputError(f"--plot {args.plot}: must end in " + ", ".join(PLOT_SUFFIXES))
    overrides = {"run.replicates": args.replicates or DEFAULT_REPLICATES}
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    path = scenario_path(args.scenario)
    scenario = load_with_sets(path, overrides, [])
    if args.peers is not None:
        from sim.ensemble.reach import policy_scenario

        policy_scenario(scenario, policies[0], args.peers)  # a bad count stops here, before work
    for target, what in ((args.json, "--json"), (args.plot, "--plot")):
        if target:
            check_writable(target, what)
    return _run(args, scenario, policies, str(path))


def _run(args, scenario, policies, file: str) -> int:
    from sim.ensemble.reach import UPPER_BOUND_NOTE, screen, screen_document
    from sim.model.world import world_size
    from sim.output.atomic import write_text_atomic
    from sim.output.plots import save_figure
    from sim.output.tables import dump_json

    result = screen(
        scenario,
        policies,
        peers=args.peers,
        full=args.full,
        workers=args.workers,
        progress=progress_bar(f"{scenario.name} reach", unit="step"),
        stop=getattr(args, "interrupted", None),
    )
    counts = result.counts
    print(
        f"{scenario.name}: {counts['close']} close and {counts['distant']} distant peers, "
        f"{scenario.run.replicates} replicates, seed {scenario.run.seed}, "
        f"{world_size(scenario):,} people"
    )
    print(f"Screen: {UPPER_BOUND_NOTE}.")
    print(_table(result))
    if args.full:
        print(
            f"Full model: clients_contacted in {scenario.run.weeks} weeks, with hours, "
            "burnout and services, on the same seed and replicates."
        )
    print(
        f"Differences are paired, replicate by replicate, against {result.base}; "
        "'*' marks one whose 95% interval excludes 0."
    )
    if args.plot:  # only when asked: a command writes no file into the current folder unasked
        save_figure(_figure(result), args.plot)
        print(f"plot written to {args.plot}")
    if args.json:
        write_text_atomic(args.json, dump_json(screen_document(result, file)), "--json")
        print(f"results written to {args.json}")
    return 0


def _interval(s) -> str:
    return f"{s['mean']:,.1f} [{s['ci_low']:,.1f}, {s['ci_high']:,.1f}]"


def _difference(d) -> str:
    mark = "*" if d["distinguishable"] else ""
    return f"{d['mean']:+,.1f} [{d['ci_low']:+,.1f}, {d['ci_high']:+,.1f}]{mark}"


def _format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            f"{r[c]:{'<' if c == 0 else '>'}{widths[c]}}" for c in range(len(r))
        ).rstrip()

    return "\n".join([line(header), "-" * len(line(header)), *(line(r) for r in rows)])


def _table(result) -> str:
    summary = result.summary()
    header = ["policy", "ties/peer", "screen: clients reached", f"vs {result.base}"]
    if result.full:
        header += ["full model: contacted", f"vs {result.base}"]
    rows = []
    for policy in result.policies:
        row = summary[policy]
        cells = [
            policy,
            f"{row['mean_degree_of_peers']:.1f}",
            _interval(row["reach"]),
            _difference(row["reach_difference"]) if policy != result.base else "-",
        ]
        if result.full:
            cells += [
                _interval(row["full"]),
                _difference(row["full_difference"]) if policy != result.base else "-",
            ]
        rows.append(cells)
    lines = [_format_table(header, rows)]
    for policy in result.policies:
        close, distant = result.picks[policy][0]
        lines.append(
            f"  {policy} picks (replicate 0): close {_few(close)}; distant {_few(distant)}"
        )
    return "\n".join(lines)


def _few(nodes, most: int = 8) -> str:
    shown = ", ".join(str(n) for n in nodes[:most])
    return f"[{shown}{', ...' if len(nodes) > most else ''}]" if nodes else "none"


def _figure(result):
    from sim.ensemble.reach import UPPER_BOUND_NOTE
    from sim.output.plots import pyplot

    plt = pyplot()
    summary = result.summary()
    panels = [("reach", "Screen: expected clients reached\n(network upper bound)")]
    if result.full:
        panels.append(("full", "Full model: clients contacted\n(hours, burnout, services)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    x = range(len(result.policies))
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        means = [summary[p][key]["mean"] for p in result.policies]
        low = [m - summary[p][key]["ci_low"] for p, m in zip(result.policies, means, strict=True)]
        high = [summary[p][key]["ci_high"] - m for p, m in zip(result.policies, means, strict=True)]
        colours = ["tab:orange" if p == "influence" else "tab:blue" for p in result.policies]
        ax.bar(x, means, color=colours, yerr=[low, high], capsize=4)
        ax.set_xticks(list(x), result.policies, rotation=20)
        ax.set_title(title, fontsize=11)
        ax.set_ylim(bottom=0)
    fig.suptitle(
        f"{result.scenario.name}: recruitment policies (mean, 95% interval over "
        f"{result.scenario.run.replicates} replicates)",
        fontsize=11,
    )
    fig.text(0.01, 0.01, "Screen: " + UPPER_BOUND_NOTE, fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig

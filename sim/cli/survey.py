"""``outreach survey`` and ``outreach estimate``: respondent-driven sampling against the truth.

``survey`` simulates an RDS survey of a scenario's world; ``estimate`` sets the estimators of
:mod:`sim.rds.estimators` beside the truth the simulation knows.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from sim.cli.options import positive_int, progress_bar, scenario_path, seed_int
from sim.errors import UserInputError

__all__ = ["register"]

_SURVEY_EPILOG = """\
examples:
  outreach survey baseline --out rds
  outreach survey baseline --out rds100 --replicates 100 --seed-from service
  outreach survey my_network.toml --out rds --coupons 2 --p-redeem 0.7 --sample-size 300
  outreach survey baseline --out biased --recruit-by subgroup --recruit-strength 3
"""

_ESTIMATE_EPILOG = """\
examples:
  outreach estimate rds --trait gender=woman
  outreach estimate rds --trait linked --diagnostics
  outreach estimate rds100 --trait age_band --population-size 6000
"""


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a probability in [0, 1]")
    return value


def _number(lo: float, hi: float | None = None, *, open_lo: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        bad_lo = value <= lo if open_lo else value < lo
        if bad_lo or (hi is not None and value > hi) or math.isnan(value):
            where = f"above {lo:g}" if open_lo else f"{lo:g} or more"
            if hi is not None:
                where += f" and at most {hi:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {where}")
        return value

    return parse


def register(subparsers) -> None:
    """Add ``outreach survey`` and ``outreach estimate`` to the CLI."""
    p = subparsers.add_parser(
        "survey",
        help="simulate a respondent-driven sampling survey on a scenario's world",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_SURVEY_EPILOG,
        description="Run the scenario's model once, its history and its weeks (to know whom "
        "the programme engaged and linked), then survey the population of the "
        "last week by respondent-driven sampling: seeds start chains, each "
        "respondent gets coupons for ties not yet sampled. Only people in the "
        "population then are surveyed (the population is open: [turnover]). "
        "Writes DIR/sample.csv (one row per respondent; id: a graph file's id, "
        "else the person's index in the world) and DIR/truth.json (the "
        "population's true size and shares at the survey's week). Replicates are "
        "independent surveys of the same population; an interrupted survey "
        "resumes when run again.",
    )
    p.add_argument(
        "scenario", metavar="SCENARIO", help="scenario file (TOML), or a shipped scenario's name"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder to write (made if missing; its parent must exist)",
    )
    p.add_argument(
        "--n-seeds",
        type=positive_int,
        default=10,
        metavar="N",
        help="seed respondents (default 10)",
    )
    p.add_argument(
        "--coupons",
        type=positive_int,
        default=3,
        metavar="C",
        help="coupons per respondent (default 3)",
    )
    p.add_argument(
        "--p-redeem",
        type=_probability,
        default=0.5,
        metavar="Q",
        help="probability a coupon is redeemed (default 0.5)",
    )
    p.add_argument(
        "--sample-size",
        type=positive_int,
        default=500,
        metavar="M",
        help="target sample, seeds included (default 500)",
    )
    p.add_argument(
        "--seed-from",
        choices=("random", "engaged", "service"),
        default="random",
        help="seeds drawn from anyone, from persons the programme engaged, or from "
        "those it linked to a service (default random)",
    )
    p.add_argument(
        "--recruit-by",
        default="uniform",
        metavar="HOW",
        help="differential recruitment: uniform (default); subgroup (ties sharing "
        "gender and age band); a number attribute such as trust or mistrust "
        "(weight strength^x, x scaled to [0, 1]); or NAME=LABEL",
    )
    p.add_argument(
        "--recruit-strength",
        type=_number(0.0, open_lo=True),
        default=2.0,
        metavar="K",
        help="weight of the preferred ties (default 2; 1 none, below 1 an aversion)",
    )
    p.add_argument(
        "--degree-noise",
        type=_number(0.0, 3.0),
        default=0.0,
        metavar="SIGMA",
        help="log-normal spread of the error of reported degrees (default 0: exact)",
    )
    p.add_argument(
        "--degree-heaping",
        type=positive_int,
        default=1,
        metavar="H",
        help="reported degrees rounded to a multiple of H (default 1: none)",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=1,
        metavar="R",
        help="independent surveys (default 1)",
    )
    p.add_argument(
        "--seed", type=seed_int, metavar="S", help="root seed (default: the scenario's run.seed)"
    )
    p.add_argument(
        "--weeks",
        type=positive_int,
        metavar="W",
        help="weeks the model runs before the survey, after its run.history_weeks "
        "(default: the scenario's run.weeks)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a scenario value by dotted key (repeatable)",
    )
    p.set_defaults(func=_cmd_survey)

    e = subparsers.add_parser(
        "estimate",
        help="estimate a trait's prevalence and the population's size from a survey",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_ESTIMATE_EPILOG,
        description="Estimate a trait's share by the naive share, RDS-I, RDS-II and Gile's SS, "
        "and the population size by the multiplier method and Chapman's capture-"
        "recapture, each with a 95% interval, beside the truth. With several "
        "replicates: each estimator's bias, RMSE and interval coverage, and a "
        "plot DIR/estimators-TRAIT.png.",
    )
    e.add_argument("folder", metavar="DIR", help="a folder written by outreach survey")
    e.add_argument(
        "--trait",
        required=True,
        metavar="NAME[=LABEL]",
        help="an attribute of sample.csv: a category (each label, or the one "
        "named; RDS-I's recruitment chain is over all its labels either way) "
        "or a 0/1 number",
    )
    e.add_argument(
        "--population-size",
        type=positive_int,
        metavar="N",
        help="population size SS assumes (default: the true size)",
    )
    e.add_argument(
        "--bootstrap",
        type=int_at_least(50),
        default=500,
        metavar="B",
        help="bootstrap samples per interval (default 500)",
    )
    e.add_argument(
        "--replicate",
        type=int_at_least(0),
        metavar="R",
        help="estimate this replicate only (default: all)",
    )
    e.add_argument(
        "--diagnostics",
        action="store_true",
        help="also write recruitment diagnostics (waves, homophily, convergence, "
        "bottlenecks) of the first (or --replicate) sample into DIR",
    )
    e.set_defaults(func=_cmd_estimate)


def int_at_least(lo: int):
    """An argparse type: a whole number of at least ``lo``."""
    from sim.cli.options import int_in

    return int_in(lo)


# --------------------------------------------------------------------------- survey


def _load(args):
    from sim.cli.options import load_with_sets, parse_sets

    overrides = parse_sets(args.overrides)
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.weeks is not None:
        overrides["run.weeks"] = args.weeks
    return load_with_sets(scenario_path(args.scenario), overrides, args.overrides)


def _cmd_survey(args: argparse.Namespace) -> int:
    import json

    from sim.model.scenario import scenario_to_dict
    from sim.model.world import world_size
    from sim.output.atomic import check_folder_writable, write_text_atomic
    from sim.rds import survey_files as F
    from sim.rds.survey import SurveyDesign, check_design, run_replicates, survey_population

    scenario = _load(args)
    design = SurveyDesign(
        n_seeds=args.n_seeds,
        coupons=args.coupons,
        p_redeem=args.p_redeem,
        sample_size=args.sample_size,
        seed_from=args.seed_from,
        recruit_by=args.recruit_by,
        recruit_strength=args.recruit_strength,
        degree_noise=args.degree_noise,
        degree_heaping=args.degree_heaping,
    )
    problems = design.problems()
    if problems:
        raise UserInputError(problems[0])
    # Who is present at the start (a graph file: everyone in it); the population is checked
    # again when the model has run, at the survey's week.
    people = (
        world_size(scenario) if scenario.network.generator == "file" else scenario.population.size
    )
    if design.sample_size > people:
        raise UserInputError(
            f"--sample-size {design.sample_size:,}: must be at most the "
            f"population of {scenario.name}, {people:,} people"
        )
    out = Path(args.out)
    check_folder_writable(out)
    seed = scenario.run.seed
    settings = {
        "scenario": scenario.name,
        "file": str(scenario_path(args.scenario)),
        "seed": seed,
        "weeks": scenario.run.weeks,
        "history_weeks": scenario.run.history_weeks,
        "design": design.to_dict(),
        "settings": scenario_to_dict(scenario),
    }
    previous = _previous_settings(out)
    if previous is not None and _comparable(previous) != _comparable(settings):
        raise UserInputError(
            f"--out {out}: holds a survey with other settings (see "
            f"{out / 'survey.json'}); give another --out, or remove it"
        )
    stop = getattr(args, "interrupted", None)

    def before_run(population) -> None:
        check_design(population, design, seeds=False)
        history = scenario.run.history_weeks
        weeks = (
            f"{history} weeks of history and {scenario.run.weeks} weeks"
            if history
            else f"{scenario.run.weeks} weeks"
        )
        print(
            f"{scenario.name}: running the model for {weeks} (seed {seed}) to know whom "
            "the programme engaged and linked",
            flush=True,
        )

    pop = survey_population(scenario, stop=stop, before_run=before_run)
    check_design(pop, design)
    if design.coupons * design.p_redeem <= 1:
        print(
            f"note: coupons x p-redeem = {design.coupons} x {design.p_redeem:g} = "
            f"{design.coupons * design.p_redeem:g} <= 1: chains die out on their own, so "
            f"samples may stop short of {design.sample_size}",
            file=sys.stderr,
        )
    (out / "replicates").mkdir(parents=True, exist_ok=True)
    truth = F.truth_document(pop, scenario.name)
    write_text_atomic(out / "truth.json", json.dumps(truth, indent=2) + "\n", "--out")
    write_text_atomic(
        out / "survey.json",
        json.dumps({**settings, "replicates": args.replicates}, indent=2) + "\n",
        "--out",
    )
    todo = [r for r in range(args.replicates) if not F.part_path(out, r).is_file()]
    if len(todo) < args.replicates:
        print(
            f"resuming {out}: {args.replicates - len(todo)} of {args.replicates} replicates "
            "already surveyed"
        )

    def write(r: int, sample) -> None:
        write_text_atomic(F.part_path(out, r), F.sample_csv(pop, sample, r, header=True), "--out")

    try:
        run_replicates(
            pop,
            design,
            seed,
            todo,
            write,
            stop=stop,
            progress=progress_bar(scenario.name, "survey"),
        )
    except KeyboardInterrupt:
        done = sum(F.part_path(out, r).is_file() for r in range(args.replicates))
        print(
            f"outreach: interrupted: {done} of {args.replicates} replicates surveyed in "
            f"{out}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    sizes, waves = _assemble(out, args.replicates, {**settings, "replicates": args.replicates})
    print(
        f"surveyed {pop.n:,} people present at week {pop.week} "
        f"({truth['service_records']:,} on the service's records)"
        f": {args.replicates} {'replicate' if args.replicates == 1 else 'replicates'}, "
        f"{min(sizes)}-{max(sizes)} respondents each (target {design.sample_size}), "
        f"up to wave {max(waves)}"
    )
    short = sum(s < design.sample_size for s in sizes)
    if short:
        print(
            f"{short} of {args.replicates} samples stopped short of {design.sample_size}: "
            "their chains died out"
        )
    print(f"written: {out / 'sample.csv'}, {out / 'truth.json'}")
    print(f"next: outreach estimate {out} --trait NAME  (e.g. gender=woman, linked)")
    return 0


def _previous_settings(out: Path) -> dict | None:
    import json

    path = out / "survey.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserInputError(
            f"--out {out}: {path} cannot be read; give another --out, or remove it"
        ) from None


def _comparable(settings: dict) -> dict:
    # The number of replicates may grow (more surveys of the same population); nothing else.
    return {k: v for k, v in settings.items() if k not in ("replicates", "file", "respondents")}


def _assemble(out: Path, replicates: int, settings: dict) -> tuple[list[int], list[int]]:
    """Write sample.csv from the replicates' files; returns each one's size and last wave.

    ``survey.json`` (``settings``) gains each replicate's number of respondents first, so
    ``estimate`` refuses a ``sample.csv`` that lacks rows, whenever it was cut short.
    """
    import json

    from sim.output.atomic import write_text_atomic
    from sim.rds import survey_files as F

    parts, sizes, waves = [], [], []
    for r in range(replicates):
        lines = F.part_path(out, r).read_text(encoding="utf-8").splitlines(keepends=True)
        if r == 0:
            parts.append(lines[0])
        body = lines[1:]
        parts.extend(body)
        sizes.append(len(body))
        wave_col = lines[0].rstrip("\n").split(",").index("wave")
        waves.append(max(int(line.split(",")[wave_col]) for line in body))
    write_text_atomic(
        out / "survey.json",
        json.dumps({**settings, "respondents": sizes}, indent=2) + "\n",
        "--out",
    )
    write_text_atomic(out / "sample.csv", "".join(parts), "--out")
    return sizes, waves


# --------------------------------------------------------------------------- estimate

#: How ``estimate``'s own files are named in a message: they go into the survey folder, which
#: the command takes as its argument (it has no ``--out``).
_WHAT = "output"


def _fmt(x: float, size: bool) -> str:
    if not math.isfinite(x):
        return "inf" if x == math.inf else "-"
    return f"{x:,.0f}" if size else f"{x:.3f}"


def _cmd_estimate(args: argparse.Namespace) -> int:
    from sim.rds.analysis import estimate_replicate, evaluate, trait_of
    from sim.rds.survey_files import read_survey

    data = read_survey(args.folder)
    trait = trait_of(data, args.trait)
    n_true = int(data.truth["population_size"])
    if args.replicate is not None and args.replicate not in data.replicates:
        raise UserInputError(
            f"--replicate {args.replicate}: {data.folder} holds replicates "
            f"{data.replicates[0]}-{data.replicates[-1]}"
        )
    largest = max(len(data.column("id", r)) for r in data.replicates)
    if args.population_size is not None and args.population_size < largest:
        raise UserInputError(
            f"--population-size {args.population_size:,}: must be at least "
            f"the sample size, {largest:,}"
        )
    stop = getattr(args, "interrupted", None)
    design = data.settings.get("design", {})
    # The population is the one present at the survey's week (a survey written before the
    # population was open has no week).
    week = data.truth.get("survey_week")
    when = f" at week {week}" if isinstance(week, int) and week > 0 else ""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.trait)
    single = args.replicate is not None or len(data.replicates) == 1
    suffix = f"-replicate{args.replicate}" if args.replicate is not None else ""
    reps = [args.replicate] if args.replicate is not None else data.replicates
    print(
        f"survey of {data.settings.get('scenario', '?')} (seed {data.settings.get('seed')}): "
        f"{len(reps)} {'replicate' if len(reps) == 1 else 'replicates'}, "
        f"{design.get('n_seeds', '?')} seeds, {design.get('coupons', '?')} coupons, "
        f"p-redeem {design.get('p_redeem', '?')}; population {n_true:,}{when}"
    )
    if len(trait.labels) > 2 and len(trait.report) == 1:
        print(
            f"RDS-I's recruitment chain: every label of {trait.name} "
            f"({', '.join(trait.labels)}), as in R's RDS"
        )
    if single:
        rows = estimate_replicate(
            data, trait, reps[0], population_size=args.population_size, bootstrap=args.bootstrap
        )
        for row in rows:
            row.replicate = reps[0]
        print(f"replicate {reps[0]}: {len(data.column('id', reps[0]))} respondents")
        _print_single(rows)
        # One replicate's estimates have their own file, so they never replace the
        # all-replicates table (and its plot) of an earlier run.
        path = data.folder / f"estimates-{stem}{suffix}.csv"
        _write_rows(path, rows)
        print(f"written: {path}")
    else:
        rows, table = evaluate(
            data,
            trait,
            population_size=args.population_size,
            bootstrap=args.bootstrap,
            stop=stop,
            progress=progress_bar("estimate", "replicate"),
        )
        _print_table(table, rows)
        _write_rows(data.folder / f"estimates-{stem}.csv", rows)
        from sim.output.plots import save_figure
        from sim.rds.diagnostics import estimators_figure

        quantities = list(dict.fromkeys(r.quantity for r in rows))
        plot = data.folder / f"estimators-{stem}.png"
        save_figure(estimators_figure(rows, table, quantities), plot, _WHAT)
        print(f"written: {data.folder / f'estimates-{stem}.csv'}, {plot}")
    if args.diagnostics:
        _diagnostics(data, trait, reps[0], stem + suffix)
    return 0


def _print_single(rows) -> None:
    width = max(len(r.estimator) for r in rows)
    quantity = None
    for r in rows:
        size = r.quantity == "population size"
        if r.quantity != quantity:
            quantity = r.quantity
            print()
            print(f"{quantity}: truth {_fmt(r.truth, size)}")
            print(
                f"  {'estimator':<{width}}  {'estimate':>9}  {'95% interval':>21}  "
                f"{'error':>8}  covers  interval from"
            )
        lo, hi = _fmt(r.low, size), _fmt(r.high, size)
        covers = (
            ("yes" if r.low <= r.truth <= r.high else "no")
            if math.isfinite(r.low) and math.isfinite(r.high)
            else "-"
        )
        err = r.estimate - r.truth
        err_text = (f"{err:+,.0f}" if size else f"{err:+.3f}") if math.isfinite(err) else "-"
        span = "-" if lo == hi == "-" else f"{lo} - {hi}"
        print(
            f"  {r.estimator:<{width}}  {_fmt(r.estimate, size):>9}  "
            f"{span:>21}  {err_text:>8}  {covers:>6}  {r.interval}"
        )


def _print_table(table, rows) -> None:
    width = max(len(e) for (_, e) in table)
    quantity = None
    for (q, name), s in table.items():
        size = q == "population size"
        if q != quantity:
            quantity = q
            truth = next(r.truth for r in rows if r.quantity == q)
            print()
            print(f"{q}: truth {_fmt(truth, size)}")
            print(
                f"  {'estimator':<{width}}  {'mean':>9}  {'bias':>9}  {'RMSE':>9}  "
                f"{'coverage':>8}  {'width':>9}  replicates"
            )
        fmt = (lambda x: _fmt(x, True)) if size else (lambda x: _fmt(x, False))
        bias = (
            (f"{s['bias']:+,.0f}" if size else f"{s['bias']:+.3f}")
            if math.isfinite(s["bias"])
            else "-"
        )
        cov = f"{s['coverage']:.2f}" if math.isfinite(s["coverage"]) else "-"
        print(
            f"  {name:<{width}}  {fmt(s['mean']):>9}  {bias:>9}  {fmt(s['rmse']):>9}  "
            f"{cov:>8}  {fmt(s['width']):>9}  {s['replicates']}"
        )
    print("\ncoverage: share of replicates whose 95% interval holds the truth (0.95 if honest)")


def _write_rows(path: Path, rows) -> None:
    import csv
    import io

    from sim.output.atomic import write_text_atomic

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(
        ["replicate", "quantity", "estimator", "estimate", "ci_low", "ci_high", "truth", "interval"]
    )
    for r in rows:
        out.writerow(
            [
                r.replicate,
                r.quantity,
                r.estimator,
                *(format(x, ".6g") for x in (r.estimate, r.low, r.high, r.truth)),
                r.interval,
            ]
        )
    write_text_atomic(path, buf.getvalue(), _WHAT)


def _diagnostics(data, trait, replicate: int, stem: str) -> None:
    import numpy as np

    from sim.output.plots import save_figure
    from sim.rds import diagnostics as D
    from sim.rds.analysis import sample_arrays

    s = sample_arrays(data, replicate, trait)
    y, d, rec = s["y"], s["degree"], s["recruiter"]
    k = len(trait.labels)
    code = trait.report[0]
    shown, truth = trait.shown[code], trait.truth[code]
    folder = data.folder
    written = []
    for name, fig in (
        ("waves", D.waves_figure(y, s["wave"], rec, k, code, shown, truth)),
        ("convergence", D.convergence_figure(y, d, code, shown, truth)),
        ("bottleneck", D.bottleneck_figure(y, d, s["seed"], code, shown, truth)),
    ):
        path = folder / f"diagnostics-{stem}-{name}.png"
        save_figure(fig, path, _WHAT)
        written.append(path)
    h, trans = D.homophily(y, d, rec, k)
    counts = D.wave_composition(y, s["wave"], k)
    eq = D.equilibrium(y, rec, k)
    print()
    print(f"recruitment diagnostics, replicate {replicate}:")
    print(
        f"  {trait.shown[code]} by wave: "
        + ", ".join(
            f"{int(w)}: {counts[w, code] / counts[w].sum():.2f} (n={int(counts[w].sum())})"
            for w in range(counts.shape[0])
            if counts[w].sum() > 0
        )
    )
    if np.isfinite(eq[code]):
        print(f"  recruitment equilibrium {eq[code]:.3f}, truth {truth:.3f}")
    elif not np.any(rec >= 0):
        print(
            f"  recruitment equilibrium: none (the sample is its seeds only, no one was "
            f"recruited), truth {truth:.3f}"
        )
    else:
        print(
            f"  recruitment equilibrium: none unique (some categories recruit only among "
            f"themselves), truth {truth:.3f}"
        )
    labels = trait.labels
    print(
        "  homophily (Heckathorn 2002; 0 random, 1 only within): "
        + ", ".join(
            f"{labels[j]} {h[j]:+.2f}" if np.isfinite(h[j]) else f"{labels[j]} -" for j in range(k)
        )
    )
    if np.any(rec >= 0):
        print(
            "  recruits' category by recruiter's (rows: recruiter): "
            + "; ".join(
                f"{labels[i]} -> " + " ".join(f"{trans[i, j]:.2f}" for j in range(k))
                for i in range(k)
                if np.isfinite(trans[i]).all()
            )
        )
    print("written: " + ", ".join(str(p) for p in written))

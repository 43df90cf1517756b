"""``outreach calibrate`` and ``outreach optimize``: fit to a programme, search for a policy.

::

    outreach calibrate SCENARIO TARGETS.toml --out DIR [--trials N] [--posterior N] [--seed S]
                       [--replicates N] [--workers N | --scheduler ADDRESS | --dask-local N]
    outreach optimize SCENARIO SEARCH.toml --out DIR [--trials N] [--seed S] [--replicates N]
                      [--workers N | --scheduler ADDRESS | --dask-local N]

:func:`register` only adds the parsers; Optuna, numpy and numba are imported when a command
runs.
"""

from __future__ import annotations

import argparse
import sys

from sim.errors import UserInputError

__all__ = ["register"]

_CAL_EPILOG = """\
examples:
  outreach calibrate baseline burnout --out runs/burnout
  outreach calibrate baseline helsinki --out runs/helsinki

burnout and helsinki are shipped targets files (sim/examples/); TARGETS may be any file.

Each trial runs the same replicates of the file's seed, or of each of its seeds (common
random numbers). Interrupted? Run the
same command again: it resumes from DIR. A larger --trials carries on from the trials stored.
"""

_OPT_EPILOG = """\
examples:
  outreach optimize mixed_team budget --out runs/budget
  outreach compare mixed_team runs/budget/best_1.toml

budget is a shipped search file (sim/examples/budget.toml); SEARCH may be any file.

Interrupted? Run the same command again: it resumes from DIR.
"""


def register(subparsers) -> None:
    """Add ``outreach calibrate`` and ``outreach optimize`` to the CLI."""
    from sim.cli.options import positive_int, seed_int

    def common(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "scenario",
            metavar="SCENARIO",
            help="the scenario (a TOML file or a shipped scenario's name)",
        )
        p.add_argument(
            "file",
            metavar=what,
            help=f"the {what.split('.')[0].lower()} file (TOML) or a shipped example's name",
        )
        p.add_argument(
            "--out",
            metavar="DIR",
            required=True,
            help="folder for the trials and results (created; resumed if it holds this run)",
        )
        p.add_argument(
            "--trials",
            type=positive_int,
            metavar="N",
            help="trials in all (default: the file's trials)",
        )
        p.add_argument(
            "--seed",
            type=seed_int,
            metavar="S",
            help="root seed of every run and of the search (default: the file's seed or "
            "seeds; replaces a file's seeds list by this one seed)",
        )
        p.add_argument(
            "--replicates",
            type=positive_int,
            metavar="N",
            help="runs per trial and seed (default: the file's replicates)",
        )
        where = p.add_mutually_exclusive_group()
        where.add_argument(
            "--workers",
            type=positive_int,
            metavar="N",
            help="local worker processes (default: all cores; 1 runs in this "
            "process); results do not depend on it",
        )
        where.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786",
        )
        where.add_argument(
            "--dask-local",
            type=positive_int,
            metavar="N",
            help="start a local Dask cluster of N worker processes",
        )

    p = subparsers.add_parser(
        "calibrate",
        help="fit a scenario to a programme's observed figures",
        description="Fit the [parameters] of a targets file so the scenario gives the "
        "programme's observed\nfigures (each with its uncertainty): a best fit "
        "(Optuna TPE) written as DIR/calibrated.toml,\nand, with --posterior N, an "
        "approximate-Bayesian posterior from N prior draws.",
        epilog=_CAL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(p, "TARGETS.toml")
    p.add_argument(
        "--posterior",
        type=int,
        metavar="N",
        help="prior draws for the posterior (default: the file's posterior; 0: none)",
    )
    p.add_argument(
        "--save",
        metavar="FILE.toml",
        help="also write the fitted scenario here, named after the file (e.g. "
        "into your scenario library)",
    )
    p.add_argument(
        "--figure",
        metavar="FILE.png",
        help="also write the figure of the targets against the fit here",
    )
    p.set_defaults(func=_cmd_calibrate)

    p = subparsers.add_parser(
        "optimize",
        help="search for the best policy within constraints",
        description="Search the decision [parameters] of a search file for the policies that "
        "do best on its\nobjectives within its constraints (Optuna: TPE for one "
        "objective, NSGA-II for several):\nDIR/pareto.csv, DIR/pareto.png and "
        "DIR/best_*.toml.",
        epilog=_OPT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(p, "SEARCH.toml")
    p.set_defaults(func=_cmd_optimize)


def _optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UserInputError(
            "this command needs Optuna: pip install 'peer-outreach[fit]' (or pip install optuna)"
        ) from None


def _check_out(out: str) -> None:
    from pathlib import Path

    if Path(out).exists() and not Path(out).is_dir():
        raise UserInputError(f"--out {out}: is a file; give a folder")


def _executor(args: argparse.Namespace):
    from sim.cli.resources import warn_workers
    from sim.ensemble.replicates import default_workers
    from sim.fit.runs import InlineExecutor
    from sim.sweep.executors import DaskExecutor, LocalExecutor

    warn_workers(args.workers)
    if args.scheduler:
        return DaskExecutor(address=args.scheduler)
    if args.dask_local:
        return DaskExecutor(local=args.dask_local)
    workers = args.workers or default_workers()
    return InlineExecutor() if workers == 1 else LocalExecutor(workers)


def _with_options(spec, args: argparse.Namespace):
    import dataclasses

    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
        changes["seeds"] = (args.seed,)
    if args.replicates is not None:
        changes["replicates"] = args.replicates
    return dataclasses.replace(spec, **changes) if changes else spec


def _interrupted(out: str, done: int, what: str) -> int:
    print(
        f"outreach: interrupted: {done} {what} stored in {out}; run the same command again "
        "to resume",
        file=sys.stderr,
    )
    return 130


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.cli.options import example_path, progress_bar, scenario_path
    from sim.fit.spec import load_fit_spec

    _optuna()
    for option, path, suffix in (("--save", args.save, ".toml"), ("--figure", args.figure, ".png")):
        if path is not None and not path.endswith(suffix):
            raise UserInputError(f"{option} {path}: must end in {suffix}")
    if args.posterior is not None and args.posterior < 0:
        raise UserInputError(f"--posterior {args.posterior}: must be 0 (no posterior) or more")
    spec = _with_options(
        load_fit_spec(example_path(args.file, "targets"), scenario_path(args.scenario)), args
    )
    _check_out(args.out)
    from sim.fit.calibrate import calibrate

    executor = _executor(args)
    try:
        print(
            f"{spec.name}: fitting {len(spec.parameters)} parameters to "
            f"{len(spec.targets)} targets, {spec.runs_text()} a trial ({spec.seeds_text()}), on "
            f"{executor.describe()}",
            flush=True,
        )
        result = calibrate(
            spec,
            args.out,
            executor,
            trials=args.trials,
            posterior=args.posterior,
            progress=progress_bar,
        )
    finally:
        executor.close()
    if result.interrupted:
        # Counted as the resumed command counts them: the fit's trials, and the posterior's
        # draws apart (a resumed fit names only its trials until the posterior starts).
        what = "trials" + (
            f" and {result.posterior_done} posterior draws" if result.posterior_done else ""
        )
        return _interrupted(args.out, result.trials_done, what)
    width = max(len(r["name"]) for r in result.targets)
    print(f"best of {result.trials_done} trials: chi2 {result.best_chi2:.3f}")
    print(
        f"{'target':<{width}}  {'observed (sd)':>18}  {'fitted [95% of runs]':>28}  "
        f"{'z':>6}" + ("  posterior 90%" if result.posterior else "")
    )
    for r in result.targets:
        line = (
            f"{r['name']:<{width}}  {_g(r['observed']):>9} ({_g(r['sd']):>6})  "
            f"{_g(r['fitted']):>9} [{_g(r['runs_low'])}, {_g(r['runs_high'])}]".ljust(width + 50)
            + f"  {r['z']:+6.2f}"
        )
        if "posterior_low" in r:
            line += f"  [{_g(r['posterior_low'])}, {_g(r['posterior_high'])}]"
        if r["effect"]:
            line += "  (effect: 95% CI of the paired mean)"
        print(line)
    if len(result.targets[0]["by_seed"]) > 1:
        seeds = list(result.targets[0]["by_seed"])
        cells = [max(len(s), 9) for s in seeds]
        print("mean per seed at the best trial:")
        print(
            f"{'target':<{width}}  "
            + "  ".join(f"{s:>{c}}" for s, c in zip(seeds, cells, strict=True))
        )
        for r in result.targets:
            print(
                f"{r['name']:<{width}}  "
                + "  ".join(
                    f"{_g(m):>{c}}" for m, c in zip(r["by_seed"].values(), cells, strict=True)
                )
            )
    kwidth = max(len(k) for k in result.best)
    print(
        "fitted values" + (" and posterior (mean; 90% interval)" if result.posterior else "") + ":"
    )
    for key, value in result.best.items():
        line = f"  {key:<{kwidth}}  {_g(value)}"
        post = result.posterior.get(key)
        if post and "q05" in post:
            line += f"   posterior {_g(post['mean'])}; [{_g(post['q05'])}, {_g(post['q95'])}]"
        elif post:
            line += "   posterior " + ", ".join(f"{k}: {v:.2f}" for k, v in post.items())
        print(line)
    if result.posterior:
        print(
            f"posterior: {result.posterior_done} draws from the prior within the box where "
            f"the fit came close, effective sample size "
            f"{result.ess:.1f}"
            + ("; few draws carry it: give more with --posterior" if result.ess < 30 else "")
        )
    for path in result.files:
        print(f"wrote {path}")
    _copies(args)
    return 0


def _copies(args: argparse.Namespace) -> None:
    """``--save`` and ``--figure``: the fitted scenario (renamed) and the figure, elsewhere."""
    import re
    from pathlib import Path

    from sim.output.atomic import write_bytes_atomic, write_text_atomic

    out = Path(args.out)
    if args.save:
        name = Path(args.save).stem
        text = (out / "calibrated.toml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^name = .*$", f"name = {_quote(name)}", text, count=1)
        write_text_atomic(args.save, text, "--save")
        print(f"wrote {args.save}")
    if args.figure:
        write_bytes_atomic(args.figure, (out / "fit.png").read_bytes(), "--figure")
        print(f"wrote {args.figure}")


def _quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _cmd_optimize(args: argparse.Namespace) -> int:
    from sim.cli.options import example_path, progress_bar, scenario_path
    from sim.fit.spec import load_search_spec

    _optuna()
    spec = _with_options(
        load_search_spec(example_path(args.file, "search"), scenario_path(args.scenario)), args
    )
    _check_out(args.out)
    from sim.fit.optimize import optimize

    executor = _executor(args)
    try:
        print(
            f"{spec.name}: searching {len(spec.parameters)} parameters for "
            f"{len(spec.objectives)} objective{'s' if len(spec.objectives) > 1 else ''}"
            f", {spec.runs_text()} a trial ({spec.seeds_text()}), on {executor.describe()}",
            flush=True,
        )
        result = optimize(spec, args.out, executor, trials=args.trials, progress=progress_bar)
    finally:
        executor.close()
    if result.interrupted:
        return _interrupted(args.out, result.trials_done, "trials")
    onames = [o.name for o in spec.objectives]
    print(
        f"{result.trials_done} trials, {result.feasible} within the constraints; "
        f"Pareto front: {len(result.front)} polic{'y' if len(result.front) == 1 else 'ies'}"
    )
    cols = [p.key for p in spec.parameters] + onames
    shown = ([("base", result.base)] if result.base is not None else []) + [
        (f"best_{k}" if k <= 10 else f"#{k}", r) for k, r in enumerate(result.front, 1)
    ]
    print("  ".join(["policy  "] + cols))
    for label, r in shown:
        print(
            "  ".join([f"{label:<8}"] + [f"{_g(r[c]):>{len(c)}}" for c in cols])
            + ("" if r["feasible"] else "  (beyond the constraints)")
        )
    if not result.front:
        print("no trial met the constraints: loosen them, or widen the ranges")
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _g(x) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)

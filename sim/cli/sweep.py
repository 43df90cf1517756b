"""``outreach sweep``: run a sweep spec, show its progress, analyse its results.

Three forms share one parser, told apart by the first word::

    outreach sweep SPEC --out DIR [--workers N | --scheduler ADDRESS | --dask-local N]
    outreach sweep status DIR
    outreach sweep analyze DIR [--metric NAME ...] [--pair X Y] [--analysis-dir FOLDER]

:func:`register` only adds the parser; numpy, numba, dask, pyarrow and matplotlib are
imported inside the command.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from sim.errors import UserInputError

__all__ = ["register"]

_USAGE = """\
outreach sweep SPEC --out DIR [--workers N | --scheduler ADDRESS | --dask-local N]
                    [--batch N] [--chunk-rows N]
       outreach sweep status DIR
       outreach sweep analyze DIR [--metric NAME ...] [--pair X Y] [--analysis-dir FOLDER]"""

_EPILOG = """\
examples:
  outreach sweep sensitivity --out runs/sensitivity --workers 2
  outreach sweep status runs/sensitivity
  outreach sweep analyze runs/sensitivity
  dask scheduler --host 127.0.0.1 --port 8786 &  dask worker tcp://127.0.0.1:8786 --nthreads 1 &
  outreach sweep sensitivity --out runs/sensitivity \\
      --scheduler tcp://127.0.0.1:8786

SPEC names its base scenario with base = "baseline" (a shipped scenario's name) or a file
relative to the spec; sensitivity is a shipped example (sim/examples/sensitivity.toml).
Each run's seed derives from the spec's root seed, the point and the replicate, so the results
are the same whatever the executor and the number of workers. Interrupted (Ctrl-C, a lost
worker or node)? Run the same command again: it skips the runs stored and loses nothing.
"""

_ACTIONS = ("status", "analyze")
_RUN_ONLY = ("out", "workers", "scheduler", "dask_local", "batch", "chunk_rows")
_ANALYZE_ONLY = ("metric", "pair", "analysis_dir")


def register(subparsers) -> None:
    """Add ``outreach sweep`` to the CLI."""
    from sim.cli.options import positive_int

    p = subparsers.add_parser(
        "sweep",
        usage=_USAGE,
        help="run a parameter sweep; its status; its analysis",
        description="Run the design of a sweep spec (grid, Latin hypercube or Sobol) over a "
        "base scenario,\non local processes or a Dask cluster, into a resumable "
        "Parquet dataset; show its\nprogress; analyse it (summaries with 95% "
        "intervals, Sobol indices, heatmaps).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "first",
        metavar="SPEC|status|analyze",
        help="a sweep spec (TOML) or a shipped example's name (sensitivity) to "
        "run, or 'status' or 'analyze'",
    )
    p.add_argument(
        "folder", nargs="?", metavar="DIR", help="with status or analyze: the sweep folder"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="sweep folder for the results (created; resumed if it holds this sweep)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local worker processes (default: all cores)",
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
        help="start a local Dask cluster of N worker processes and run on it",
    )
    p.add_argument(
        "--batch",
        type=positive_int,
        metavar="N",
        help="runs per task (default: about 16 tasks per worker, at most 32 runs)",
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        metavar="N",
        help="runs per Parquet chunk written (default 1000; chunks are also written every 10 s)",
    )
    p.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="analyze: a metric to analyse (repeatable; default: all kept)",
    )
    p.add_argument(
        "--pair",
        nargs=2,
        metavar=("X", "Y"),
        help="analyze, grids: the two parameters of the heatmaps",
    )
    p.add_argument(
        "--analysis-dir",
        metavar="FOLDER",
        help="analyze: where to write tables and figures (default DIR/analysis)",
    )
    p.set_defaults(func=_cmd_sweep)


def _given(args: argparse.Namespace, names) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) is not None]


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.first in _ACTIONS:
        if args.folder is None:
            raise UserInputError(
                f"sweep {args.first}: give the sweep folder, e.g. "
                f"outreach sweep {args.first} runs/sensitivity"
            )
        wrong = _given(args, _RUN_ONLY)
        if args.first == "status":
            wrong += _given(args, _ANALYZE_ONLY)
        if wrong:
            raise UserInputError(
                f"sweep {args.first}: {wrong[0]} is not an option of 'outreach sweep {args.first}'"
            )
        _need_extra(("pyarrow",) if args.first == "status" else ("pyarrow", "pandas", "SALib"))
        return _status(args) if args.first == "status" else _analyze(args)
    if args.folder is not None:
        raise UserInputError(
            f"sweep {args.first} {args.folder}: one spec at a time; give "
            "the results folder with --out DIR (or use 'status' or "
            "'analyze' DIR)"
        )
    wrong = _given(args, _ANALYZE_ONLY)
    if wrong:
        raise UserInputError(f"sweep: {wrong[0]} is an option of 'outreach sweep analyze'")
    if args.out is None:
        raise UserInputError(f"sweep {args.first}: give the results folder with --out DIR")
    # Checked before the spec is read and the folder made: a sweep that cannot store its runs
    # must leave nothing behind (a lock file and a manifest without runs block the folder).
    _need_extra(
        ("pyarrow", "SALib")
        if not (args.scheduler or args.dask_local)
        else ("pyarrow", "SALib", "distributed")
    )
    return _run(args)


def _need_extra(modules) -> None:
    """Refuse, in one line, a sweep command whose extra is not installed.

    Raises:
        UserInputError: one of ``modules`` cannot be imported; the message names it and the
            ``sweep`` extra that brings it.
    """
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise UserInputError(
                f"outreach sweep needs the sweep extra ({name} is not installed): "
                "pip install 'peer-outreach[sweep]'"
            ) from None


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.cli.options import example_path, progress_bar
    from sim.cli.resources import warn_before_sweep, warn_workers
    from sim.ensemble.replicates import default_workers
    from sim.sweep.design import make_design
    from sim.sweep.executors import DaskExecutor, LocalExecutor, run_sweep, shares_worlds
    from sim.sweep.spec import load_spec
    from sim.sweep.store import Store, manifest_for

    spec = load_spec(example_path(args.first, "sweep spec"))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out}: is a file; give a folder for the sweep")
    design = make_design(
        spec.design,
        spec.parameters,
        samples=spec.samples,
        seed=spec.seed,
        second_order=spec.second_order,
    )
    print(f"{spec.name}: {design.describe(spec.replicates)}")
    if shares_worlds(design.keys):
        print(
            f"worlds: shared, replicate r of all {len(design.points):,} points lives in one "
            "world (the design varies no population, network or clients setting), built "
            "once per worker process"
        )
    # The folders this command makes, deepest first: removed again if the sweep cannot start.
    made = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)  # --out runs/x makes runs/ as well
    except OSError as err:
        raise UserInputError(
            f"--out {out}: cannot create folder {out.parent} ({err.strerror})"
        ) from None
    try:
        store, resumed = Store.create_or_resume(out, manifest_for(spec, design))
    except BaseException:
        _remove_made(made)
        raise
    executor = None
    try:
        done = len(store.done())
        total = store.total_runs
        if resumed:
            print(f"resuming {out}: {done:,} of {total:,} runs already stored")
        if done >= total:
            print(f"nothing to do: all {total:,} runs are stored in {out}")
            return 0
        local = None if args.scheduler or args.dask_local else (args.workers or default_workers())
        warn_workers(args.workers)
        warn_workers(args.dask_local, "--dask-local")
        warn_before_sweep(spec, total - done, local or args.dask_local)
        try:
            if args.scheduler:
                executor = DaskExecutor(address=args.scheduler)
            elif args.dask_local:
                executor = DaskExecutor(local=args.dask_local)
            else:
                executor = LocalExecutor(local)
        except BaseException:
            if not resumed:  # a sweep that never started leaves no folder behind
                store.close()
                _remove_made(made)
            raise
        print(f"running on {executor.describe()}", flush=True)
        with _terminate_as_interrupt() as terminated:
            outcome = run_sweep(
                store,
                executor,
                batch_size=args.batch,
                chunk_rows=args.chunk_rows or 1000,
                progress=progress_bar(spec.name),
            )
    finally:
        if executor is not None:
            try:
                executor.close()
            except Exception:  # noqa: BLE001 (closing must not hide the sweep's outcome)
                pass
        store.close()
    stored = outcome.skipped + outcome.written
    if outcome.interrupted:
        how = "terminated" if terminated.is_set() else "interrupted"
        print(
            f"outreach: {how}: {stored:,} of {outcome.total:,} runs stored in {out}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 143 if terminated.is_set() else 130
    rate = outcome.written / outcome.seconds if outcome.seconds > 0 else float("nan")
    print(
        f"done: {outcome.written:,} runs in {outcome.seconds:.1f} s ({rate:.1f} runs/s); "
        f"{stored:,} of {outcome.total:,} runs stored in {out}"
    )
    print(f"next: outreach sweep analyze {out}")
    return 0


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Within the block, SIGTERM stops the sweep as Ctrl-C does.

    A sweep ended by ``kill`` (a batch system's time limit, a shutdown) then stores the runs
    it finished, stops its worker processes and their semaphores cleanly, and exits with
    143, the status of a process ended by SIGTERM. Outside the main thread, where no signal
    handler can be set, SIGTERM keeps its usual effect.

    Yields:
        An event, set once SIGTERM arrived.
    """
    import signal
    import threading

    terminated = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def on_terminate(signum, frame):
        if not terminated.is_set():  # a second SIGTERM during the wind-down changes nothing
            terminated.set()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove_made(made) -> None:
    """Remove the folders a sweep made before it could start (deepest first)."""
    import shutil

    for i, folder in enumerate(made):
        if i == 0:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            try:
                folder.rmdir()
            except OSError:  # not empty: something else is in it now
                break


def _status(args: argparse.Namespace) -> int:
    from sim.sweep.store import Store

    s = Store.open(args.folder).status()
    share = 100.0 * s["runs_done"] / s["runs_total"] if s["runs_total"] else 100.0
    print(
        f"sweep {s['name']!r}: {s['design']} design, created {s['created']} "
        f"(peer-outreach {s['package_version']})"
    )
    print(f"runs:   {s['runs_done']:,} of {s['runs_total']:,} done ({share:.1f}%)")
    print(
        f"points: {s['points_complete']:,} of {s['points']:,} complete "
        f"({s['replicates']} replicates each)"
    )
    print(
        f"chunks: {s['chunks']:,} ({s['rows_written']:,} rows, {s['duplicates']:,} "
        "duplicates ignored)"
    )
    if s["runs_done"] < s["runs_total"]:
        print("incomplete: run `outreach sweep SPEC --out DIR` again to finish it")
    else:
        print(f"complete: outreach sweep analyze {args.folder}")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from sim.sweep.analyze import analyze_store

    result = analyze_store(args.folder, args.analysis_dir, metrics=args.metric, pair=args.pair)
    print(
        f"{result['runs_done']:,} of {result['runs_total']:,} runs, "
        f"{len(result['summary']):,} points"
    )
    indices = result["indices"]
    if indices is not None and not indices.empty:
        print("Sobol indices (95% interval half-widths):")
        width = max(len(p) for p in indices["parameter"])
        for metric, table in indices.groupby("metric", sort=False):
            print(f"  {metric}")
            for _, r in table.sort_values("ST", ascending=False).iterrows():
                print(
                    f"    {r['parameter']:<{width}}  S1 {r['S1']:6.3f} ± {r['S1_conf']:.3f}"
                    f"   ST {r['ST']:6.3f} ± {r['ST_conf']:.3f}"
                )
    for note in result["notes"]:
        print(f"note: {note}")
    for path in result["files"]:
        print(f"wrote {path}")
    return 0

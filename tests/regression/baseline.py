"""The regression baseline: key metrics of two shipped scenarios at a fixed seed, and its update.

``tests/regression/key_metrics.json`` holds every metric of :data:`sim.model.metrics.METRICS`,
replicate by replicate, for two scenarios of the library that exercise different mechanisms:

- ``peers_from_clients``: the big city's mixed team, two localities, referral chains, and
  distant peers recruited from clients engaged for eight weeks (recruitment during the run);
- ``small_town_online``: one stigma-heavy town where every peer also makes contacts online.

Both run a full year (replacement of peers who withdrew after exhaustion needs months to show)
with :data:`REPLICATES` replicates on the seed :data:`SEED`; on the project's machine that takes
about half a second after numba's compilation. The file also records the package's version, the
settings, a digest of each scenario's parameters and the numeric libraries' versions, so a
failed check says where the numbers moved and what else changed.

``tests/regression/test_regression.py`` recomputes the metrics and compares them with the file
(importing this module, as ``experiments/regression.py`` does for the command below). A
deliberate change of the model or of a shipped scenario moves them; then update the file and
commit it with the change, so its diff shows what the change did::

    python experiments/regression.py            # check: exit 1 and a table of differences
    python experiments/regression.py --update   # rewrite the file; print what moved, by mean

Run it from the repository root (or anywhere: it finds the checkout from its own path).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]

#: The recorded file, in the repository.
BASELINE_FILE = ROOT / "tests" / "regression" / "key_metrics.json"
#: The one command that rewrites it.
UPDATE_COMMAND = "python experiments/regression.py --update"

#: Shipped scenarios, by name, that the file records.
SCENARIOS = ("peers_from_clients", "small_town_online")
#: Root seed of every replicate's streams (set explicitly, not taken from the scenario files).
SEED = 20261123
#: Weeks simulated: a year, so withdrawals and replacements happen.
WEEKS = 52
#: Replicates of each scenario: enough to see several outcomes of each random process.
REPLICATES = 4

#: Relative tolerance of the check. A run is deterministic given its seed, but a sum of floats
#: whose terms are added in another order (numpy's pairwise and SIMD summation on another CPU
#: or numpy version, numba's vectorisation, a refactor that sums the same terms differently)
#: can move the last bits, about 1e-16 relative per operation. 1e-9 leaves ample room for that
#: while any change of the model's behaviour moves a count by at least one client or peer,
#: 1e-4 relative or more at these sizes, and shows.
RELATIVE_TOLERANCE = 1e-9
#: Absolute tolerance, for a value that is zero in one run and a rounding residue in the other.
ABSOLUTE_TOLERANCE = 1e-12


def update_command(path: Path = BASELINE_FILE) -> str:
    """The command that rewrites ``path``."""
    if path.resolve() == BASELINE_FILE.resolve():
        return UPDATE_COMMAND
    return f"{UPDATE_COMMAND} --file {path}"


def settings() -> dict[str, Any]:
    """The settings the recorded numbers were computed with."""
    return {"replicates": REPLICATES, "scenarios": list(SCENARIOS), "seed": SEED, "weeks": WEEKS}


def _scenario(name: str):
    from sim.cli.options import scenarios_folder
    from sim.model.scenario import load_scenario

    return load_scenario(
        scenarios_folder() / f"{name}.toml",
        {"run.seed": SEED, "run.weeks": WEEKS, "run.replicates": REPLICATES},
    )


def _digest(scenario) -> str:
    """A short digest of a scenario's parameters: it changes when any parameter does."""
    from sim.model.scenario import scenario_to_dict

    text = json.dumps(scenario_to_dict(scenario), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _environment() -> dict[str, str]:
    import numba
    import numpy

    return {
        "numba": numba.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def compute() -> dict[str, Any]:
    """Run the scenarios and return the record that the file holds.

    Returns:
        ``{"package_version", "settings", "environment", "scenarios": {name: {"parameters",
        "metrics": {metric: [value of each replicate]}}}}``.
    """
    import sim
    from sim.ensemble.replicates import run_ensemble

    scenarios = {}
    for name in SCENARIOS:
        scenario = _scenario(name)
        # One worker: the replicates are the same with any number, and one thread keeps the
        # check's timing predictable on a busy machine.
        result = run_ensemble(scenario, REPLICATES, workers=1)
        metrics = {
            metric: [r.metrics[metric] for r in result.runs] for metric in result.runs[0].metrics
        }
        scenarios[name] = {"parameters": _digest(scenario), "metrics": metrics}
    return {
        "package_version": sim.__version__,
        "settings": settings(),
        "environment": _environment(),
        "scenarios": scenarios,
    }


# --------------------------------------------------------------------------- the file


def _number(x: float) -> str:
    # JSON has no NaN; a metric that is undefined in a run (a share of nothing) is null.
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "null"
    if isinstance(x, int) or (x.is_integer() and abs(x) < 2**53):
        return str(int(x))  # counts read as counts; they load back as equal numbers
    return repr(x)  # the shortest text that reads back as the same float


def _format(value: Any, indent: int) -> str:
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(k)}: {_format(value[k], indent + 1)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        # A list on one line, so each metric with its replicates is one line of a diff.
        return "[" + ", ".join(_format(v, indent + 1) for v in value) + "]"
    if isinstance(value, bool) or isinstance(value, str):
        return json.dumps(value)
    if value is None or isinstance(value, (int, float)):
        return _number(value)
    raise TypeError(f"cannot write {type(value).__name__} to the regression file")


def dumps(record: dict[str, Any]) -> str:
    """The file's text: JSON with sorted keys, one metric (all its replicates) per line."""
    return _format(record, 0) + "\n"


def read_record(path: Path) -> dict[str, Any]:
    """Read a recorded file.

    Raises:
        UserInputError: the file is missing, is not JSON, or lacks the expected tables.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(
            f"{_relative(path)}: no such file; create it with {update_command(path)}"
        ) from None
    except OSError as err:
        raise UserInputError(f"{_relative(path)}: cannot be read ({err.strerror})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserInputError(
            f"{_relative(path)}: not valid JSON (line {err.lineno}: {err.msg}); "
            f"rewrite it with {update_command(path)}"
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("scenarios"), dict):
        raise UserInputError(
            f"{_relative(path)}: has no 'scenarios' table; rewrite it with {update_command(path)}"
        )
    return record


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write the record atomically (the old file or the whole new one, never half)."""
    from sim.output.atomic import write_text_atomic

    write_text_atomic(path, dumps(record), what="regression file")


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Difference:
    """One value that moved: a metric of one replicate of one scenario."""

    scenario: str
    metric: str
    replicate: int
    old: float | None
    new: float | None


def _value(x: Any) -> float:
    return float("nan") if x is None else float(x)


def same(old: Any, new: Any) -> bool:
    """Whether two recorded values agree within the tolerances (two undefined values agree)."""
    a, b = _value(old), _value(new)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def compare(
    recorded: dict[str, Any], current: dict[str, Any]
) -> tuple[list[Difference], list[str]]:
    """Differences between a recorded file and freshly computed numbers.

    Returns:
        ``(differences, problems)``: each value that moved beyond the tolerances, and what
        makes the two not comparable value by value (other settings, a scenario or a metric
        present on one side only, another number of replicates). Either fails the check.
    """
    problems: list[str] = []
    if recorded.get("settings") != current["settings"]:
        problems.append(
            f"settings differ: recorded {recorded.get('settings')}, now {current['settings']}"
        )
    diffs: list[Difference] = []
    old_scenarios, new_scenarios = recorded["scenarios"], current["scenarios"]
    for name in sorted(set(old_scenarios) | set(new_scenarios)):
        if name not in new_scenarios or name not in old_scenarios:
            where = "recorded only" if name in old_scenarios else "new, not recorded"
            problems.append(f"scenario {name}: {where}")
            continue
        old_metrics = old_scenarios[name].get("metrics", {})
        new_metrics = new_scenarios[name]["metrics"]
        for metric in sorted(set(old_metrics) | set(new_metrics)):
            if metric not in new_metrics or metric not in old_metrics:
                where = "recorded only" if metric in old_metrics else "new, not recorded"
                problems.append(f"{name} {metric}: {where}")
                continue
            old, new = old_metrics[metric], new_metrics[metric]
            if len(old) != len(new):
                problems.append(f"{name} {metric}: {len(old)} replicates recorded, {len(new)} now")
            for rep, (a, b) in enumerate(zip(old, new, strict=False)):
                if not same(a, b):
                    diffs.append(Difference(name, metric, rep, a, b))
    return diffs, problems


def notes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What changed beside the numbers: version, libraries, scenario parameters (no failure)."""
    out = []
    if recorded.get("package_version") != current["package_version"]:
        out.append(
            f"package version: recorded {recorded.get('package_version')}, "
            f"now {current['package_version']}"
        )
    old_env = recorded.get("environment", {})
    for lib, version in current["environment"].items():
        if old_env.get(lib) != version:
            out.append(f"{lib}: recorded {old_env.get(lib)}, now {version}")
    for name, entry in current["scenarios"].items():
        old = recorded["scenarios"].get(name, {}).get("parameters")
        if old is not None and old != entry["parameters"]:
            out.append(
                f"scenario {name}: its parameters changed (sim/scenarios/{name}.toml or "
                "a parameter's default)"
            )
    return out


def _shown(x: Any) -> str:
    v = _value(x)
    if math.isnan(v):
        return "undefined"
    return f"{v:.10g}"


def _change(old: Any, new: Any) -> str:
    a, b = _value(old), _value(new)
    if math.isnan(a) or math.isnan(b):
        return ""
    delta = f"{b - a:+.6g}"
    return f"{delta} ({(b - a) / abs(a):+.2%})" if a != 0 else delta


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)


def format_differences(diffs: list[Difference]) -> str:
    """A table of the values that moved: scenario, metric, replicate, recorded, now, change."""
    rows = [
        (
            d.scenario,
            d.metric,
            str(d.replicate),
            _shown(d.old),
            _shown(d.new),
            _change(d.old, d.new),
        )
        for d in diffs
    ]
    return _table(("scenario", "metric", "replicate", "recorded", "now", "change"), rows)


def _mean(values: list[Any]) -> float:
    finite = [v for v in map(_value, values) if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def moved_means(recorded: dict[str, Any], current: dict[str, Any]) -> str:
    """A table of the metrics whose replicates moved: scenario, metric, old mean, new mean."""
    diffs, _ = compare(recorded, current) if "scenarios" in recorded else ([], [])
    rows = []
    for name, metric in sorted({(d.scenario, d.metric) for d in diffs}):
        old = _mean(recorded["scenarios"][name]["metrics"][metric])
        new = _mean(current["scenarios"][name]["metrics"][metric])
        rows.append((name, metric, _shown(old), _shown(new), _change(old, new)))
    if not rows:
        return ""
    return _table(("scenario", "metric", "old mean", "new mean", "change"), rows)


def check_report(recorded: dict[str, Any], current: dict[str, Any], path: Path) -> str | None:
    """The message of a failed check, or None when the numbers agree."""
    diffs, problems = compare(recorded, current)
    if not diffs and not problems:
        return None
    lines = [
        f"the key metrics differ from {_relative(path)} "
        f"(relative tolerance {RELATIVE_TOLERANCE:g}):"
    ]
    lines += [f"  {p}" for p in problems]
    if diffs:
        lines.append(format_differences(diffs))
    lines += [f"  note: {n}" for n in notes(recorded, current)]
    lines.append(
        f"If the model or a scenario changed on purpose, update the file: {update_command(path)}"
    )
    return "\n".join(lines)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- command


def run(update: bool, path: Path) -> int:
    """Check the file against fresh numbers, or rewrite it; returns the exit status."""
    if update:
        recorded = None
        if path.exists():
            try:
                recorded = read_record(path)
            except UserInputError as err:
                print(f"the old file cannot be compared ({err}); writing a new one")
        current = compute()
        write_record(path, current)
        print(
            f"wrote {_relative(path)}: {len(SCENARIOS)} scenarios x {REPLICATES} replicates, "
            f"seed {SEED}, {WEEKS} weeks, version {current['package_version']}"
        )
        if recorded is None:
            return 0
        _, problems = compare(recorded, current)
        for p in problems:
            print(f"  {p}")
        for n in notes(recorded, current):
            print(f"  note: {n}")
        moved = moved_means(recorded, current)
        print(f"what moved:\n{moved}" if moved else "no metric moved")
        return 0
    recorded = read_record(path)
    current = compute()
    message = check_report(recorded, current, path)
    if message is None:
        print(
            f"{_relative(path)}: the key metrics agree ({len(SCENARIOS)} scenarios x "
            f"{REPLICATES} replicates, relative tolerance {RELATIVE_TOLERANCE:g})"
        )
        return 0
    print(message)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check the regression baseline of key metrics, or rewrite it (--update)."
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="rewrite the file with fresh numbers and print what moved",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=BASELINE_FILE,
        help=f"the recorded file (default: {_relative(BASELINE_FILE)})",
    )
    args = parser.parse_args(argv)
    try:
        return run(args.update, args.file)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

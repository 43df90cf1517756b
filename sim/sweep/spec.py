"""Sweep specs: which scenario, which parameters, which design, validated like scenarios.

A sweep spec is a TOML file::

    name = "sensitivity"
    description = "What drives linkage and burnout"
    base = "baseline"                      # a shipped scenario, or a file relative to this one
    design = "sobol"                       # grid | lhs | sobol
    samples = 64                           # lhs: points; sobol: base samples N
    second_order = false                   # sobol: also second-order indices
    replicates = 2                         # runs per point
    seed = 20261123                        # root seed of every run's streams
    metrics = ["clients_linked", "peers_exhausted_fraction"]

    [set]                                  # fixed overrides of the base scenario
    "population.size" = 2000

    [parameters]                           # by dotted scenario key
    "services.p_attend" = { range = [0.2, 0.6] }
    "close_peers.count" = { levels = [5, 10, 15] }

Every problem is reported as one line naming the file, the key, the bad value and what is
allowed; :func:`load_spec` raises :class:`SpecError` listing them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import UserInputError

__all__ = ["DESIGNS", "Parameter", "SpecError", "SweepSpec", "load_spec", "spec_from_dict"]

#: Experiment designs: full factorial grid, Latin hypercube, Sobol/Saltelli.
DESIGNS = ("grid", "lhs", "sobol")

_TOP_KEYS = (
    "name",
    "description",
    "base",
    "design",
    "samples",
    "second_order",
    "replicates",
    "seed",
    "metrics",
    "set",
    "parameters",
)
_MAX_POINTS = 10_000_000


class SpecError(UserInputError):
    """A sweep spec that does not validate; ``problems`` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(frozen=True)
class Parameter:
    """One varied parameter: a dotted scenario key with levels (grid) or a range.

    Attributes:
        key: dotted scenario key, e.g. ``services.p_attend``.
        levels: the values a grid takes, in order (None for a range).
        lo: lower end of the range (None for levels).
        hi: upper end of the range (None for levels).
        integer: the scenario parameter is a whole number, so sampled values are rounded.
    """

    key: str
    levels: tuple[Any, ...] | None = None
    lo: float | None = None
    hi: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec.

    Attributes:
        name: short name of the study.
        description: one line on what it asks.
        source: the spec file.
        base_path: the base scenario file.
        base: the base scenario with the ``[set]`` overrides applied (a ``Scenario``).
        fixed: the ``[set]`` overrides.
        parameters: the varied parameters, in file order.
        design: one of :data:`DESIGNS`.
        samples: Latin-hypercube points, or Sobol base samples N.
        second_order: Sobol only: sample for second-order indices too.
        replicates: runs per design point.
        seed: root seed; each run's seed derives from it, the point and the replicate.
        metrics: the metrics kept, each a key of :data:`sim.model.metrics.METRICS`.
    """

    name: str
    description: str
    source: str
    base_path: str
    base: Any
    fixed: Mapping[str, Any]
    parameters: tuple[Parameter, ...]
    design: str
    samples: int
    second_order: bool
    replicates: int
    seed: int
    metrics: tuple[str, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


def _flatten(table: Mapping[str, Any], prefix: str, is_leaf) -> dict[str, Any]:
    """Dotted keys of a nested TOML table; a leaf is a non-table or a table ``is_leaf`` accepts.

    TOML's bare dotted keys (``services.p_attend = ...``) make nested tables; quoted keys
    (``"services.p_attend" = ...``) do not. Both spell the same dotted key here.
    """
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not is_leaf(value):
            out.update(_flatten(value, dotted + ".", is_leaf))
        else:
            out[dotted] = value
    return out


def _value_at(data: Any, key: str) -> Any:
    """The value at a dotted key of a plain scenario table (list items by index), or KeyError."""
    node = data
    for part in key.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(key)
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_int(
    data: Mapping[str, Any],
    key: str,
    lo: int,
    hi: int,
    default: int | None,
    where: str,
    problems: list[str],
) -> int:
    value = data.get(key, default)
    if value is None:
        problems.append(f"{where}: {key}: missing; must be a whole number in [{lo}, {hi}]")
        return lo
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.append(f"{where}: {key} = {value!r}: must be a whole number in [{lo}, {hi}]")
        return lo
    return value


def _parameter(
    key: str, value: Any, base_data: Mapping[str, Any], design: str, where: str, problems: list[str]
) -> Parameter | None:
    """Validate one ``[parameters]`` entry (shape only; values are checked on the scenario)."""
    at = f"{where}: parameters.{key}"
    if not isinstance(value, Mapping):
        problems.append(
            f"{at} = {value!r}: must be a table {{ levels = [...] }} or {{ range = [lo, hi] }}"
        )
        return None
    unknown = sorted(set(value) - {"levels", "range"})
    if unknown:
        problems.append(f"{at}.{unknown[0]}: unknown key; allowed here: levels, range")
        return None
    if ("levels" in value) == ("range" in value):
        problems.append(f"{at} = {dict(value)!r}: give exactly one of levels or range")
        return None
    try:
        current = _value_at(base_data, key)
    except KeyError:
        problems.append(
            f"{at}: not a parameter of the base scenario (`outreach params` lists the dotted keys)"
        )
        return None
    if isinstance(current, (Mapping, list)):
        problems.append(
            f"{at}: is a table or list in the scenario; vary one of its values "
            "(e.g. population.localities.0.stigma)"
        )
        return None
    integer = isinstance(current, int) and not isinstance(current, bool)
    if "levels" in value:
        levels = value["levels"]
        if design != "grid":
            problems.append(
                f"{at}.levels: the {design!r} design samples ranges; give "
                "range = [lo, hi] (levels are for design = 'grid')"
            )
            return None
        if not isinstance(levels, list) or not levels:
            problems.append(f"{at}.levels = {levels!r}: must be a non-empty list")
            return None
        if len({repr(v) for v in levels}) != len(levels):
            problems.append(f"{at}.levels = {levels!r}: levels must be distinct")
            return None
        return Parameter(key, levels=tuple(levels), integer=integer)
    rng = value["range"]
    if design == "grid":
        problems.append(
            f"{at}.range: the 'grid' design needs levels = [...]; ranges are for 'lhs' and 'sobol'"
        )
        return None
    if (
        not isinstance(rng, list)
        or len(rng) != 2
        or not all(_is_number(x) for x in rng)
        or isinstance(current, (str, bool))
    ):
        problems.append(
            f"{at}.range = {rng!r}: must be [lo, hi], two numbers, for a numeric parameter"
        )
        return None
    lo, hi = rng
    if not lo < hi:
        problems.append(f"{at}.range = {rng!r}: lo must be below hi")
        return None
    if integer and not (float(lo).is_integer() and float(hi).is_integer()):
        problems.append(f"{at}.range = {rng!r}: {key} is a whole number; give whole-number bounds")
        return None
    return Parameter(
        key,
        lo=int(lo) if integer else float(lo),
        hi=int(hi) if integer else float(hi),
        integer=integer,
    )


def spec_from_dict(data: Mapping[str, Any], source: str = "<spec>") -> SweepSpec:
    """Validate a sweep spec table.

    Args:
        data: the TOML table.
        source: the spec file (relative ``base`` paths are resolved against its folder).

    Returns:
        The validated spec.

    Raises:
        SpecError: every problem, one line each, the first in the message.
        UserInputError: the base scenario cannot be read or does not validate.
    """
    from sim.model.metrics import METRICS
    from sim.model.scenario import load_scenario, scenario_to_dict

    where = source
    problems: list[str] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(
                f"{where}: {key}: unknown key; allowed here: " + ", ".join(sorted(_TOP_KEYS))
            )
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: name = {name!r}: must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{where}: description = {description!r}: must be a string")
    design = data.get("design")
    if design not in DESIGNS:
        problems.append(
            f"{where}: design = {design!r}: must be one of " + ", ".join(repr(d) for d in DESIGNS)
        )
    replicates = _check_int(data, "replicates", 1, 100_000, 1, where, problems)
    seed = _check_int(data, "seed", 0, 2**63 - 1, None, where, problems)
    samples = 0
    if design in ("lhs", "sobol"):
        samples = _check_int(
            data, "samples", 2 if design == "sobol" else 1, 1_000_000, None, where, problems
        )
        if design == "sobol" and samples & (samples - 1):
            problems.append(
                f"{where}: samples = {samples}: a Sobol design needs a power of 2 "
                "(e.g. 64, 128, 256) to keep the sequence balanced"
            )
    elif design == "grid" and "samples" in data:
        problems.append(
            f"{where}: samples: only for design = 'lhs' or 'sobol' (a grid runs "
            "every combination of levels)"
        )
    second_order = data.get("second_order", False)
    if not isinstance(second_order, bool):
        problems.append(f"{where}: second_order = {second_order!r}: must be true or false")
    elif second_order and design != "sobol":
        problems.append(f"{where}: second_order = true: only for design = 'sobol'")
    metrics = data.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or not metrics:
        problems.append(f"{where}: metrics = {metrics!r}: must be a non-empty list of metric names")
        metrics = []
    for m in metrics:
        if m not in METRICS:
            problems.append(
                f"{where}: metrics: {m!r}: unknown metric; allowed: " + ", ".join(METRICS)
            )
    base_rel = data.get("base")
    if not isinstance(base_rel, str) or not base_rel:
        problems.append(
            f"{where}: base = {base_rel!r}: must name the base scenario: a "
            'shipped scenario\'s name (base = "baseline") or a TOML file, '
            "relative to the spec"
        )
    fixed_table = data.get("set", {})
    if not isinstance(fixed_table, Mapping):
        problems.append(
            f"{where}: set = {fixed_table!r}: must be a table of dotted scenario keys and values"
        )
        fixed_table = {}
    param_table = data.get("parameters", {})
    if not isinstance(param_table, Mapping) or not param_table:
        problems.append(
            f"{where}: parameters: must be a non-empty table of dotted scenario "
            "keys, each { levels = [...] } or { range = [lo, hi] }"
        )
        param_table = {}
    if problems or not isinstance(base_rel, str):
        raise SpecError(problems)

    base_path = Path(source).parent / base_rel
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / f"{base_rel}.toml"
    if not base_path.is_file() and Path(base_rel).name == base_rel and shipped.is_file():
        base_path = shipped  # a bare name of a shipped scenario, as the commands take it
    if not base_path.is_file():
        names = ", ".join(p.stem for p in sorted(shipped.parent.glob("*.toml")))
        raise SpecError(
            [
                f"{where}: base = {base_rel!r}: no such scenario file ({base_path}) "
                f"and no shipped scenario of that name (shipped: {names})"
            ]
        )
    fixed = _flatten(fixed_table, "", lambda _: False)
    try:
        base = load_scenario(base_path, fixed)
    except UserInputError as err:
        raise SpecError([f"{where}: base scenario with [set]: {err}"]) from None
    base_data = scenario_to_dict(base)

    is_leaf = lambda t: "levels" in t or "range" in t  # noqa: E731
    params: list[Parameter] = []
    for key, value in _flatten(param_table, "", is_leaf).items():
        if key in ("run.seed", "run.replicates"):
            problems.append(
                f"{where}: parameters.{key}: set by the sweep (seed, replicates), "
                "not a parameter to vary"
            )
            continue
        p = _parameter(key, value, base_data, design, where, problems)
        if p is not None:
            params.append(p)
    # Check every value a parameter can take on the base scenario: a key the scenario does not
    # know, or a bound outside the parameter's range, is reported as the scenario would.
    for p in params:
        values = p.levels if p.levels is not None else (p.lo, p.hi)
        for v in values:
            try:
                base.replace({p.key: v})
            except UserInputError as err:
                msg = getattr(err, "problems", [str(err)])[0]
                detail = msg.split(": ", 1)[-1]  # drop the scenario's source
                # A problem of this key alone says what it allows; one of several keys (the
                # peers against population.size) is kept whole, so it names them all.
                lead = f"{p.key} = {v!r}: "
                detail = detail[len(lead) :] if detail.startswith(lead) else detail
                problems.append(f"{where}: parameters.{p.key} = {v!r}: {detail}")
                break
    if design == "grid" and params:
        n = math.prod(len(p.levels) for p in params)
        if n > _MAX_POINTS:
            problems.append(
                f"{where}: parameters: the grid has {n:,} points; at most {_MAX_POINTS:,}"
            )
    if problems:
        raise SpecError(problems)
    return SweepSpec(
        name=name,
        description=description,
        source=str(source),
        base_path=str(base_path),
        base=base,
        fixed=fixed,
        parameters=tuple(params),
        design=design,
        samples=samples,
        second_order=second_order,
        replicates=replicates,
        seed=seed,
        metrics=tuple(metrics),
        raw=dict(data),
    )


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file.

    Raises:
        UserInputError: a missing or unreadable file, bad TOML, or a :class:`SpecError`.
    """
    from sim.model.scenario import read_toml

    return spec_from_dict(read_toml(path, "sweep spec file"), str(path))

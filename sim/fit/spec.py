"""Targets files (``outreach calibrate``) and search files (``outreach optimize``), validated.

A targets file says what a programme observed, each figure with its uncertainty, and which
parameters to fit within which ranges::

    name = "burnout"
    description = "One peer in three exhausted within a year (MIPA)"
    seed = 20261123        # root seed of every run (common random numbers across trials)
    replicates = 16        # runs per trial (per seed); the target is compared with their mean
    trials = 60            # default of --trials
    posterior = 0          # prior draws for the approximate-Bayesian posterior (0: none)

    [set]                  # fixed overrides of the scenario, as in a sweep spec
    "run.weeks" = 52

    [parameters]           # as in a sweep spec: ranges (and levels, for choices)
    "wellbeing.demand_per_hour" = { range = [0.001, 0.02] }

    [[target]]
    metric = "peers_exhausted_fraction"   # or expression = "...", or series = "contacted"
    value = 0.333                         #   with weeks = [...] and values = [...]
    sd = 0.05
    source = "MIPA (Rissanen & Jurvansuu 2017): every third peer exhausted"

Several seeds: ``seeds = [20261123, 7, 11, 13]`` instead of ``seed`` (never both) runs
``replicates`` runs of each seed in every trial, the same seeds and replicates for every trial
(still common random numbers), and each target is compared with the mean over all seeds x
replicates. One seed's runs share its world and its luck, so a fit on one seed may fit that
world; several seeds show whether the fit holds across worlds. The samplers' seeds derive
from the first seed, and the list is part of the fit's identity (a folder fitted on another
list is refused, not resumed).

A target may be the effect of a change (a paired contrast on common random numbers)::

    [[target]]
    name = "weekly vs monthly supervision"
    metric = "peers_exhausted_fraction"
    contrast = { from = { "wellbeing.supervision_every_weeks" = 4 },
                 to = { "wellbeing.supervision_every_weeks" = 1 } }
    value = -0.07
    sd = 0.03

Its measured value is ``mean(measure under to) - mean(measure under from)``, both variants of
the trial's scenario run on the same seed and replicate, so each run gives a paired
difference. ``from`` or ``to`` may be an empty table (the trial's scenario itself); their keys
are applied after the trial's fitted and tied values and are checked as ``[set]`` is (the
``run`` table's keys excepted: the seed, weeks and worlds pair the two sides' runs). Each
distinct table is run once per seed and replicate, shared between the targets that name it.
An effect target counts in the discrepancy as any other figure; its interval in the report is
the 95% confidence interval of the mean paired difference (sd of the differences / sqrt(n)).
A series target cannot be a contrast.

A search file names decision parameters, objectives and constraints::

    [parameters]
    "close_peers.count" = { range = [0, 30] }
    "close_peers.recruitment" = { levels = ["random", "degree"] }

    [[objective]]
    metric = "clients_linked"            # or expression = "..."
    direction = "maximize"

    constraints = ["cost_total <= 400000"]

The ``[parameters]`` tables are validated by the sweep spec's own code
(:func:`sim.sweep.spec.spec_from_dict`), so a key, a range or a level is accepted or refused
exactly as ``outreach sweep`` would. Every problem is one line naming the file and the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import UserInputError
from sim.fit.expressions import Expression, compile_expression
from sim.sweep.spec import Parameter

__all__ = [
    "Constraint",
    "FitSpec",
    "Objective",
    "SearchSpec",
    "Target",
    "load_fit_spec",
    "load_search_spec",
]

_COMMON = ("name", "description", "seed", "seeds", "replicates", "trials", "set", "parameters")
_FIT_KEYS = (*_COMMON, "posterior", "tied", "target")
_SEARCH_KEYS = (*_COMMON, "population", "objective", "constraints")
_TARGET_KEYS = (
    "name",
    "metric",
    "expression",
    "series",
    "weeks",
    "values",
    "value",
    "sd",
    "sds",
    "source",
    "contrast",
)


@dataclass(frozen=True)
class Target:
    """One observed figure: what the model should give, within an uncertainty.

    Attributes:
        name: a label for tables and plots.
        expression: what is measured in each replicate (see :mod:`sim.fit.expressions`).
        value: the observed figure.
        sd: its uncertainty (one standard deviation), in the same unit.
        source: where the figure comes from.
        contrast: for an effect target, the ``(from, to)`` overrides, each a sorted tuple of
            ``(dotted key, value)``: the figure is the paired difference ``to - from``.
    """

    name: str
    expression: Expression
    value: float
    sd: float
    source: str = ""
    contrast: tuple[tuple[tuple[str, Any], ...], tuple[tuple[str, Any], ...]] | None = None


@dataclass(frozen=True)
class Objective:
    """One objective of a search: an expression's mean over replicates, and its direction."""

    name: str
    expression: Expression
    direction: str


@dataclass(frozen=True)
class Constraint:
    """``expression <= bound`` or ``>=``, on the mean over replicates."""

    text: str
    expression: Expression
    op: str
    bound: float

    def violation(self, value: float) -> float:
        """How far ``value`` is beyond the bound (0 or less: satisfied), as Optuna wants it."""
        if math.isnan(value):
            return math.inf
        return value - self.bound if self.op == "<=" else self.bound - value


@dataclass(frozen=True)
class _Study:
    name: str
    description: str
    source: str
    base: Any
    fixed: Mapping[str, Any]
    parameters: tuple[Parameter, ...]
    seed: int
    replicates: int
    trials: int
    #: Every root seed, ``seed`` first; one element when the file gave ``seed``.
    seeds: tuple[int, ...] = ()

    def __post_init__(self):
        if not self.seeds:
            object.__setattr__(self, "seeds", (self.seed,))

    def seeds_text(self) -> str:
        """``seed 7`` or ``seeds 7, 11, 13``, as the outputs name them."""
        if len(self.seeds) == 1:
            return f"seed {self.seeds[0]}"
        return "seeds " + ", ".join(str(s) for s in self.seeds)

    def runs_of_seeds(self) -> str:
        """``8 runs of seed 7`` or ``2 runs of each of seeds 7, 11, 13``."""
        runs = f"{self.replicates} run{'s' if self.replicates > 1 else ''}"
        return f"{runs} of {'each of ' if len(self.seeds) > 1 else ''}{self.seeds_text()}"

    def runs_text(self) -> str:
        """``8 runs`` or ``8 runs x 4 seeds``: a trial's runs."""
        runs = f"{self.replicates} run{'s' if self.replicates > 1 else ''}"
        return runs if len(self.seeds) == 1 else f"{runs} x {len(self.seeds)} seeds"


@dataclass(frozen=True)
class FitSpec(_Study):
    """A validated targets file (see the module's docstring).

    Attributes:
        targets: the figures to match.
        posterior: prior draws for the approximate-Bayesian posterior (0: none).
        tied: ``(key, fitted key, ratio)``: keys set to ``ratio`` times a fitted value, so
            several parameters move together as one (their ratios kept).
    """

    targets: tuple[Target, ...] = ()
    posterior: int = 0
    tied: tuple[tuple[str, str, float], ...] = ()

    def expressions(self) -> list[Expression]:
        """Every expression the runs must measure."""
        return [t.expression for t in self.targets]


@dataclass(frozen=True)
class SearchSpec(_Study):
    """A validated search file (see the module's docstring).

    Attributes:
        objectives: one or more objectives.
        constraints: conditions a feasible policy meets.
        population: NSGA-II's population size (several objectives).
    """

    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    population: int = 24

    def expressions(self) -> list[Expression]:
        """Every expression the runs must measure."""
        return [o.expression for o in self.objectives] + [c.expression for c in self.constraints]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _int(data: Mapping[str, Any], key: str, lo: int, hi: int, default: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UserInputError(f"{where}: {key} = {value!r}: must be a whole number in [{lo}, {hi}]")
    return value


def _common(
    data: Mapping[str, Any],
    scenario_path: Path,
    where: str,
    allowed: tuple[str, ...],
    default_trials: int,
) -> dict[str, Any]:
    """The keys both kinds of file share; ``[parameters]`` checked by the sweep spec's code."""
    from sim.sweep.spec import spec_from_dict

    for key in data:
        if key not in allowed:
            raise UserInputError(
                f"{where}: {key}: unknown key; allowed here: " + ", ".join(sorted(allowed))
            )
    name = data.get("name", Path(where).stem)
    if not isinstance(name, str) or not name:
        raise UserInputError(f"{where}: name = {name!r}: must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise UserInputError(f"{where}: description = {description!r}: must be a string")
    seeds = _seeds(data, where)
    seed = seeds[0]
    replicates = _int(data, "replicates", 1, 10_000, 8, where)
    trials = _int(data, "trials", 1, 1_000_000, default_trials, where)
    table = data.get("parameters")
    if not isinstance(table, Mapping) or not table:
        raise UserInputError(
            f"{where}: parameters: must be a non-empty table of dotted "
            "scenario keys, each { range = [lo, hi] } or { levels = [...] }"
        )
    # Ranges and levels go through a sweep spec of the design that takes them, so each is
    # checked on the scenario exactly as `outreach sweep` checks it.
    ranges = {
        k: v
        for k, v in table.items()
        if not (isinstance(v, Mapping) and "levels" in v and "range" not in v)
    }
    levels = {k: v for k, v in table.items() if k not in ranges}
    fixed = data.get("set", {})
    params: dict[str, Parameter] = {}
    spec = None
    for design, part in (("lhs", ranges), ("grid", levels)):
        if not part:
            continue
        sweep = {
            "base": str(scenario_path.resolve()),
            "design": design,
            "seed": seed,
            "parameters": part,
            "set": fixed,
        }
        if design == "lhs":
            sweep["samples"] = 1
        spec = spec_from_dict(sweep, where)
        params.update({p.key: p for p in spec.parameters})
    ordered = tuple(params[k] for k in _dotted_order(table) if k in params)
    return {
        "name": name,
        "description": description,
        "source": where,
        "base": spec.base,
        "fixed": dict(spec.fixed),
        "parameters": ordered,
        "seed": seed,
        "seeds": seeds,
        "replicates": replicates,
        "trials": trials,
    }


def _seeds(data: Mapping[str, Any], where: str) -> tuple[int, ...]:
    """``seed = N`` or ``seeds = [N, ...]`` (not both): the root seeds, in the file's order."""
    if "seeds" not in data:
        return (_int(data, "seed", 0, 2**63 - 1, 1, where),)
    if "seed" in data:
        raise UserInputError(
            f"{where}: seed and seeds: give seed = N (one root seed) or seeds = [N, ...] "
            "(several), not both"
        )
    seeds = data["seeds"]
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(
            isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 2**63 - 1 for x in seeds
        )
    ):
        raise UserInputError(
            f"{where}: seeds = {seeds!r}: must be a non-empty list of whole numbers "
            f"in [0, {2**63 - 1}]"
        )
    if len(set(seeds)) != len(seeds):
        raise UserInputError(f"{where}: seeds = {seeds!r}: seeds must be distinct")
    return tuple(seeds)


def _dotted_order(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in table.items():
        if isinstance(value, Mapping) and not ({"range", "levels"} & set(value)):
            out += _dotted_order(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def _check_weeks(expr: Expression, weeks: int, where: str) -> None:
    """Refuse an expression that reads a week past the run (``weeks``: history included)."""
    if expr.last_week > weeks:
        raise UserInputError(
            f"{where} = {expr.text!r}: reads week {expr.last_week}, but the "
            f'scenario runs {weeks} weeks (set "run.weeks" and "run.history_weeks" in [set]; '
            "the series count the history's weeks too)"
        )


def _targets(items: Any, base: Any, where: str) -> tuple[Target, ...]:
    weeks = base.run.history_weeks + base.run.weeks
    if not isinstance(items, list) or not items:
        raise UserInputError(
            f"{where}: target: give at least one [[target]] with metric (or "
            "expression, or series), value and sd"
        )
    out: list[Target] = []
    for i, item in enumerate(items):
        at = f"{where}: target.{i}"
        if not isinstance(item, Mapping):
            raise UserInputError(f"{at}: must be a table ([[target]])")
        for key in item:
            if key not in _TARGET_KEYS:
                raise UserInputError(
                    f"{at}.{key}: unknown key; allowed here: " + ", ".join(_TARGET_KEYS)
                )
        kinds = [k for k in ("metric", "expression", "series") if k in item]
        if len(kinds) != 1:
            raise UserInputError(f"{at}: give exactly one of metric, expression or series")
        source = item.get("source", "")
        if not isinstance(source, str):
            raise UserInputError(f"{at}.source = {source!r}: must be a string")
        if kinds[0] == "series":
            if "contrast" in item:
                raise UserInputError(
                    f"{at}.contrast: a series target cannot be a contrast; give the effect "
                    "as one figure (metric = ... or expression = ..., value and sd)"
                )
            out += _series_target(item, at, weeks, source)
            continue
        if kinds[0] == "metric":
            from sim.fit.expressions import RUN_MEASURES
            from sim.model.metrics import METRICS

            metric = item["metric"]
            if metric not in METRICS and metric not in RUN_MEASURES:
                raise UserInputError(
                    f"{at}.metric = {metric!r}: unknown metric; allowed: "
                    + ", ".join([*METRICS, *RUN_MEASURES])
                )
        expr = compile_expression(item[kinds[0]], f"{at}.{kinds[0]}")
        _check_weeks(expr, weeks, f"{at}.{kinds[0]}")
        for key in ("weeks", "values", "sds"):
            if key in item:
                raise UserInputError(f"{at}.{key}: only for a series target (series = ...)")
        value, sd = item.get("value"), item.get("sd")
        if not _is_number(value):
            raise UserInputError(f"{at}.value = {value!r}: must be a number (the observed figure)")
        if not _is_number(sd) or sd <= 0:
            raise UserInputError(
                f"{at}.sd = {sd!r}: must be a number above 0 (the figure's "
                "uncertainty, one standard deviation)"
            )
        name = item.get("name", expr.text)
        if not isinstance(name, str) or not name:
            raise UserInputError(f"{at}.name = {name!r}: must be a non-empty string")
        contrast = _contrast(item["contrast"], base, at) if "contrast" in item else None
        out.append(Target(name, expr, float(value), float(sd), source, contrast))
    names = [t.name for t in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise UserInputError(
            f"{where}: target: two targets are named {dup!r}; give each a distinct name"
        )
    return tuple(out)


_Overrides = tuple[tuple[str, Any], ...]


def _contrast(table: Any, base: Any, at: str) -> tuple[_Overrides, _Overrides]:
    """``contrast = { from = {...}, to = {...} }``: two override tables, checked as ``[set]``."""
    from sim.model.scenario import scenario_to_dict
    from sim.sweep.spec import _flatten, _value_at

    if not isinstance(table, Mapping) or set(table) != {"from", "to"}:
        raise UserInputError(
            f"{at}.contrast = {table!r}: must be {{ from = {{ KEY = VALUE, ... }}, "
            "to = { KEY = VALUE, ... } } (either may be empty: the trial's scenario itself)"
        )
    data = scenario_to_dict(base)
    sides: list[_Overrides] = []
    for side in ("from", "to"):
        if not isinstance(table[side], Mapping):
            raise UserInputError(
                f"{at}.contrast.{side} = {table[side]!r}: must be a table of dotted "
                "scenario keys and values (may be empty)"
            )
        flat = _flatten(table[side], "", lambda _: False)
        for key, value in flat.items():
            if key.split(".")[0] == "run":
                # The seed, the weeks and the worlds are what pairs the two variants' runs.
                raise UserInputError(
                    f"{at}.contrast.{side}.{key}: the run's settings are the fit's own, the "
                    "same for both sides of a paired effect; contrast a programme's keys"
                )
            try:
                _value_at(data, key)
            except KeyError:
                raise UserInputError(
                    f"{at}.contrast.{side}.{key}: not a parameter of the base scenario "
                    "(`outreach params` lists the dotted keys)"
                ) from None
            try:
                base.replace({key: value})
            except UserInputError as err:
                detail = str(err).split(": ", 1)[-1]
                raise UserInputError(f"{at}.contrast.{side}.{key} = {value!r}: {detail}") from None
        try:
            base.replace(flat)
        except UserInputError as err:
            detail = str(err).split(": ", 1)[-1]
            raise UserInputError(f"{at}.contrast.{side}: {detail}") from None
        sides.append(tuple(sorted(flat.items())))
    if sides[0] == sides[1]:
        raise UserInputError(f"{at}.contrast: from and to are the same; an effect needs a change")
    return sides[0], sides[1]


def _series_target(item: Mapping[str, Any], at: str, weeks: int, source: str) -> list[Target]:
    from sim.model.outreach import WEEKLY_SERIES

    series = item["series"]
    if series not in WEEKLY_SERIES:
        raise UserInputError(
            f"{at}.series = {series!r}: unknown series; allowed: " + ", ".join(WEEKLY_SERIES)
        )
    at_weeks, values = item.get("weeks"), item.get("values")
    if (
        not isinstance(at_weeks, list)
        or not at_weeks
        or not all(
            isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= weeks for w in at_weeks
        )
    ):
        raise UserInputError(
            f"{at}.weeks = {at_weeks!r}: must be a non-empty list of weeks "
            f"in [0, {weeks}] (the scenario's run.weeks)"
        )
    if len(set(at_weeks)) != len(at_weeks):
        raise UserInputError(f"{at}.weeks = {at_weeks!r}: weeks must be distinct")
    if (
        not isinstance(values, list)
        or len(values) != len(at_weeks)
        or not all(_is_number(v) for v in values)
    ):
        raise UserInputError(
            f"{at}.values = {values!r}: must be a list of {len(at_weeks)} numbers, one per week"
        )
    if "sds" in item:
        sds = item["sds"]
        if "sd" in item:
            raise UserInputError(
                f"{at}: give sd (one for all weeks) or sds (one per week), not both"
            )
    else:
        sds = [item.get("sd")] * len(at_weeks)
    if (
        not isinstance(sds, list)
        or len(sds) != len(at_weeks)
        or not all(_is_number(s) and s > 0 for s in sds)
    ):
        raise UserInputError(
            f"{at}.sd = {item.get('sd', item.get('sds'))!r}: give sd, a "
            f"number above 0, or sds, {len(at_weeks)} numbers above 0"
        )
    for key in ("value", "name"):
        if key in item:
            raise UserInputError(f"{at}.{key}: a series target takes weeks and values")
    return [
        Target(
            f"{series}[{w}]",
            compile_expression(f"{series}[{w}]", f"{at}.series"),
            float(v),
            float(s),
            source,
        )
        for w, v, s in zip(at_weeks, values, sds, strict=True)
    ]


def load_fit_spec(path: str | Path, scenario_path: str | Path) -> FitSpec:
    """Read and validate a targets file against the scenario it fits.

    Args:
        path: the targets file (TOML).
        scenario_path: the scenario file whose parameters are fitted.

    Raises:
        UserInputError: the first problem, one line naming the file and key.
    """
    from sim.model.scenario import read_toml

    where = str(path)
    data = read_toml(path, "targets file")
    common = _common(data, Path(scenario_path), where, _FIT_KEYS, 60)
    posterior = _int(data, "posterior", 0, 1_000_000, 0, where)
    targets = _targets(data.get("target"), common["base"], where)
    tied = _tied(data.get("tied", {}), common, where)
    return FitSpec(**common, targets=targets, posterior=posterior, tied=tied)


def _tied(table: Any, common: Mapping[str, Any], where: str) -> tuple[tuple[str, str, float], ...]:
    """``[tied]``: ``"KEY" = { to = "FITTED KEY", ratio = R }``, checked at the range's ends."""
    from sim.model.scenario import scenario_to_dict
    from sim.sweep.spec import _flatten, _value_at

    if not isinstance(table, Mapping):
        raise UserInputError(
            f"{where}: tied = {table!r}: must be a table of dotted keys, each "
            '{ to = "FITTED KEY", ratio = NUMBER }'
        )
    fitted = {p.key: p for p in common["parameters"]}
    base = common["base"]
    data = scenario_to_dict(base)
    out = []
    for key, value in _flatten(table, "", lambda t: "to" in t or "ratio" in t).items():
        at = f"{where}: tied.{key}"
        if (
            not isinstance(value, Mapping)
            or set(value) != {"to", "ratio"}
            or not _is_number(value["ratio"])
            or value["ratio"] <= 0
        ):
            raise UserInputError(
                f'{at} = {value!r}: must be {{ to = "FITTED KEY", ratio = NUMBER above 0 }}'
            )
        p = fitted.get(value["to"])
        if p is None or p.levels is not None:
            raise UserInputError(
                f"{at}.to = {value['to']!r}: must name a parameter fitted "
                "over a range in [parameters]"
            )
        if key in fitted:
            raise UserInputError(
                f"{at}: is fitted in [parameters]; a key is fitted or tied, not both"
            )
        try:
            _value_at(data, key)
        except KeyError:
            raise UserInputError(
                f"{at}: not a parameter of the base scenario (`outreach "
                "params` lists the dotted keys)"
            ) from None
        ratio = float(value["ratio"])
        for end in (p.lo, p.hi):
            try:
                base.replace({p.key: end, key: tie_value(end, ratio)})
            except UserInputError as err:
                detail = str(err).split(": ", 1)[-1]
                raise UserInputError(
                    f"{at}: at {p.key} = {end!r} it would be {tie_value(end, ratio)!r}: {detail}"
                ) from None
        out.append((key, p.key, ratio))
    return tuple(out)


def tie_value(value: float, ratio: float) -> float:
    """A tied key's value: ``ratio`` times its fitted key's, to 6 significant digits."""
    return float(f"{value * ratio:.6g}")


_CONSTRAINT = re.compile(r"^(?P<expr>.+?)\s*(?P<op><=|>=)\s*(?P<bound>[-+0-9.eE_]+)\s*$")


def load_search_spec(path: str | Path, scenario_path: str | Path) -> SearchSpec:
    """Read and validate a search file against the scenario it starts from.

    Raises:
        UserInputError: the first problem, one line naming the file and key.
    """
    from sim.fit.expressions import RUN_MEASURES
    from sim.model.metrics import METRICS
    from sim.model.scenario import read_toml

    where = str(path)
    data = read_toml(path, "search file")
    common = _common(data, Path(scenario_path), where, _SEARCH_KEYS, 96)
    weeks = common["base"].run.history_weeks + common["base"].run.weeks
    population = _int(data, "population", 2, 10_000, 24, where)
    items = data.get("objective")
    if not isinstance(items, list) or not items:
        raise UserInputError(
            f"{where}: objective: give at least one [[objective]] with metric "
            '(or expression) and direction = "maximize" or "minimize"'
        )
    objectives = []
    for i, item in enumerate(items):
        at = f"{where}: objective.{i}"
        if not isinstance(item, Mapping):
            raise UserInputError(f"{at}: must be a table ([[objective]])")
        for key in item:
            if key not in ("name", "metric", "expression", "direction"):
                raise UserInputError(
                    f"{at}.{key}: unknown key; allowed here: name, metric, expression, direction"
                )
        kinds = [k for k in ("metric", "expression") if k in item]
        if len(kinds) != 1:
            raise UserInputError(f"{at}: give exactly one of metric or expression")
        if (
            kinds[0] == "metric"
            and item["metric"] not in METRICS
            and item["metric"] not in RUN_MEASURES
        ):
            raise UserInputError(
                f"{at}.metric = {item['metric']!r}: unknown metric; allowed: "
                + ", ".join([*METRICS, *RUN_MEASURES])
            )
        expr = compile_expression(item[kinds[0]], f"{at}.{kinds[0]}")
        _check_weeks(expr, weeks, f"{at}.{kinds[0]}")
        direction = item.get("direction")
        if direction not in ("maximize", "minimize"):
            raise UserInputError(
                f'{at}.direction = {direction!r}: must be "maximize" or "minimize"'
            )
        objectives.append(Objective(str(item.get("name", expr.text)), expr, direction))
    raw = data.get("constraints", [])
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise UserInputError(
            f"{where}: constraints = {raw!r}: must be a list of strings such "
            'as "cost_total <= 120000"'
        )
    constraints = []
    for i, text in enumerate(raw):
        at = f"{where}: constraints.{i}"
        m = _CONSTRAINT.match(text)
        bound = None
        if m:
            try:
                bound = float(m["bound"])
            except ValueError:
                bound = None
        if not m or bound is None or not math.isfinite(bound):
            raise UserInputError(
                f"{at} = {text!r}: must be EXPRESSION <= NUMBER or "
                'EXPRESSION >= NUMBER, e.g. "cost_total <= 120000"'
            )
        expr = compile_expression(m["expr"], at)
        _check_weeks(expr, weeks, at)
        constraints.append(Constraint(text, expr, m["op"], bound))
    return SearchSpec(
        **common,
        objectives=tuple(objectives),
        constraints=tuple(constraints),
        population=population,
    )

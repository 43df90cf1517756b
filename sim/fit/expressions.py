"""Measures of a run, and small arithmetic expressions over them, for targets and objectives.

A target, an objective or a constraint names what it measures by an expression in Python's
syntax, checked before anything runs:

* a metric of a run (``clients_contacted``, see :data:`sim.model.metrics.METRICS`);
* a count of the measured weeks (after ``run.history_weeks``) from :data:`RUN_MEASURES`
  (``referrals``, ``engaged_recruiting_none``);
* a weekly series (:data:`sim.model.outreach.WEEKLY_SERIES`) at a week, ``contacted[52]``
  (the value after week 52; ``[0]`` is the start), or over weeks, ``mean(peers_active[1:53])``
  (weeks 1 to 52, Python's slice);
* numbers, ``+ - * /``, parentheses, and ``mean``, ``sum``, ``min``, ``max`` of a slice.

Each replicate's value is computed in the worker; a target compares the mean over replicates.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import UserInputError

__all__ = ["RUN_MEASURES", "Expression", "compile_expression", "run_measures"]

#: Counts of a whole run beyond the metrics, with what they mean.
RUN_MEASURES: dict[str, str] = {
    "house_calls": "house calls made (count, the measured weeks)",
    "referrals": "coupons redeemed: hidden friends referred by engaged clients (the measured "
    "weeks)",
    "online_contacts": "first contacts made online (the measured weeks)",
    "engaged_recruiting_none": "share of engaged clients who referred no one (in peer-driven "
    "referral every engaged client is a potential recruiter)",
}

_FUNCTIONS = {"mean": np.mean, "sum": np.sum, "min": np.min, "max": np.max}
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, the names it reads and the last week it looks at.

    Attributes:
        text: as written.
        names: metrics, run measures and series it reads.
        last_week: the largest week index it reads from a series (0 if none).
    """

    text: str
    names: frozenset[str]
    last_week: int
    tree: Any

    def __call__(self, values: Mapping[str, Any]) -> float:
        """Its value for one replicate's ``values`` (name -> number, or list for a series)."""
        try:
            with np.errstate(all="ignore"):
                out = float(_eval(self.tree.body, values))
        except ZeroDivisionError:
            return float("nan")
        return out


def _known() -> tuple[set[str], set[str]]:
    from sim.model.metrics import METRICS
    from sim.model.outreach import WEEKLY_SERIES

    return set(METRICS) | set(RUN_MEASURES), set(WEEKLY_SERIES)


def compile_expression(text: Any, where: str) -> Expression:
    """Parse and check an expression.

    Args:
        text: the expression (a string).
        where: file and key, for messages.

    Raises:
        UserInputError: one line naming ``where``, the problem and what is allowed.
    """
    scalars, series = _known()
    allowed = (
        "metrics, " + ", ".join(sorted(RUN_MEASURES)) + ", a weekly series at a week "
        "such as contacted[52] (series: " + ", ".join(sorted(series)) + "), numbers, "
        "+ - * / and mean/sum/min/max of a slice"
    )
    if not isinstance(text, str) or not text.strip():
        raise UserInputError(
            f"{where} = {text!r}: must be an expression such as "
            '"clients_contacted" or "contacted[104] - contacted[52]"'
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise UserInputError(
            f"{where} = {text!r}: not a valid expression; allowed: {allowed}"
        ) from None
    names: set[str] = set()
    weeks = [0]

    def bad(node: ast.AST, why: str) -> UserInputError:
        return UserInputError(
            f"{where} = {text!r}: {why} ({ast.unparse(node)}); allowed: {allowed}"
        )

    def week_index(node: ast.AST) -> int:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
            and node.value >= 0
        ):
            weeks.append(node.value)
            return node.value
        raise bad(node, "a week must be a whole number 0 or more")

    def check(node: ast.AST, vector: bool = False) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise bad(node, "only numbers are allowed as constants")
        elif isinstance(node, ast.Name):
            if node.id in series:
                raise bad(
                    node,
                    f"{node.id} is a weekly series; give a week, "
                    f"{node.id}[52], or a slice in mean(...)",
                )
            if node.id not in scalars:
                raise bad(node, f"unknown name {node.id!r}")
            names.add(node.id)
        elif isinstance(node, ast.Subscript):
            if not isinstance(node.value, ast.Name) or node.value.id not in series:
                raise bad(node, "only a weekly series can take [week]")
            names.add(node.value.id)
            if isinstance(node.slice, ast.Slice):
                if not vector:
                    raise bad(node, "a slice of weeks must be inside mean, sum, min or max")
                if node.slice.step is not None:
                    raise bad(node, "a slice of weeks takes no step")
                lo = week_index(node.slice.lower) if node.slice.lower is not None else 0
                if node.slice.upper is None:
                    raise bad(node, "a slice of weeks needs its end, e.g. [1:53]")
                hi = week_index(node.slice.upper)
                weeks.remove(hi)  # a slice's end is not read: its last week is end - 1
                weeks.append(max(hi - 1, 0))
                if hi <= lo:
                    raise bad(node, "a slice of weeks must hold at least one week")
            else:
                week_index(node.slice)
        elif isinstance(node, ast.Call):
            if (
                not isinstance(node.func, ast.Name)
                or node.func.id not in _FUNCTIONS
                or len(node.args) != 1
                or node.keywords
            ):
                raise bad(node, "only mean, sum, min or max of one slice")
            check(node.args[0], vector=True)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            check(node.operand)
        else:
            raise bad(node, "not allowed here")

    check(tree.body)
    return Expression(text.strip(), frozenset(names), max(weeks), tree)


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Subscript):
        data = values[node.value.id]
        if isinstance(node.slice, ast.Slice):
            lo = node.slice.lower.value if node.slice.lower is not None else 0
            return np.asarray(data[lo : node.slice.upper.value], dtype=float)
        return data[node.slice.value]
    if isinstance(node, ast.Call):
        return _FUNCTIONS[node.func.id](_eval(node.args[0], values))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Div) and right == 0:
            return math.nan
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, values)
        return -value if isinstance(node.op, ast.USub) else value
    raise TypeError(node)


def run_measures(model, names) -> dict[str, Any]:
    """The values of ``names`` (metrics, run measures, series) after ``model`` has run.

    Args:
        model: an :class:`sim.model.outreach.OutreachModel` that has run.
        names: the names the expressions read.
    """
    metrics = model.metrics()
    start = model._mark.get("period") if model._mark else None
    before = start["totals"] if start else {}
    totals = {k: v - before.get(k, 0) for k, v in model.totals.items()}  # the measured weeks'
    out: dict[str, Any] = {}
    for name in names:
        if name in metrics:
            out[name] = float(metrics[name])
        elif name in model.weekly:
            out[name] = [float(x) for x in model.weekly[name]]
        elif name == "engaged_recruiting_none":
            out[name] = _recruiting_none(model, metrics["clients_engaged"], totals["referrals"])
        else:
            out[name] = float(totals[name])
    return out


def _recruiting_none(model, engaged: float, referrals: float) -> float:
    """Share of engaged clients who referred no one.

    A client given coupons who has ``k`` left referred ``C - k`` friends (``C`` coupons each);
    one with none left either referred ``C`` or was never given any. The referrers are then
    those with some but not all coupons left, plus ``(referrals - their referrals) / C`` who
    used all. Exact when no client is given coupons twice (engaged a second time after losing
    contact), which is rare.
    """
    c = int(model.scenario.outreach.referral_coupons)
    if engaged <= 0:
        return float("nan")
    if c <= 0:
        return 1.0
    left = np.asarray(model.coupons)
    partial = (left > 0) & (left < c)
    used_by_partial = float(np.sum(c - left[partial]))
    used_all = max(0.0, (float(referrals) - used_by_partial) / c)
    referrers = float(np.count_nonzero(partial)) + used_all
    return float(min(1.0, max(0.0, 1.0 - referrers / engaged)))

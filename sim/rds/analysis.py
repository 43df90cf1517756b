"""Estimates of a survey folder's samples, set beside the truth the simulation knows.

:func:`trait_of` reads a trait (``NAME`` or ``NAME=LABEL``) from the sample's columns and the
truth; :func:`estimate_replicate` runs every estimator of :mod:`sim.rds.estimators` on one
replicate; :func:`evaluate` gathers them over every replicate into bias, RMSE and coverage.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from sim.errors import UserInputError
from sim.rds import estimators as est
from sim.rds.survey_files import SurveyData

__all__ = ["Row", "Trait", "estimate_replicate", "evaluate", "sample_arrays", "trait_of"]

#: Prevalence estimators, in the order printed.
PREVALENCE = ("naive", "RDS-I", "RDS-II", "SS")
#: How each prevalence interval is made.
INTERVALS = {
    "naive": "Wilson (simple random sample)",
    "RDS-I": "Salganik bootstrap",
    "RDS-II": "Salganik bootstrap",
    "SS": "Salganik bootstrap, SS weights kept",
}
#: Population size estimators, in the order printed.
SIZE = ("multiplier", "Chapman (service list)", "Chapman (two surveys)")


@dataclass
class Trait:
    """A trait to estimate: each respondent's category, and what is reported.

    Attributes:
        name: the attribute.
        labels: the categories' names (codes index them).
        report: the codes whose share is reported.
        truth: the true population share of each reported code.
        shown: how each reported code is named in output (``gender = woman``).
    """

    name: str
    labels: list[str]
    report: list[int]
    truth: dict[int, float]
    shown: dict[int, str]


def trait_of(data: SurveyData, spec: str) -> Trait:
    """The trait ``NAME`` or ``NAME=LABEL`` of the survey's attributes.

    A category gives each label (or the one named); a number gives the share of one value
    (``NAME=VALUE``; a 0/1 attribute's share of 1 by default).

    Raises:
        UserInputError: no such attribute, no such label, or a number without a value whose
            true share is known.
    """
    name, eq, label = spec.partition("=")
    name, label = name.strip(), label.strip()
    attrs = data.truth.get("attributes", {})
    names = data.attribute_names()
    if name not in attrs or name not in names:
        raise UserInputError(
            f"--trait {spec}: no such attribute in {data.folder / 'sample.csv'}"
            f" (attributes: {', '.join(n for n in names if n in attrs)})"
        )
    info = attrs[name]
    shares = info.get("shares")
    if info["kind"] == "category":
        labels = list(shares)
        if eq:
            if label not in labels:
                raise UserInputError(
                    f"--trait {spec}: {name} has no label {label!r} (labels: {', '.join(labels)})"
                )
            report = [labels.index(label)]
        else:
            report = list(range(len(labels)))
        return Trait(
            name,
            labels,
            report,
            {j: shares[labels[j]] for j in report},
            {j: f"{name} = {labels[j]}" for j in report},
        )
    if not eq:
        if shares is not None and set(shares) <= {"0", "1"}:
            label = "1"
        elif shares is not None:
            raise UserInputError(
                f"--trait {spec}: {name} is a number; name a value, "
                f"--trait {name}=VALUE (values: {', '.join(shares)})"
            )
        else:
            raise UserInputError(
                f"--trait {spec}: {name} takes too many values to estimate "
                "a share of each; choose a category or a 0/1 attribute "
                f"({', '.join(_share_attributes(data))})"
            )
    key = _number_key(label)
    if key is None:
        raise UserInputError(f"--trait {spec}: {name} is a number; {label!r} is not one")
    if shares is None:
        raise UserInputError(
            f"--trait {spec}: {name} takes too many values to estimate "
            "a share of one; choose a category or a 0/1 attribute "
            f"({', '.join(_share_attributes(data))})"
        )
    if key not in shares:
        raise UserInputError(
            f"--trait {spec}: no one in the population has {name} = {key} "
            f"(values: {', '.join(shares)})"
        )
    return Trait(name, ["other", key], [1], {1: shares[key]}, {1: f"{name} = {key}"})


def _share_attributes(data: SurveyData) -> list[str]:
    """The sample's attributes whose true share is known (categories, few whole numbers)."""
    attrs = data.truth.get("attributes", {})
    return [n for n in data.attribute_names() if "shares" in attrs.get(n, {})]


def _number_key(text: str) -> str | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return str(int(v)) if v == int(v) else format(v, ".10g")


def sample_arrays(data: SurveyData, replicate: int, trait: Trait | None = None) -> dict:
    """One replicate's sample as arrays: ids, recruiter rows, waves, seed rows, degrees, codes."""
    ids = data.column("id", replicate)
    row_of = {x: i for i, x in enumerate(ids)}
    recruiter = np.array(
        [row_of.get(x, -1) if x else -1 for x in data.column("recruiter", replicate)],
        dtype=np.int64,
    )
    seed = np.array([row_of.get(x, -1) for x in data.column("seed", replicate)], dtype=np.int64)
    out = {
        "ids": ids,
        "recruiter": recruiter,
        "wave": np.array([int(x) for x in data.column("wave", replicate)], dtype=np.int64),
        "seed": seed,
        "degree": np.array(
            [int(x) for x in data.column("degree_reported", replicate)], dtype=np.int64
        ),
        "linked": np.array([_is_one(x) for x in data.column("linked", replicate)], dtype=bool)
        if "linked" in data.columns
        else None,
    }
    if trait is not None:
        out["y"] = _codes(data.column(trait.name, replicate), trait)
    return out


def _is_one(text: str) -> bool:
    try:
        return float(text) == 1.0
    except ValueError:
        return False


def _codes(values: list[str], trait: Trait) -> np.ndarray:
    if trait.labels[0] == "other" and len(trait.labels) == 2:
        key = float(trait.labels[1])
        return np.array([1 if _float(v) == key else 0 for v in values], dtype=np.int64)
    index = {lab: i for i, lab in enumerate(trait.labels)}
    return np.array([index[v] for v in values], dtype=np.int64)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


@dataclass
class Row:
    """One estimate beside the truth, with its 95% interval and how it was made."""

    quantity: str
    estimator: str
    estimate: float
    low: float
    high: float
    truth: float
    interval: str
    replicate: int = 0


def estimate_replicate(
    data: SurveyData,
    trait: Trait,
    replicate: int,
    *,
    population_size: int | None = None,
    bootstrap: int = 500,
) -> list[Row]:
    """Every estimate of one replicate: the trait's shares, then the population's size.

    Random numbers (the bootstrap, SS's simulations) come from the streams ``rds-bootstrap``
    and ``rds-ss`` of the survey's seed and the replicate, so an estimate is reproducible.

    Args:
        data: the survey folder.
        trait: the trait.
        replicate: which replicate's sample.
        population_size: ``N`` for SS; default the true size (from ``truth.json``).
        bootstrap: bootstrap samples for the intervals.
    """
    from sim.streams import stream

    seed = int(data.settings["seed"])
    n_true = int(data.truth["population_size"])
    big_n = n_true if population_size is None else int(population_size)
    s = sample_arrays(data, replicate, trait)
    y, d, rec = s["y"], s["degree"], s["recruiter"]
    k = len(trait.labels)
    rows: list[Row] = []
    p_naive = est.naive(y, k)
    p_rds1 = est.rds1(y, d, rec, k)
    p_vh = est.vh(y, d, k)
    p_ss, mapping = est.ss(y, d, k, big_n, stream(seed, replicate, "rds-ss"))
    boot = est.salganik_bootstrap(
        y,
        d,
        rec,
        k,
        stream(seed, replicate, "rds-bootstrap"),
        replicates=bootstrap,
        ss_mapping=mapping,
    )
    points = {"RDS-I": p_rds1, "RDS-II": p_vh, "SS": p_ss}
    counts = np.bincount(y, minlength=k)
    for j in trait.report:
        truth = float(trait.truth[j])
        lo, hi = est.wilson(int(counts[j]), y.size)
        rows.append(
            Row(trait.shown[j], "naive", float(p_naive[j]), lo, hi, truth, INTERVALS["naive"])
        )
        for name, p in points.items():
            lo, hi = est.bootstrap_interval(float(p[j]), boot[name][:, j])
            label = f"SS (N = {big_n:,})" if name == "SS" else name
            how = INTERVALS[name]
            if name == "RDS-I" and not math.isfinite(p[j]):
                how = (
                    "undefined: no one was recruited"
                    if not np.any(rec >= 0)
                    else "undefined: some categories recruit only among themselves"
                )
            rows.append(Row(trait.shown[j], label, float(p[j]), lo, hi, truth, how))
    rows += _size_rows(data, s, replicate, seed, bootstrap, n_true)
    return rows


def _size_rows(
    data: SurveyData, s: dict, replicate: int, seed: int, bootstrap: int, n_true: int
) -> list[Row]:
    from sim.streams import stream

    records = int(data.truth.get("service_records", 0))
    linked = s["linked"]
    out: list[Row] = []
    if linked is None or records == 0:
        return out
    y = linked.astype(np.int64)
    if y.sum() == 0:
        # No respondent on the records: the share is 0 and records / share says nothing.
        out.append(
            Row(
                "population size",
                "multiplier",
                math.nan,
                math.nan,
                math.nan,
                n_true,
                f"undefined: no respondent is among the {records:,} service records",
            )
        )
    else:
        share = float(est.vh(y, s["degree"], 2)[1])
        boot = est.salganik_bootstrap(
            y,
            s["degree"],
            s["recruiter"],
            2,
            stream(seed, replicate, "rds-bootstrap-linked"),
            replicates=bootstrap,
        )
        lo, hi = est.bootstrap_interval(share, boot["RDS-II"][:, 1])
        value, low, high = est.multiplier(records, share, lo, hi)
        out.append(
            Row(
                "population size",
                "multiplier",
                value,
                low,
                high,
                n_true,
                f"service records {records:,} / RDS-II share linked {share:.3f}",
            )
        )
    value, low, high = est.chapman(records, y.size, int(y.sum()))
    out.append(
        Row(
            "population size",
            "Chapman (service list)",
            value,
            low,
            high,
            n_true,
            "Seber variance, normal",
        )
    )
    if len(data.replicates) > 1:
        other = data.replicates[(data.replicates.index(replicate) + 1) % len(data.replicates)]
        first = set(s["ids"])
        second = set(data.column("id", other))
        value, low, high = est.chapman(len(first), len(second), len(first & second))
        out.append(
            Row(
                "population size",
                "Chapman (two surveys)",
                value,
                low,
                high,
                n_true,
                f"with replicate {other}; Seber variance, normal",
            )
        )
    return out


def evaluate(
    data: SurveyData,
    trait: Trait,
    *,
    population_size: int | None = None,
    bootstrap: int = 500,
    stop: threading.Event | None = None,
    progress=None,
) -> tuple[list[Row], dict[tuple[str, str], dict]]:
    """Every replicate's estimates, and each estimator's bias, RMSE and coverage over them.

    Returns:
        ``(rows, table)``: all rows (each with its replicate), and
        ``(quantity, estimator) -> coverage summary`` in the order first seen.

    Raises:
        KeyboardInterrupt: ``stop`` was set.
    """
    rows: list[Row] = []
    total = len(data.replicates)
    for done, r in enumerate(data.replicates, 1):
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        for row in estimate_replicate(
            data, trait, r, population_size=population_size, bootstrap=bootstrap
        ):
            row.replicate = r
            rows.append(row)
        if progress:
            progress(done, total)
    keys: list[tuple[str, str]] = []
    for row in rows:
        if (row.quantity, row.estimator) not in keys:
            keys.append((row.quantity, row.estimator))
    table = {}
    for key in keys:
        sel = [x for x in rows if (x.quantity, x.estimator) == key]
        table[key] = est.coverage_table(
            [x.estimate for x in sel],
            [x.low for x in sel],
            [x.high for x in sel],
            [x.truth for x in sel],
        )
    return rows, table

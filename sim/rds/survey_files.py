"""The survey folder: ``sample.csv``, ``truth.json`` and ``survey.json``, written and read back.

- ``survey.json``: the scenario, seed, design, number of replicates and each replicate's
  number of respondents, so ``estimate`` knows what it reads (and refuses a ``sample.csv``
  cut short) and an interrupted survey resumes only with the same settings.
- ``truth.json``: the population at the survey's week (``survey_week``: the model's weeks,
  its history included; the population is open, so this is who is present then, out of the
  ``people_in_world``): its size, the service's records among it, its mean degree and each
  attribute's true share (categories and whole-number attributes with few values) or mean.
- ``replicates/NNNN.csv``: each replicate's sample, written as it finishes (a survey resumes
  from them); ``sample.csv`` is all of them in replicate order, written at the end.
- ``sample.csv``: one row per respondent: ``replicate``, ``id``, ``recruiter`` (empty for a
  seed), ``wave``, ``seed`` (the id of the chain's seed), ``degree_reported``, ``degree_true``,
  then every person attribute (a category by its label).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UserInputError
from sim.output.atomic import write_text_atomic

__all__ = [
    "FIXED_COLUMNS",
    "SurveyData",
    "part_path",
    "read_survey",
    "sample_csv",
    "truth_document",
]

#: Columns of ``sample.csv`` before the person attributes.
FIXED_COLUMNS = ("replicate", "id", "recruiter", "wave", "seed", "degree_reported", "degree_true")

#: Whole-number attributes with at most this many values get a share per value in the truth.
_MAX_SHARED_VALUES = 20


def _text(value, labels) -> str:
    if labels is not None:
        return str(labels[int(value)])
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".10g")
    return str(int(value)) if isinstance(value, (int, np.integer, bool, np.bool_)) else str(value)


def sample_csv(pop, sample, replicate: int, header: bool) -> str:
    """One replicate's sample as CSV text (with the header line if ``header``)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    names = list(pop.attributes)
    if header:
        out.writerow([*FIXED_COLUMNS, *names])
    degree = pop.degree()
    ids = pop.ids
    columns = [(np.asarray(v), labels) for v, labels in pop.attributes.values()]
    for row in range(sample.size):
        person = int(sample.node[row])
        rec = int(sample.recruiter[row])
        out.writerow(
            [
                replicate,
                ids[person],
                "" if rec < 0 else ids[int(sample.node[rec])],
                int(sample.wave[row]),
                ids[int(sample.node[sample.seed[row]])],
                int(sample.reported[row]),
                int(degree[person]),
                *(_text(v[person], labels) for v, labels in columns),
            ]
        )
    return buf.getvalue()


def truth_document(pop, scenario_name: str) -> dict:
    """The population's truth: size, service records and each attribute's shares or mean.

    All of the population the survey saw (:class:`~sim.rds.survey.Population`): the persons
    present at its week, their ties among themselves, the service's records among them.
    """
    attrs = {}
    for name, (values, labels) in pop.attributes.items():
        values = np.asarray(values)
        if labels is not None:
            counts = np.bincount(values.astype(np.int64), minlength=len(labels))
            attrs[name] = {
                "kind": "category",
                "shares": {
                    str(lab): float(c) / pop.n for lab, c in zip(labels, counts, strict=True)
                },
            }
            continue
        x = values.astype(float)
        entry: dict[str, Any] = {"kind": "number", "mean": float(x.mean())}
        distinct = np.unique(x)
        if distinct.size <= _MAX_SHARED_VALUES and np.all(distinct == np.round(distinct)):
            entry["shares"] = {
                _text(v, None) if v != int(v) else str(int(v)): float(np.mean(x == v))
                for v in distinct
            }
        attrs[name] = entry
    degree = pop.degree()
    out = {
        "scenario": scenario_name,
        "survey_week": int(pop.week),
        "population_size": pop.n,
        "service_records": int(pop.linked.sum()),
        "mean_degree": float(degree.mean()),
        "attributes": attrs,
    }
    if pop.people_in_world is not None:
        out["people_in_world"] = int(pop.people_in_world)
    return out


def part_path(out: Path, replicate: int) -> Path:
    """Where one replicate's sample is kept while a survey runs."""
    return Path(out) / "replicates" / f"{replicate:04d}.csv"


class SurveyData:
    """A survey folder read back: settings, truth, and the samples by replicate.

    Attributes:
        folder: the folder.
        settings: ``survey.json``.
        truth: ``truth.json``.
        columns: ``sample.csv``'s columns, by name, as lists of strings (all replicates).
    """

    def __init__(self, folder: Path, settings: dict, truth: dict, columns: dict[str, list]):
        self.folder = folder
        self.settings = settings
        self.truth = truth
        self.columns = columns
        rep = np.asarray([int(x) for x in columns["replicate"]])
        self.replicates = sorted(set(rep.tolist()))
        self._rows = {r: np.flatnonzero(rep == r) for r in self.replicates}

    def attribute_names(self) -> list[str]:
        """The person attributes in the sample (the columns after the fixed ones)."""
        return [c for c in self.columns if c not in FIXED_COLUMNS]

    def size(self, replicate: int) -> int:
        """Respondents in one replicate."""
        return int(self._rows[replicate].size)

    def column(self, name: str, replicate: int) -> list[str]:
        """One column's values within one replicate, in sample order."""
        col = self.columns[name]
        return [col[i] for i in self._rows[replicate]]


def read_survey(folder: str | Path) -> SurveyData:
    """Read a survey folder written by ``outreach survey``.

    Raises:
        UserInputError: the folder, ``sample.csv``, ``truth.json`` or ``survey.json`` is
            missing or cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(
            f"{folder}: no such folder (make one with outreach survey SCENARIO --out DIR)"
        )
    sample = folder / "sample.csv"
    if not sample.is_file():
        partial = (folder / "replicates").is_dir()
        hint = (
            "the survey was interrupted: run the same outreach survey command again to finish it"
            if partial
            else "make one with outreach survey SCENARIO --out DIR"
        )
        raise UserInputError(f"{folder}: no sample.csv in it ({hint})")
    docs = []
    for name in ("survey.json", "truth.json"):
        path = folder / name
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            raise UserInputError(
                f"{path}: cannot be read ({err.__class__.__name__}); write "
                "the survey again with outreach survey"
            ) from None
    try:
        text = sample.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserInputError(f"{sample}: cannot be read ({err})") from None
    if not rows or any(c not in rows[0] for c in FIXED_COLUMNS):
        raise UserInputError(
            f"{sample}: not a survey sample (columns {', '.join(FIXED_COLUMNS)} expected)"
        )
    header = rows[0]
    body = rows[1:]
    if not body:
        raise UserInputError(f"{sample}: has no respondents")
    _check_rows(sample, header, body, text)
    columns = {name: [r[i] for r in body] for i, name in enumerate(header)}
    data = SurveyData(folder, docs[0], docs[1], columns)
    _check_counts(sample, data)
    return data


#: How a damaged sample can be written again: the survey's replicates are kept beside it.
_REWRITE = "run the same outreach survey command again to write it anew from replicates/"

_DIGITS = re.compile(r"[0-9]+")

#: Columns that hold whole numbers in every row.
_WHOLE_COLUMNS = ("replicate", "wave", "degree_reported", "degree_true")


def _check_rows(sample: Path, header: list[str], body: list[list[str]], text: str) -> None:
    """Refuse a sample cut short or damaged: every line whole, with a field per column."""
    if not text.endswith("\n"):
        raise UserInputError(
            f"{sample}: line {len(body) + 1}: the last line is cut short (the "
            f"file does not end with a line break); {_REWRITE}"
        )
    at = {name: header.index(name) for name in _WHOLE_COLUMNS}
    for line, row in enumerate(body, 2):
        if len(row) != len(header):
            raise UserInputError(
                f"{sample}: line {line}: {len(row)} fields where the header "
                f"has {len(header)}; {_REWRITE}"
            )
        for name, i in at.items():
            if not _DIGITS.fullmatch(row[i]):
                raise UserInputError(
                    f"{sample}: line {line}: column {name!r} is {row[i]!r}, "
                    f"not a whole number of 0 or more; {_REWRITE}"
                )
        if not row[header.index("id")]:
            raise UserInputError(f"{sample}: line {line}: column 'id' is empty; {_REWRITE}")


def _check_counts(sample: Path, data: SurveyData) -> None:
    """Refuse a sample whose replicates or respondents differ from what ``survey.json`` says."""
    want = data.settings.get("replicates")
    if isinstance(want, int) and data.replicates != list(range(want)):
        have = (
            f"replicate {data.replicates[0]}"
            if len(data.replicates) == 1
            else f"{len(data.replicates)} replicates ({data.replicates[0]}-{data.replicates[-1]})"
        )
        raise UserInputError(
            f"{sample}: holds {have} where survey.json says {want} (0-{want - 1}); {_REWRITE}"
        )
    for r in data.replicates:
        ids = set(data.column("id", r))
        for name in ("recruiter", "seed"):
            bad = [x for x in data.column(name, r) if x and x not in ids]
            if bad:
                raise UserInputError(
                    f"{sample}: replicate {r}: column {name!r} names "
                    f"{bad[0]!r}, who is not among its respondents; "
                    f"{_REWRITE}"
                )
    sizes = data.settings.get("respondents")
    if isinstance(sizes, list) and len(sizes) == len(data.replicates):
        for r, size in zip(data.replicates, sizes, strict=True):
            got = data.size(r)
            if got != size:
                raise UserInputError(
                    f"{sample}: replicate {r} has {got} respondents where "
                    f"survey.json says {size}; {_REWRITE}"
                )


def write_json(path: Path, document: dict, what: str) -> None:
    """Write a JSON document atomically."""
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=False) + "\n", what)

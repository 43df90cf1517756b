"""Results year by year in ``outreach run``, ``compare`` and ``report`` (in-process commands).

A small open population (1,000 people, 3 replicates) runs for two years; a second scenario
with more close peers is compared with it on common random numbers. Each command runs once per
module and the tests read its output.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from pathlib import Path

import pytest

from sim.model.metrics import METRICS, YEAR_METRICS
from tests.cli_helpers import outreach

TWO_YEARS = textwrap.dedent("""\
    name = "two_years"
    [run]
    weeks = 104
    replicates = 3
    seed = 7
    [population]
    size = 1000
    [close_peers]
    count = 3
    [distant_peers]
    count = 3
""")

#: What the issue asks every year of the JSON to hold, at least.
REQUIRED = (
    "clients_seen",
    "clients_new_share",
    "encounters",
    "accompaniments",
    "peers_exhausted_fraction",
    "peers_enrolled",
    "peers_active_share",
    "peers_left_fraction",
    "population_size_end",
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("years")
    (folder / "two_years.toml").write_text(TWO_YEARS, encoding="utf-8")
    more = TWO_YEARS.replace('name = "two_years"', 'name = "more_close"').replace(
        "[close_peers]\ncount = 3", "[close_peers]\ncount = 8"
    )
    (folder / "more_close.toml").write_text(more, encoding="utf-8")
    return folder


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def two_years(folder):
    proc = outreach("run", folder / "two_years.toml", "--json", folder / "run.json")
    assert proc.returncode == 0, proc.stderr
    return proc, _json(folder / "run.json")


def test_json_has_each_year_with_every_required_measure_and_its_interval(two_years):
    _, document = two_years
    years = document["years"]
    assert [(y["year"], y["weeks"]) for y in years] == [(1, 52), (2, 52)]
    for y in years:
        assert set(REQUIRED) <= set(y["metrics"])
        assert list(y["metrics"]) == [m for m in YEAR_METRICS if m in y["metrics"]]
        for name in REQUIRED:
            s = y["metrics"][name]
            assert set(s) == {"mean", "ci_low", "ci_high"}, name
            assert all(math.isfinite(s[k]) for k in s), (name, s)
            assert s["ci_low"] <= s["mean"] <= s["ci_high"], (name, s)
        assert y["metrics"]["clients_seen"]["mean"] > 0
        assert 0 < y["metrics"]["clients_new_share"]["mean"] <= 1
    assert document["history_weeks"] == 0


def test_the_years_add_up_to_the_whole_run(two_years):
    # Means are linear, so counts of the two years sum to the run's (same replicates).
    _, document = two_years
    years, whole = document["years"], document["metrics"]
    for name in ("encounters", "accompaniments", "clients_contacted", "clients_linked"):
        total = sum(y["metrics"][name]["mean"] for y in years)
        assert total == pytest.approx(whole[name]["mean"], rel=1e-9), name
    # A client seen in both years counts once in the run: the years together see more.
    seen = [y["metrics"]["clients_seen"]["mean"] for y in years]
    assert max(seen) <= whole["clients_seen"]["mean"] < sum(seen)
    assert years[-1]["metrics"]["population_size_end"] == whole["population_size_end"]


def test_text_has_the_table_by_year(two_years):
    proc, document = two_years
    out = proc.stdout
    assert "Year by year" in out
    table = out[out.index("Year by year") :]
    header = table.splitlines()[1]
    assert header.split() == ["measure", "year", "1", "year", "2"]
    for name in YEAR_METRICS:
        assert METRICS[name].title in table, name
    # Each measure's means, then its intervals on the next line.
    lines = table.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("Clients seen"))
    assert lines[row + 1].split()[1] == "to"
    assert "history:" not in out


def test_a_single_year_has_no_table_by_year_but_the_json_has_it(folder):
    proc = outreach(
        "run", folder / "two_years.toml", "--weeks", "52", "--json", folder / "one.json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Year by year" not in proc.stdout
    document = _json(folder / "one.json")
    (year,) = document["years"]
    assert (year["year"], year["weeks"]) == (1, 52)
    for name in ("clients_seen", "encounters", "accompaniments", "clients_linked"):
        assert year["metrics"][name] == document["metrics"][name], name


def test_a_history_is_said_and_not_reported(folder):
    path = folder / "history.json"
    proc = outreach(
        "run",
        folder / "two_years.toml",
        "--weeks",
        "60",
        "--history-weeks",
        "30",
        "--json",
        path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("history:")]
    assert len(lines) == 1
    assert "60 measured weeks after 30 weeks" in lines[0]
    assert "year 2 (8 weeks)" in proc.stdout
    document = _json(path)
    assert document["history_weeks"] == 30
    assert [(y["year"], y["weeks"]) for y in document["years"]] == [(1, 52), (2, 8)]
    # --history-weeks is --set run.history_weeks: the same numbers either way.
    again = folder / "history_set.json"
    proc = outreach(
        "run",
        folder / "two_years.toml",
        "--weeks",
        "60",
        "--set",
        "run.history_weeks=30",
        "--json",
        again,
    )
    assert proc.returncode == 0, proc.stderr
    assert _json(again)["years"] == document["years"]


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--weeks", "521", "[1, 520]"),
        ("--weeks", "0", "[1, 520]"),
        ("--history-weeks", "-1", "[0, 1040]"),
        ("--history-weeks", "2000", "[0, 1040]"),
        ("--history-weeks", "ten", "not a whole number"),
    ],
)
@pytest.mark.parametrize("command", ["run", "compare", "report"])
def test_a_bad_weeks_option_is_one_line_naming_it(
    folder, tmp_path, command, option, value, allowed
):
    scenario = folder / "two_years.toml"
    extra = {"run": [], "compare": [scenario], "report": ["--out", tmp_path / "r"]}[command]
    proc = outreach(command, scenario, *extra, option, value)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert option in proc.stderr and allowed in proc.stderr and value in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def compared(folder):
    paths = {k: folder / f"compare.{k}" for k in ("json", "csv")}
    proc = outreach(
        "compare",
        folder / "two_years.toml",
        folder / "more_close.toml",
        "--history-weeks",
        "26",
        "--json",
        paths["json"],
        "--csv",
        paths["csv"],
    )
    assert proc.returncode == 0, proc.stderr
    return proc, _json(paths["json"]), paths["csv"].read_text(encoding="utf-8")


def test_compare_json_has_years_per_scenario(compared):
    _, document, _ = compared
    assert document["history_weeks"] == {"two_years": 26, "more_close": 26}
    assert list(document["years"]) == ["two_years", "more_close"]
    for years in document["years"].values():
        assert [(y["year"], y["weeks"]) for y in years] == [(1, 52), (2, 52)]
        for y in years:
            assert set(REQUIRED) <= set(y["metrics"])
            for s in y["metrics"].values():
                assert set(s) == {"mean", "ci_low", "ci_high"}
    (label,) = document["year_differences"]
    assert label == "more_close"
    first, other = document["years"]["two_years"], document["years"]["more_close"]
    for k, y in enumerate(document["year_differences"][label]):
        d = y["metrics"]["encounters"]
        mean = other[k]["metrics"]["encounters"]["mean"] - first[k]["metrics"]["encounters"]["mean"]
        assert d["mean"] == pytest.approx(mean)
        # More than twice the close peers meet more clients each year, beyond the noise.
        assert d["distinguishable"] and d["mean"] > 0
        # The population's comings and goings are the same whatever the programme does.
        assert y["metrics"]["population_size_end"]["mean"] == 0


def test_compare_text_has_the_years_side_by_side_and_the_history(compared):
    proc, _, _ = compared
    out = proc.stdout
    history = [line for line in out.splitlines() if line.startswith("history:")]
    assert len(history) == 1 and "104 measured weeks after 26 weeks" in history[0]
    table = out[out.index("Year by year") :]
    lines = table.splitlines()
    assert lines[1].split()[:4] == ["measure", "scenario", "year", "1"]
    row = next(i for i, line in enumerate(lines) if line.startswith("Encounters"))
    assert "two_years" in lines[row] and "more_close" in lines[row + 2]
    assert lines[row + 2].rstrip().endswith("*")  # distinguishable, as the JSON says
    assert any(line.startswith("*: the paired difference") for line in lines)


def test_compare_csv_has_rows_by_year_after_the_whole_period(compared):
    _, document, text = compared
    rows = list(csv.DictReader(io.StringIO(text)))
    whole = [r for r in rows if r["year"] == ""]
    assert len(whole) == 2 * len(METRICS)
    by_year = [r for r in rows if r["year"]]
    assert {r["year"] for r in by_year} == {"1", "2"}
    row = next(
        r
        for r in by_year
        if (r["scenario"], r["metric"], r["year"]) == ("more_close", "clients_seen", "2")
    )
    want = document["years"]["more_close"][1]["metrics"]["clients_seen"]["mean"]
    assert float(row["mean"]) == pytest.approx(want)
    assert row["distinguishable"] in ("yes", "no")


def test_report_has_a_section_year_by_year(folder):
    out = folder / "report"
    proc = outreach(
        "report",
        folder / "two_years.toml",
        "--history-weeks",
        "26",
        "--format",
        "markdown",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Year by year" in text
    section = text[text.index("## Year by year") :].split("\n## ")[0]
    assert "| measure | scenario | year 1 | year 2 |" in section
    assert "| Clients seen | two_years |" in section
    assert "after 26 weeks of the programme's history" in text
    assert "year" in (out / "results.csv").read_text(encoding="utf-8").splitlines()[0]

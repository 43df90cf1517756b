"""The table by year, the years of a JSON document and the line on a programme's history."""

from __future__ import annotations

from sim.model.metrics import YEAR_METRICS
from sim.output.reports import _is_num
from sim.output.tables import history_line, year_label, years_document, years_table


def _year(year: int, weeks: int, mean: float) -> dict:
    summary = {"mean": mean, "ci_low": mean - 1, "ci_high": mean + 1, "sd": 1.0, "n": 3}
    return {"year": year, "weeks": weeks, "metrics": {m: dict(summary) for m in YEAR_METRICS}}


def test_a_part_year_says_its_weeks():
    assert year_label({"year": 2, "weeks": 52}) == "year 2"
    assert year_label({"year": 3, "weeks": 20}) == "year 3 (20 weeks)"
    assert year_label({"year": 1, "weeks": 1}) == "year 1 (1 week)"


def test_years_table_has_means_then_intervals_in_a_column_per_year():
    lines = years_table([_year(1, 52, 1200.0), _year(2, 10, 5.0)]).splitlines()
    assert lines[0].split() == ["measure", "year", "1", "year", "2", "(10", "weeks)"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["Clients", "seen", "1,200", "5.0"]
    assert lines[3].split() == ["1,199", "to", "1,201", "4.0", "to", "6.0"]
    assert len(lines) == 2 + 2 * len(YEAR_METRICS)
    # The columns line up: every line is as wide as the header.
    assert len({len(line) for line in lines}) == 1


def test_an_interval_that_cannot_be_computed_is_a_dash():
    year = _year(1, 52, 0.5)
    year["metrics"]["clients_new_share"] = {
        "mean": float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
    }
    lines = years_table([year]).splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("Share of clients new"))
    assert lines[row].split()[-1] == "-" and lines[row + 1].split() == ["-"]


def test_years_document_keeps_mean_and_interval_in_table_order():
    (year,) = years_document([_year(1, 52, 10.0)])
    assert list(year) == ["year", "weeks", "metrics"]
    assert list(year["metrics"]) == list(YEAR_METRICS)
    assert year["metrics"]["encounters"] == {"mean": 10.0, "ci_low": 9.0, "ci_high": 11.0}


def test_history_line_only_when_there_is_a_history():
    assert history_line(0, 52) == ""
    assert history_line({"a": 0, "b": 0}, 52) == ""
    line = history_line(104, 52)
    assert line.startswith("history: results are of the 52 measured weeks after 104 weeks")
    both = history_line({"a": 104, "b": 104}, 52)
    assert both == line
    each = history_line({"a": 0, "b": 52}, 10)
    assert "a 0, b 52" in each and "10 measured weeks" in each


def test_report_cells_of_a_year_are_numbers():
    for text in ("612 (580 to 640)", "1,121* (370 to 1,872)", "0.091*", "-2 to +3", "-"):
        assert _is_num(text), text
    for text in ("two_years", "yes", "612 (580)"):
        assert not _is_num(text), text

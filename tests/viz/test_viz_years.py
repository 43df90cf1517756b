"""The workshop page and the animation over years and after a programme's history."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.model.outreach import OutreachModel
from sim.model.scenario import load_scenario
from sim.viz.figures import SeriesFigure, history_words, week_words

BASELINE = "scenarios/baseline.toml"


def test_a_run_of_a_year_says_the_week_as_before():
    model = OutreachModel(load_scenario(BASELINE, {"population.size": 300, "run.weeks": 52}))
    assert week_words(model) == "Week 0"
    model.run(3)
    assert week_words(model) == "Week 3"
    assert history_words(model) == ""


def test_a_longer_run_says_the_year_and_week_as_outreach_run_counts_them():
    model = OutreachModel(load_scenario(BASELINE, {"population.size": 300, "run.weeks": 104}))
    assert week_words(model) == "Year 1, week 0"
    said = {}
    for week in (1, 52, 53, 66, 104):
        model.run(week - model.week)
        said[week] = week_words(model)
    assert said == {
        1: "Year 1, week 1",
        52: "Year 1, week 52",
        53: "Year 2, week 1",
        66: "Year 2, week 14",
        104: "Year 2, week 52",
    }


def test_the_page_starts_after_the_history_and_says_so(monkeypatch):
    pytest.importorskip("solara")
    from sim.viz import app

    s = load_scenario(BASELINE, {"population.size": 300, "run.weeks": 20, "run.history_weeks": 30})
    monkeypatch.setattr(app, "base_scenario", lambda: s)
    model = app.WorkshopModel()
    assert model.week == model.start_week == 30
    assert week_words(model) == "Year 1, week 0"
    assert history_words(model) == "after 30 weeks of the programme's history"
    # The history ran as in `outreach run`: the same weeks as a plain model's.
    plain = OutreachModel(s)
    plain.run(30)
    assert model.weekly == plain.weekly
    model.step()
    assert week_words(model) == "Year 1, week 1"
    # Its twin (two policies side by side) starts at the same week with the same numbers.
    twin = model.twin()
    assert twin.week == 31 and twin.weekly == model.weekly
    # The plots show the history shaded, and the whole programme fits the time axis.
    series = SeriesFigure(model)
    assert series.ax_reach.get_xlim()[1] >= 50
    assert any(t.get_text() == "history" for t in series.ax_reach.texts)


def test_animation_starts_after_the_history(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "history.gif"
    code = main(
        [
            "animate",
            BASELINE,
            "--set",
            "population.size=300",
            "--set",
            "run.history_weeks=10",
            "--weeks",
            "3",
            "--dpi",
            "30",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert Image.open(out).n_frames == 4  # the start of the measured weeks, then each week
    assert "4 frames" in capsys.readouterr().out


@pytest.mark.e2e
@pytest.mark.browser
def test_page_in_chromium_opens_after_the_history(tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.viz.test_viz_browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        _need_browser,
        page_opener,
        running_viz,
    )

    _need_browser()
    args = ("--set", "population.size=1000", "--set", "run.history_weeks=60")
    with running_viz(tmp_path, *args) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            with page_opener(browser, server["url"], ".outreach-week") as opener:
                pg = opener(1600, 1000)
                assert pg.inner_text(".outreach-week").strip() == "Year 1, week 0"
                note = pg.inner_text(".outreach-history").strip()
                assert note == "after 60 weeks of the programme's history"
                pg.get_by_role("button", name="Step", exact=True).click()
                pg.wait_for_function(
                    "document.querySelector('.outreach-week')?.innerText.trim() == "
                    "'Year 1, week 1'",
                    timeout=15000,
                )
        finally:
            browser.close()

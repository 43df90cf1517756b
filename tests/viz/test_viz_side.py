"""Two policies side by side on the workshop page (``outreach viz --side-by-side``).

Without a browser: a twin run (:meth:`sim.viz.app.WorkshopModel.twin`) has the very numbers of
its original, week by week and person by person, steps with it, and parts from it only after a
policy changes on one side. In Debian's Chromium (the server and browser set-up of
``test_viz_browser``): the page opens with two runs; Step and the keys step both; with the same
policy on both sides every counter is the same on both sides and every difference is 0; after
the proposal's form adds distant peers the numbers differ and the difference shown is right
minus left; the current policy's own form still changes the left run; Reset keeps the proposal;
the "One policy" and "Two policies" buttons switch. At 1024x768 and 1280x720, scrolled through
the whole page: no text overlaps other text or a control (the check of ``test_viz_layout``), the
two networks take at least 40% of the window's width together, and a screenshot of the top goes
to ``test-artifacts/viz-side-<width>x<height>.png``. No request leaves the machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.scenario import load_scenario
from tests.viz import test_viz_layout as layout_test
from tests.viz.test_viz_browser import REPO, _need_browser, _week, page_opener, running_viz
from tests.viz.test_viz_layout import MEASURE, MIN_FIGURE_SHARE, overlaps

# test_viz_layout's browser, started against this module's (side-by-side) server.
browser = layout_test.browser

SIZES = [(1024, 768), (1280, 720)]
#: Counters of the side-by-side table, by their weekly series' names.
COUNTERS = ("contacted", "engaged", "linked", "peers_exhausted_ever", "peers_active")
#: Distant peers the proposal adds (the slider's steps).
ADDED = 8


# ------------------------------------------------------------------------- without a browser


@pytest.fixture
def workshop(monkeypatch):
    """``sim.viz.app`` with a 600-person baseline as the server's scenario."""
    pytest.importorskip("solara")
    from sim.viz import app

    small = load_scenario("scenarios/baseline.toml", {"population.size": 600})
    monkeypatch.setattr(app, "base_scenario", lambda: small)
    return app


def _same(a, b) -> bool:
    return (
        all(a.weekly[k] == b.weekly[k] for k in a.weekly)
        and np.array_equal(a.cstate, b.cstate)
        and np.array_equal(a.ever, b.ever)
        and np.array_equal(a.p_energy[: a.n_peers], b.p_energy[: b.n_peers])
    )


def test_a_twin_has_the_same_numbers_until_one_side_changes(workshop):
    left = workshop.WorkshopModel()
    left.step()
    left.step()
    left.set_policy({"close_peers.count": 12})  # the twin makes the same change at week 2
    left.step()
    right = left.twin()
    assert right.week == left.week == 3 and right.world is left.world
    assert _same(left, right)  # exact: common random numbers, the same changes at the same weeks
    left.partner = right
    for _ in range(3):
        left.step()  # steps the partner too
    assert right.week == 6 and _same(left, right)
    assert right.own_changes() == {}
    right.set_policy({"distant_peers.count": 10 + ADDED})
    for _ in range(4):
        left.step()
    assert right.week == left.week == 10
    assert right.weekly["peers_active"][-1] > left.weekly["peers_active"][-1]
    assert right.weekly["contacted"][-1] != left.weekly["contacted"][-1]
    assert right.own_changes() == {"distant_peers.count": 10 + ADDED}
    # Up to the change both runs agree week by week.
    assert all(left.weekly[k][:7] == right.weekly[k][:7] for k in left.weekly)


def test_difference_words():
    pytest.importorskip("solara")
    from sim.viz.app import difference_words

    assert [difference_words(d) for d in (0, 12, -3, 1234)] == ["0", "+12", "-3", "+1,234"]


# ----------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``outreach viz --side-by-side`` on a free loopback port (small population: fast steps)."""
    _need_browser()
    with running_viz(
        tmp_path_factory.mktemp("viz-side"), "--side-by-side", "--set", "population.size=600"
    ) as running:
        yield running


@pytest.fixture
def open_page(server, browser):
    """Open the page at a window size; yields a function that returns it, offline-checked."""
    with page_opener(browser, server["url"], ".outreach-side-table") as opener:
        yield opener


def _numbers(pg) -> dict[str, tuple[int, int, str]]:
    """Each counter: (left, right, the difference as shown)."""

    def read(selector: str) -> str:
        return pg.inner_text(selector).strip()

    return {
        key: (
            int(read(f".outreach-left-{key}").replace(",", "")),
            int(read(f".outreach-right-{key}").replace(",", "")),
            read(f".outreach-diff-{key}"),
        )
        for key in COUNTERS
    }


def _policy(pg, side: str) -> str:
    """The policy sentence over one side's network."""
    return pg.inner_text(f".outreach-side-{side} .outreach-side-policy")


#: Milliseconds to wait for the page to show a week: a week draws two runs, and the machine
#: running the tests may be shared.
WAIT_MS = 45000


def _wait_week(pg, weeks: int) -> None:
    pg.wait_for_function(
        f"document.querySelector('.outreach-week')?.innerText.trim() == 'Week {weeks}'",
        timeout=WAIT_MS,
    )


def _step(pg, times: int) -> None:
    """Press Step ``times`` times, each time waiting for the page to show the next week."""
    for _ in range(times):
        week = _week(pg)
        pg.get_by_role("button", name="Step", exact=True).click()
        _wait_week(pg, week + 1)


def _apply(pg, side: str, name: str, presses: int) -> None:
    """Move one slider of one side's form by ``presses`` steps and apply it."""
    form = pg.locator(f".outreach-side-{side}-form")
    thumb = form.locator(f".outreach-now-{name} [role=slider]")
    start = int(thumb.get_attribute("aria-valuenow"))
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")
    pg.wait_for_function(
        f"document.querySelector('.outreach-side-{side}-form .outreach-now-{name} "
        f"[role=slider]').getAttribute('aria-valuenow') == '{start + presses}'",
        timeout=WAIT_MS,
    )
    # The slider's label is drawn by the server from its draft: once it shows the new value,
    # Apply applies that value (the button is enabled as soon as the first step arrives).
    pg.wait_for_function(
        f"document.querySelector('.outreach-side-{side}-form .outreach-now-{name} "
        f".outreach-slider-label').innerText.includes(': {start + presses} ')",
        timeout=WAIT_MS,
    )
    button = form.get_by_role("button", name="Apply from next week")
    pg.wait_for_function(
        f"!document.querySelector('.outreach-side-{side}-form .outreach-apply').disabled",
        timeout=WAIT_MS,
    )
    button.click()
    form.locator("text=Changes so far").wait_for(timeout=WAIT_MS)


@pytest.mark.e2e
@pytest.mark.browser
def test_both_runs_step_together_and_differ_after_a_change(open_page):
    pg = open_page(1280, 720)
    assert _week(pg) == 0
    _step(pg, 3)
    same = _numbers(pg)
    assert same["contacted"][0] > 0
    for key, (left, right, diff) in same.items():
        assert left == right and diff == "0", (key, left, right, diff)

    # The room's proposal: more distant peers, on the right only, from next week.
    _apply(pg, "right", "distant_peers", ADDED)
    assert f"{10 + ADDED} distant peers" in _policy(pg, "right")
    assert "10 distant peers" in _policy(pg, "left")
    _step(pg, 4)
    moved = _numbers(pg)
    for key, (left, right, diff) in moved.items():
        assert diff == (f"{right - left:+,}" if right != left else "0"), (key, left, right, diff)
    assert moved["peers_active"][1] > moved["peers_active"][0]
    assert moved["contacted"][1] != moved["contacted"][0]

    # A mid-run change on the left works too, and leaves the right alone.
    _apply(pg, "left", "close_peers", 2)
    assert "12 close peers" in _policy(pg, "left")
    assert "10 close peers" in _policy(pg, "right")

    # The keys step both sides (the focus leaves the slider first).
    pg.locator(".outreach-week").click()
    pg.keyboard.press("ArrowRight")
    _wait_week(pg, 8)
    # Reset: both back to week 0, the proposal kept from the start.
    pg.keyboard.press("r")
    _wait_week(pg, 0)
    pg.wait_for_function(
        "document.querySelector('.outreach-side-right .outreach-side-policy').innerText"
        f".includes('{10 + ADDED} distant peers')",
        timeout=WAIT_MS,
    )
    assert "10 distant peers" in _policy(pg, "left")
    _step(pg, 2)
    after_reset = _numbers(pg)
    assert after_reset["peers_active"][1] > after_reset["peers_active"][0]

    # One policy, then two again: a fresh twin, the same numbers on both sides.
    pg.click(".outreach-side-toggle")
    pg.wait_for_selector(".outreach-series img", timeout=30000)
    assert pg.query_selector(".outreach-side-table") is None
    pg.click(".outreach-side-toggle")
    pg.wait_for_selector(".outreach-side-table", timeout=30000)
    for key, (left, right, diff) in _numbers(pg).items():
        assert left == right and diff == "0", (key, left, right, diff)
    _step(pg, 1)
    for key, (left, right, diff) in _numbers(pg).items():
        assert left == right and diff == "0", (key, left, right, diff)


#: Everything in the page's scrolling parts, measured screen by screen from the top down.
SCROLL = (
    "(y) => document.querySelectorAll('.v-content__wrap > div, html').forEach(e => e.scrollTop = y)"
)
SCROLL_HEIGHT = (
    "Math.max(...[...document.querySelectorAll('.v-content__wrap > div, html')]"
    ".map(e => e.scrollHeight))"
)


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_side_by_side_fits_the_screen(open_page, size):
    width, height = size
    pg = open_page(width, height)
    _step(pg, 2)
    # Both networks, the legend and the difference drawn at the size shown.
    pg.wait_for_function(
        "[...document.querySelectorAll('.outreach-figure img')].length >= 6 &&"
        " [...document.querySelectorAll('.outreach-figure img')].every(i =>"
        " i.complete && i.naturalWidth > 0 &&"
        " Math.abs(i.naturalWidth - i.getBoundingClientRect().width) <= 2)",
        timeout=30000,
    )
    networks = pg.eval_on_selector_all(
        ".outreach-network img", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    diff_w = pg.eval_on_selector(".outreach-difference img", "e => e.getBoundingClientRect().width")
    artefacts = REPO / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    pg.screenshot(path=str(artefacts / f"viz-side-{width}x{height}.png"))
    parts, y = [], 0
    total = pg.evaluate(SCROLL_HEIGHT)
    while True:
        pg.evaluate(SCROLL, y)
        pg.wait_for_timeout(150)
        parts.append(pg.evaluate(MEASURE))
        if y + height >= total:
            break
        y += height - 120  # screens overlap, so nothing cut at an edge goes unmeasured
    for part in parts:
        over_text, covered = overlaps(part)
        assert over_text == [], f"text over text at {width}x{height}: {over_text[:5]}"
        assert covered == [], f"text over a control at {width}x{height}: {covered[:5]}"
    assert len(networks) == 2
    assert sum(networks) >= MIN_FIGURE_SHARE * width, (networks, width)
    assert diff_w >= MIN_FIGURE_SHARE * width, (diff_w, width)
    print(
        f"\nside by side {width}x{height}: networks {[round(w) for w in networks]} px "
        f"({sum(networks) / width:.0%} of the window), difference {diff_w:.0f} px; "
        f"{len(parts)} screens, 0 overlaps"
    )

"""Presenter mode of the workshop page, in Debian's Chromium (``outreach viz --present``).

At 1024x768 and 1280x720: the counters are at least :data:`MIN_COUNTER_PX` high, the network
alone takes most of the window and fits in it, no text overlaps other text or a control (the
check of ``test_viz_layout``), and a screenshot goes to
``test-artifacts/viz-present-<width>x<height>.png``. The keys drive the run: Right arrow and N
step one week, Space plays and pauses, R resets to week 0, and none of them fires while a slider
has the focus. The "Show controls" button brings the sidebar and the policy form back. No request
leaves the machine.
"""

from __future__ import annotations

import pytest

from tests.viz import test_viz_layout as layout_test
from tests.viz.test_viz_browser import REPO, _need_browser, _week, page_opener, running_viz
from tests.viz.test_viz_layout import MEASURE, overlaps

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# test_viz_layout's browser, started against this module's (presenter-mode) server.
browser = layout_test.browser

SIZES = [(1024, 768), (1280, 720)]
#: Smallest counter text, in CSS pixels: readable from the back of a room on a projector.
MIN_COUNTER_PX = 32
#: Share of the window's area the network figure takes at least.
MIN_NETWORK_SHARE = 0.55
COUNTERS = ("week", "contacted", "engaged", "linked", "working", "exhausted")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``outreach viz --present`` on a free loopback port (a small population: fast steps)."""
    _need_browser()
    with running_viz(
        tmp_path_factory.mktemp("viz-present"), "--present", "--set", "population.size=600"
    ) as running:
        yield running


@pytest.fixture
def open_page(server, browser):
    """Open the page at a window size; yields a function that returns it, offline-checked."""
    with page_opener(browser, server["url"], ".outreach-present .outreach-week") as opener:
        yield opener


def _press(pg, key: str, weeks: int) -> None:
    """Press a key and wait for the week counter to show ``weeks``."""
    pg.keyboard.press(key)
    _wait_week(pg, weeks)


def _wait_week(pg, weeks: int) -> None:
    pg.wait_for_function(
        f"document.querySelector('.outreach-week')?.innerText.trim() == 'Week {weeks}'",
        timeout=30000,
    )


def _network_fits(pg) -> None:
    """Wait until the network is drawn at the size shown, below the counters, in the window."""
    pg.wait_for_function(
        "(() => { const i = document.querySelector('.outreach-network img');"
        " const r = i && i.getBoundingClientRect();"
        " return i && i.complete && i.naturalWidth > 0 &&"
        " Math.abs(i.naturalWidth - r.width) <= 2 && Math.abs(i.naturalHeight - r.height) <= 2"
        " && r.bottom <= window.innerHeight && r.height > window.innerHeight / 2; })()",
        timeout=30000,
    )


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_presenter_mode_fills_the_screen(open_page, size):
    width, height = size
    pg = open_page(width, height)
    _press(pg, "ArrowRight", 1)
    _press(pg, "ArrowRight", 2)  # numbers in the counters
    _network_fits(pg)
    m = pg.evaluate(MEASURE)
    sizes = {
        name: pg.eval_on_selector(
            f".outreach-{name}", "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        for name in COUNTERS
    }
    hidden = pg.evaluate(
        "['nav.v-navigation-drawer', '.outreach-policy-form',"
        " '.outreach-series'].map(s => { const e = document.querySelector(s);"
        " return !e || !e.checkVisibility(); })"
    )
    artefacts = REPO / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    pg.screenshot(path=str(artefacts / f"viz-present-{width}x{height}.png"))

    assert min(sizes.values()) >= MIN_COUNTER_PX, sizes
    assert all(hidden), "sidebar, policy form and plots are out of the way"
    [network] = m["figures"]
    share = network["width"] * network["height"] / (width * height)
    assert share >= MIN_NETWORK_SHARE, (share, network)
    assert network["bottom"] <= height  # the whole network without scrolling
    over_text, covered = overlaps(m)
    assert over_text == [], f"text over text at {width}x{height}: {over_text[:5]}"
    assert covered == [], f"text over a control at {width}x{height}: {covered[:5]}"
    assert pg.is_visible("text=Space play/pause")
    print(
        f"\npresenter {width}x{height}: counters {min(sizes.values()):.0f}-"
        f"{max(sizes.values()):.0f} px, network {network['width']:.0f}x"
        f"{network['height']:.0f} px ({share:.0%} of the window); 0 overlaps"
    )


def test_presenter_keys_and_toggle(open_page):
    pg = open_page(1280, 720)
    assert _week(pg) == 0
    _press(pg, "ArrowRight", 1)
    _press(pg, "n", 2)
    # Space plays; the weeks advance on their own; a second Space pauses.
    pg.keyboard.press(" ")
    pg.wait_for_function(
        "parseInt(document.querySelector('.outreach-week')?.innerText.split(' ')[1]) >= 5",
        timeout=30000,
    )
    pg.keyboard.press(" ")
    # Weeks played before the pause may still be on their way to the page (on a loaded
    # machine the page shows them late): wait until the week holds still for a second.
    paused, shown = -1, _week(pg)
    for _ in range(30):
        if shown == paused:
            break
        paused = shown
        pg.wait_for_timeout(1000)
        shown = _week(pg)
    pg.wait_for_timeout(1000)
    assert _week(pg) == paused >= 5
    _press(pg, "r", 0)

    # The toggle brings the sidebar and the form back; the keys still work there ...
    pg.click(".outreach-present-toggle")
    pg.wait_for_selector("nav.v-navigation-drawer .outreach-sidebar", state="visible")
    pg.wait_for_selector(".outreach-policy-form", state="visible")
    assert pg.query_selector(".outreach-present") is None
    assert pg.get_by_role("button", name="Step", exact=True).is_visible()
    _press(pg, "ArrowRight", 1)
    # ... but not while a slider has the focus: the arrow moves the slider only.
    thumb = pg.locator(".outreach-now-close_peers [role=slider]")
    before = thumb.get_attribute("aria-valuenow")
    thumb.focus()
    thumb.press("ArrowRight")
    thumb.press("n")
    pg.wait_for_timeout(500)
    assert thumb.get_attribute("aria-valuenow") != before
    assert _week(pg) == 1
    # And back to presenter mode.
    pg.click(".outreach-present-toggle")
    pg.wait_for_selector("nav.v-navigation-drawer", state="hidden")

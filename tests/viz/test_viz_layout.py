"""The workshop page on real screens: 1024x768 and 1280x720 projectors, a 1920x1080 display.

In Debian's Chromium (the server and browser set-up of ``test_viz_browser``), at each size: no two
visible pieces of text overlap, no text overlaps a control (slider, button, select, checkbox),
the network and the plots are each at least 40% of the window's width and drawn at the size they
are shown (so the figures' text is shown at its own size, none below the page's body text),
every slider shows its value, and no request leaves the machine. A screenshot per size goes to
``test-artifacts/viz-<width>x<height>.png``. Inside the figures, where the browser sees only an
image, matplotlib's own text boxes are checked the same way, without a browser.
"""

from __future__ import annotations

import itertools

import pytest

from sim.model.scenario import load_scenario
from tests.viz import test_viz_browser as browser_test
from tests.viz.test_viz_browser import CHROMIUM, CHROMIUM_ARGS, REPO, _step

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The same server as the browser test (a free loopback port, stopped as Ctrl-C would), one for
# this module.
server = browser_test.server

SIZES = [(1024, 768), (1280, 720), (1920, 1080)]

#: Share of the window's width each main figure gets at least.
MIN_FIGURE_SHARE = 0.40

# Every visible text fragment (one box per line, clipped to what its scrolling containers show),
# every control, the figures, and each slider's label; measured in the page in one pass.
MEASURE = r"""
() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const shown = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  function clip(rect, el) {
    let r = {l: Math.max(rect.left, 0), t: Math.max(rect.top, 0),
             r: Math.min(rect.right, vw), b: Math.min(rect.bottom, vh)};
    for (let a = el.parentElement; a; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
        const c = a.getBoundingClientRect();
        r = {l: Math.max(r.l, c.left), t: Math.max(r.t, c.top),
             r: Math.min(r.r, c.right), b: Math.min(r.b, c.bottom)};
      }
    }
    return (r.r - r.l > 0.5 && r.b - r.t > 0.5) ? r : null;
  }
  const texts = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest('script, style, template, noscript')) continue;
    if (!shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const boxes = [...range.getClientRects()].map(r => clip(r, el)).filter(Boolean);
    if (!boxes.length) continue;
    texts.push({text: n.textContent.trim().slice(0, 60), boxes,
                size: parseFloat(getComputedStyle(el).fontSize), id: texts.length});
    n.__outreachId = texts.length - 1;
  }
  const controls = [];
  const kinds = {slider: '.v-slider', button: 'button', select: '.v-select .v-input__slot',
                 checkbox: '.v-input--selection-controls__input'};
  for (const [kind, sel] of Object.entries(kinds)) {
    for (const el of document.querySelectorAll(sel)) {
      if (!shown(el)) continue;
      const box = clip(el.getBoundingClientRect(), el);
      if (!box) continue;
      // Text inside the control (a button's word, a select's label) is the control's own.
      const own = [];
      const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (n.__outreachId !== undefined) own.push(n.__outreachId);
      }
      controls.push({kind, box, own, name: (el.innerText || el.className).trim().slice(0, 40)});
    }
  }
  // Presenter mode shows the network alone: a figure not in the page is left out.
  const figures = ['.outreach-network img', '.outreach-series img'].map(sel => {
    const img = document.querySelector(sel);
    if (!img) return null;
    const r = img.getBoundingClientRect();
    return {sel, width: r.width, height: r.height, top: r.top, bottom: r.bottom,
            natural: img.naturalWidth};
  }).filter(Boolean);
  const sliders = [...document.querySelectorAll('[role=slider]')].map(t => {
    const holder = t.closest('.outreach-slider');
    const label = holder && holder.querySelector('.outreach-slider-label');
    return {value: t.getAttribute('aria-valuenow'), label: label ? label.innerText : null};
  });
  const body = parseFloat(getComputedStyle(document.querySelector('.v-application')).fontSize);
  return {texts, controls, figures, sliders, body};
}
"""


def _overlap(a: dict, b: dict, tolerance: float = 1.0) -> bool:
    """Whether two boxes share more than ``tolerance`` pixels both across and down."""
    return (
        min(a["r"], b["r"]) - max(a["l"], b["l"]) > tolerance
        and min(a["b"], b["b"]) - max(a["t"], b["t"]) > tolerance
    )


def overlaps(part: dict) -> tuple[list, list]:
    """Text over text, and text over a control not its own, in one :data:`MEASURE` result."""
    texts = part["texts"]
    over_text = [
        (a["text"], b["text"])
        for a, b in itertools.combinations(texts, 2)
        if any(_overlap(x, y) for x in a["boxes"] for y in b["boxes"])
    ]
    over_control = [
        (t["text"], c["kind"], c["name"])
        for c in part["controls"]
        for t in texts
        if t["id"] not in c["own"] and any(_overlap(x, c["box"]) for x in t["boxes"])
    ]
    return over_text, over_control


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_page_fits_the_screen(server, browser, size):
    from sim.viz.figures import FONT

    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    outside: list[str] = []

    try:
        pg = context.new_page()
        pg.route("**/*", browser_test.offline(outside))
        pg.goto(server["url"])
        pg.wait_for_selector(".outreach-week", timeout=60000)
        _step(pg, 2)  # numbers in the counters, lines in the plots
        # The figures are redrawn for the width the browser reported: shown at their own size.
        # Twice, half a second apart: a scrollbar appearing narrows the column once more, and a
        # figure being replaced has no size for a moment.
        drawn = (
            "['.outreach-network img', '.outreach-series img'].every(s => {"
            " const i = document.querySelector(s);"
            " return i && i.complete && i.naturalWidth > 0 &&"
            " Math.abs(i.naturalWidth - i.getBoundingClientRect().width) <= 2; })"
        )
        pg.wait_for_function(drawn, timeout=30000)
        pg.wait_for_timeout(500)
        pg.wait_for_function(drawn, timeout=30000)
        m = pg.evaluate(MEASURE)
        artefacts = REPO / "test-artifacts"
        artefacts.mkdir(exist_ok=True)
        pg.screenshot(path=str(artefacts / f"viz-{width}x{height}.png"))
        # The rest of the page (the plots and the policy form on a small screen), scrolled to.
        pg.evaluate(
            "document.querySelectorAll('.v-content__wrap > div, "
            ".v-navigation-drawer__content').forEach(e => e.scrollTop = e.scrollHeight)"
        )
        pg.wait_for_timeout(200)
        below = pg.evaluate(MEASURE)
    finally:
        context.close()

    for part in (m, below):
        over_text, covered = overlaps(part)
        assert over_text == [], f"text over text at {width}x{height}: {over_text[:5]}"
        assert covered == [], f"text over a control at {width}x{height}: {covered[:5]}"
    texts = m["texts"] + below["texts"]

    for fig in m["figures"]:
        assert fig["width"] >= MIN_FIGURE_SHARE * width, (width, fig)
        scale = fig["width"] / fig["natural"]
        smallest = min(FONT.values()) * scale  # figure points are pixels at the page's 72 dpi
        assert smallest >= m["body"] - 0.5, (width, fig, smallest, m["body"])
    unlabelled = [
        s
        for s in m["sliders"]
        if not s["label"]
        or ":" not in s["label"]
        or (float(s["value"]) and f"{float(s['value']):g}" not in s["label"])
    ]
    assert m["sliders"] and unlabelled == [], unlabelled
    smallest_text = min(t["size"] for t in texts)
    widths = [round(f["width"]) for f in m["figures"]]
    shares = ", ".join(f"{w / width:.0%}" for w in widths)
    print(
        f"\n{width}x{height}: figures {widths} px wide ({shares} of the window), "
        f"figure text >= {smallest:.1f} px, body {m['body']:.0f} px, smallest page text "
        f"{smallest_text:.0f} px; {len(texts)} texts, {len(m['controls'])} controls, "
        f"{len(m['sliders'])} sliders; 0 overlaps"
    )
    assert outside == [], f"the page requested outside addresses: {outside[:5]}"


@pytest.mark.parametrize("column", [560, 700, 790, 879, 880, 956, 1200])
def test_figure_text_fits_inside_the_figures(column):
    """Titles, ticks, legends and captions inside the figures neither overlap nor leave them."""
    from matplotlib.text import Text

    from sim.model.outreach import OutreachModel
    from sim.viz.figures import BODY_PX, NetworkFigure, SeriesFigure

    model = OutreachModel(
        load_scenario("scenarios/baseline.toml", {"population.size": 600, "run.weeks": 12})
    )
    for _ in range(3):
        model.step()
    model.set_policy({"close_peers.count": 14})  # a "policy changed" mark on the plots
    model.step()
    network, series = NetworkFigure(model), SeriesFigure(model)
    network.fit(column)
    series.fit(column, 480)
    for figure in (network, series):
        figure.png(model)
        fig = figure.fig
        renderer = fig.canvas.get_renderer()
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
        assert [
            (a, b) for (a, x), (b, y) in itertools.combinations(boxes, 2) if x.overlaps(y)
        ] == []
        w, h = fig.bbox.width, fig.bbox.height
        assert [t for t, b in boxes if b.x0 < 0 or b.y0 < 0 or b.x1 > w or b.y1 > h] == []
        assert min(t.get_fontsize() for t in texts) >= BODY_PX
        assert abs(w - column) <= 1

"""Screenshots of the workshop page at 1024x768 for the README (``docs/figures/viz-*.png``).

Serves ``outreach viz baseline --set population.size=2000`` on a free loopback port, opens it in
Debian's Chromium through Playwright with every request off the machine refused, and plays the
session the README describes: eight weeks of the current policy, then two policies side by side
with the room's proposal (eight more distant peers) applied on the right, and eight weeks more.
Writes:

* ``viz-1024x768.png``: one policy, the top of the page after eight weeks;
* ``viz-peers-1024x768.png``: one policy, scrolled to the peers' week (each enrolled peer's
  hours, energy and state; who is enrolled, who left and why);
* ``viz-side-1024x768.png``: two policies, the top of the page (counters, both networks);
* ``viz-side-difference-1024x768.png``: two policies, scrolled to the difference week by week
  and each side's peers.

Usage:
    python experiments/viz_screenshots.py [--out docs/figures]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LOOPBACK = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")
SIZE = {"width": 1024, "height": 768}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _step(pg, weeks: int) -> None:
    for _ in range(weeks):
        week = int(pg.inner_text(".outreach-week").split()[1])
        pg.get_by_role("button", name="Step", exact=True).click()
        pg.wait_for_function(
            f"document.querySelector('.outreach-week')?.innerText.trim() == 'Week {week + 1}'",
            timeout=30000,
        )


def _drawn(pg) -> None:
    """Wait until every figure is drawn at the size it is shown."""
    pg.wait_for_function(
        "[...document.querySelectorAll('.outreach-figure img')].every(i =>"
        " i.complete && i.naturalWidth > 0 &&"
        " Math.abs(i.naturalWidth - i.getBoundingClientRect().width) <= 2)",
        timeout=30000,
    )
    pg.wait_for_timeout(300)


def _scroll_to(pg, selector: str) -> None:
    pg.evaluate(
        "(s) => { const e = document.querySelector(s);"
        " const wrap = document.querySelector('.v-content__wrap > div');"
        " const top = e.getBoundingClientRect().top - 72;"
        " if (wrap) { wrap.scrollTop += top; } window.scrollBy(0, top); }",
        selector,
    )
    pg.wait_for_timeout(300)


def shoot(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    written: list[Path] = []
    outside: list[str] = []

    def route(r):
        url = r.request.url
        if LOOPBACK.match(url) or url.startswith(("data:", "blob:")):
            return r.continue_()
        outside.append(url)
        return r.abort()

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "viz.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(log, "w") as sink:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sim.cli",
                    "viz",
                    "baseline",
                    "--set",
                    "population.size=2000",
                    "--port",
                    str(port),
                ],
                cwd=REPO,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            deadline = time.monotonic() + 180
            while "Workshop page:" not in log.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"outreach viz did not start: {log.read_text()[-500:]}")
                time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                try:
                    pg = browser.new_page(viewport=SIZE)
                    pg.route("**/*", route)
                    pg.goto(f"http://127.0.0.1:{port}/")
                    pg.wait_for_selector(".outreach-series img", timeout=90000)
                    _step(pg, 8)
                    _drawn(pg)
                    written.append(out / "viz-1024x768.png")
                    pg.screenshot(path=str(written[-1]))
                    _scroll_to(pg, ".outreach-peers")
                    written.append(out / "viz-peers-1024x768.png")
                    pg.screenshot(path=str(written[-1]))

                    pg.click(".outreach-side-toggle")
                    pg.wait_for_selector(".outreach-side-table", timeout=30000)
                    form = pg.locator(".outreach-side-right-form")
                    thumb = form.locator(".outreach-now-distant_peers [role=slider]")
                    thumb.focus()
                    for _ in range(8):
                        thumb.press("ArrowRight")
                    # The label, drawn by the server, shows the value Apply will apply.
                    form.locator(
                        ".outreach-now-distant_peers .outreach-slider-label", has_text=": 18 peers"
                    ).wait_for(timeout=30000)
                    form.get_by_role("button", name="Apply from next week").click()
                    form.locator("text=Changes so far").wait_for(timeout=15000)
                    pg.locator(".outreach-week").click()  # the keys' focus off the slider
                    _step(pg, 8)
                    _scroll_to(pg, ".outreach-week")
                    _drawn(pg)
                    written.append(out / "viz-side-1024x768.png")
                    pg.screenshot(path=str(written[-1]))
                    _scroll_to(pg, ".outreach-difference")
                    written.append(out / "viz-side-difference-1024x768.png")
                    pg.screenshot(path=str(written[-1]))
                finally:
                    browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if outside:
        raise RuntimeError(f"the page requested outside addresses: {outside[:5]}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "figures",
        help="folder for the PNG files (default docs/figures)",
    )
    args = parser.parse_args(argv)
    for path in shoot(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

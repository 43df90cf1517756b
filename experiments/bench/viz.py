"""Benchmark of the workshop page: weeks a second at 2,000 clients, one policy and two.

Two parts, printed as one JSON document on stdout:

* ``render``: in this process, without a browser, the work the server does for each week at a
  1024x768 projector's column width (724 CSS pixels): the engine's step alone (the baseline of
  the ratios), the single view (step, network, time series and peers' bars as PNG), and the
  side-by-side view (both runs' steps, two networks and two peers' bars at half the width, the
  difference plot). Each is timed over ``--weeks`` weeks after a warm-up, median of 3 rounds.
* ``browser``: ``outreach viz baseline --set population.size=2000`` (and with
  ``--side-by-side``) served on a loopback port, opened in Debian's Chromium through
  Playwright at 1024x768; the Step button is clicked ``--weeks`` times, each time waiting until
  the page shows the next week, so a week's time includes the step, the drawing, the images'
  trip over the websocket and the browser's layout. Skipped (with the reason) where Chromium or
  Playwright is missing.

Target: at least 5 weeks a second in each view, in the browser.

Usage:
    python experiments/bench/viz.py                  # both parts
    python experiments/bench/viz.py --part render --weeks 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 2000
#: The main column at 1024x768 with the sidebar open, in CSS pixels (the layout test's figure).
COLUMN_PX = 724
TARGET_WEEKS_PER_SECOND = 5.0
CHROMIUM = "/usr/bin/chromium"


def _scenario():
    from sim.model.scenario import load_scenario

    return load_scenario(
        REPO / "scenarios" / "baseline.toml", {"population.size": CLIENTS, "run.weeks": 52}
    )


def _rate(week, weeks: int, rounds: int = 3) -> tuple[float, list[float], float]:
    """Weeks a second of ``week()`` over ``rounds`` rounds of ``weeks`` calls: the median
    round's, every round's, and the median CPU milliseconds a week (this process's CPU time,
    which other people's work on a shared machine changes less than the clock's)."""
    rates, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(weeks):
            week()
        rates.append(weeks / (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu) / weeks)
    return statistics.median(rates), rates, statistics.median(cpu)


def render(weeks: int) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    from sim.model.outreach import OutreachModel
    from sim.viz.figures import DiffFigure, NetworkFigure, PeersFigure, SeriesFigure

    scenario = _scenario()
    half = (COLUMN_PX - 16) // 2

    def fresh():
        return OutreachModel(scenario)

    engine = fresh()
    engine.step()  # compiles (or loads) the kernels

    single = fresh()
    net, series, peers = NetworkFigure(single), SeriesFigure(single), PeersFigure(single)
    net.fit(COLUMN_PX)
    series.fit(COLUMN_PX, 434)
    peers.fit(COLUMN_PX)

    def single_week():
        single.step()
        net.png(single)
        series.png(single)
        peers.png(single)

    left, right = fresh(), fresh()
    right.set_policy({"distant_peers.count": scenario.distant_peers.count + 8})
    nets = [NetworkFigure(m, legend=False) for m in (left, right)]
    bars = [PeersFigure(m) for m in (left, right)]
    diff = DiffFigure(left, right)
    for f in nets + bars:
        f.fit(half)
    diff.fit(COLUMN_PX, 434)

    def side_week():
        left.step()
        right.step()
        for m, f, b in zip((left, right), nets, bars, strict=True):
            f.png(m)
            b.png(m)
        diff.png(left, right)

    for f in (single_week, side_week):
        f()  # first drawing: backgrounds, layout
    e, e_all, e_cpu = _rate(engine.step, weeks)
    s, s_all, s_cpu = _rate(single_week, weeks)
    d, d_all, d_cpu = _rate(side_week, weeks)
    return {
        "clients": CLIENTS,
        "column_px": COLUMN_PX,
        "weeks_per_round": weeks,
        "engine_weeks_per_second": round(e, 1),
        "single_view_weeks_per_second": round(s, 1),
        "side_view_weeks_per_second": round(d, 1),
        "single_view_rounds": [round(x, 1) for x in s_all],
        "side_view_rounds": [round(x, 1) for x in d_all],
        "engine_rounds": [round(x, 1) for x in e_all],
        "engine_cpu_ms_per_week": round(e_cpu, 2),
        "single_view_cpu_ms_per_week": round(s_cpu, 1),
        "side_view_cpu_ms_per_week": round(d_cpu, 1),
        "single_view_time_over_engine": round(e / s, 1),
        "side_view_time_over_single_view": round(s / d, 2),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(extra: list[str], log: Path):
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "sim.cli",
        "viz",
        "baseline",
        "--set",
        f"population.size={CLIENTS}",
        "--port",
        str(port),
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = open(log, "w")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    deadline = time.monotonic() + 180
    while "Workshop page:" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"outreach viz did not start: {log.read_text()[-500:]}")
        time.sleep(0.2)
    return proc, out, f"http://127.0.0.1:{port}/"


def _stop(proc, out) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.close()


def _click_weeks(pg, weeks: int) -> float:
    start = time.perf_counter()
    for _ in range(weeks):
        week = int(pg.inner_text(".outreach-week").split()[1])
        pg.get_by_role("button", name="Step", exact=True).click()
        pg.wait_for_function(
            f"document.querySelector('.outreach-week')?.innerText.trim() == 'Week {week + 1}'",
            timeout=30000,
        )
    return weeks / (time.perf_counter() - start)


def browser(weeks: int) -> dict:
    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} not found"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright not installed"}
    import tempfile

    out: dict = {"clients": CLIENTS, "viewport": "1024x768", "weeks_per_round": weeks}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for view, extra, ready in (
                ("single", [], ".outreach-series img"),
                ("side", ["--side-by-side"], ".outreach-difference img"),
            ):
                proc, log, url = _serve(extra, Path(tmp) / f"{view}.log")
                try:
                    pg = chromium.new_page(viewport={"width": 1024, "height": 768})
                    pg.goto(url)
                    pg.wait_for_selector(ready, timeout=90000)
                    _click_weeks(pg, 3)  # first drawings at the reported width
                    rates = [_click_weeks(pg, weeks) for _ in range(3)]
                    out[f"{view}_view_weeks_per_second"] = round(statistics.median(rates), 1)
                    out[f"{view}_view_rounds"] = [round(r, 1) for r in rates]
                    pg.close()
                finally:
                    _stop(proc, log)
        finally:
            chromium.close()
    out["side_over_single"] = round(
        out["side_view_weeks_per_second"] / out["single_view_weeks_per_second"], 2
    )
    out["target_weeks_per_second"] = TARGET_WEEKS_PER_SECOND
    out["meets_target"] = (
        min(out["single_view_weeks_per_second"], out["side_view_weeks_per_second"])
        >= TARGET_WEEKS_PER_SECOND
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        choices=("render", "browser"),
        action="append",
        help="run only this part (repeatable)",
    )
    parser.add_argument("--weeks", type=int, default=20, help="weeks a round (default 20)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    results: dict = {}
    for part in args.part or ["render", "browser"]:
        results[part] = {"render": render, "browser": browser}[part](args.weeks)
    # Other people's work on the machine slows the clock's figures; its load says how much.
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

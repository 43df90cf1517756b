"""The ``outreach viz`` and ``outreach animate`` commands.

Importing this module imports neither solara, matplotlib nor numba, so the CLI starts fast; the
commands import what they need when they run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sim.cli.options import int_in, scenario_path
from sim.errors import UserInputError

__all__ = ["register"]

DEFAULT_PORT = 8765
#: Seconds to wait for the page server to listen (its first start compiles the numba kernels).
START_TIMEOUT = 180.0
#: How to get the page's libraries, installed from a package index or from a checkout.
VIZ_EXTRA_HINT = (
    "pip install 'peer-outreach[viz]' (in a checkout of the source: pip install -e '.[viz]')"
)


_port = int_in(1, 65535)
_positive = int_in(1)

#: The animation's frame in inches (:func:`sim.viz.animate.animate`): 1440 x 700 pixels at 80 dpi.
FRAME_INCHES = (18.0, 8.75)
#: Highest --dpi. A GIF writer holds every week's frame in memory until the end: at 300 dpi
#: a frame is 5400 x 2625 pixels (beyond a 4K screen, print quality), 42 MB, and 52 weeks
#: peak at about 3 GB; at 1067 dpi Pillow refuses a frame outright, after minutes of work.
MAX_DPI = 300


def _dpi(text: str) -> int:
    """An argparse type: a resolution the animation's frames and writer can hold."""
    value = int_in(1)(text)
    if value > MAX_DPI:
        w, h = (round(x * value) for x in FRAME_INCHES)
        mw, mh = (round(x * MAX_DPI) for x in FRAME_INCHES)
        raise argparse.ArgumentTypeError(
            f"{text!r} must be at most {MAX_DPI} ({w} x {h}-pixel frames; {MAX_DPI} dpi gives "
            f"{mw} x {mh}, and a GIF holds every week's frame in memory)"
        )
    return value


def register(subparsers) -> None:
    """Add the ``viz`` and ``animate`` commands to the CLI's subparsers."""
    viz = subparsers.add_parser(
        "viz",
        help="serve the live workshop page (network, plots, policy controls)",
        description="Serve a browser page that shows outreach spreading through the network "
        "week by week, with controls to step, play, reset and change policies "
        f"mid-run. Needs the viz extra: {VIZ_EXTRA_HINT}. Works offline.",
        epilog="Keys on the page (in presenter mode too; not while typing in a field or a "
        "select): Space play/pause, Right arrow or N step one week, R reset.",
    )
    viz.add_argument(
        "scenario", metavar="SCENARIO", help="scenario file (TOML) or a shipped scenario's name"
    )
    viz.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="P",
        help=f"port to serve on (default {DEFAULT_PORT})",
    )
    viz.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; "
        "0.0.0.0 lets others in the room connect)",
    )
    viz.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a scenario value by dotted key (repeatable); a relative "
        "network.file is taken from the current folder",
    )
    viz.add_argument(
        "--present",
        action="store_true",
        help="open in presenter mode: big counters and one large network view, the "
        'sidebar and policy form hidden (the page\'s "Show controls" button '
        "brings them back)",
    )
    viz.add_argument(
        "--side-by-side",
        action="store_true",
        dest="side",
        help="open with two policies side by side: a second run of the same world "
        "and the same random numbers, the room's proposal, stepping with the "
        "first, their difference shown as it grows (the page's \"Two "
        'policies" button switches)',
    )
    viz.set_defaults(func=_cmd_viz)

    anim = subparsers.add_parser(
        "animate",
        help="render the workshop view of one run to a GIF or MP4",
        description="Run one replicate of a scenario and render the network and time series "
        "week by week to an animation, for showing without Python.",
    )
    anim.add_argument(
        "scenario", metavar="SCENARIO", help="scenario file (TOML) or a shipped scenario's name"
    )
    anim.add_argument(
        "--out", required=True, metavar="PATH", help="output file: .gif, or .mp4 (needs ffmpeg)"
    )
    anim.add_argument(
        "--weeks",
        type=_positive,
        metavar="W",
        help="weeks to show (default: the scenario's run.weeks)",
    )
    anim.add_argument("--fps", type=_positive, default=4, help="weeks per second (default 4)")
    anim.add_argument(
        "--dpi",
        type=_dpi,
        default=80,
        help=f"resolution, dots per inch, 1 to {MAX_DPI} (default 80: 1440x700 pixels)",
    )
    anim.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="WEEK:KEY=VALUE",
        help="change a policy at a week, e.g. 26:close_peers.count=20 "
        "(repeatable); marked on the plots as in the page",
    )
    anim.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a scenario value by dotted key (repeatable); a relative "
        "network.file is taken from the current folder",
    )
    anim.set_defaults(func=_cmd_animate)


# ---------------------------------------------------------------------------------------- viz


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line if ``host:port`` cannot be listened on (in use, or a bad address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise UserInputError(
            f"--host {host!r}: not an address of this machine ({err.strerror})"
        ) from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # Same option as the server will use, so a port in TIME_WAIT is not reported as in use.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as err:
            raise UserInputError(
                f"--port {port}: cannot listen on {host}:{port} "
                f"({err.strerror}); choose another port with --port"
            ) from None


def _wait_listening(host: str, port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until the server accepts connections; False if it exited first."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to stop the server if this CLI process dies without cleaning up."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server: Ctrl-C first (a clean shutdown), then terminate, then kill."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            proc.send_signal(sig)
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def _raise_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def _cmd_viz(args: argparse.Namespace) -> int:
    import importlib.util

    from sim.cli.options import load_with_sets, parse_sets

    overrides = parse_sets(args.overrides)
    path = scenario_path(args.scenario)
    scenario = load_with_sets(path, overrides, args.overrides)  # bad input stops here
    missing = [m for m in ("solara", "mesa.visualization") if importlib.util.find_spec(m) is None]
    if missing:
        raise UserInputError(
            f"the page needs the viz extra ({', '.join(missing)} not installed): {VIZ_EXTRA_HINT}"
        )
    _check_port_free(args.host, args.port)
    env = dict(os.environ)
    env["OUTREACH_VIZ_SCENARIO"] = str(path.resolve())
    env["OUTREACH_VIZ_OVERRIDES"] = json.dumps(overrides)
    env["OUTREACH_VIZ_PRESENT"] = "1" if args.present else "0"
    env["OUTREACH_VIZ_SIDE"] = "1" if args.side else "0"
    # Offline room: no telemetry, no version check against PyPI.
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    # Mesa 3.3.1's page trips solara's hook checker with a warning a workshop cannot act on.
    env.setdefault("SOLARA_CHECK_HOOKS", "off")
    # The browser tab's title while the page loads (the page then sets the same one).
    env["SOLARA_THEME_TITLE"] = f"Peer outreach: {scenario.name}"
    # A page opened at 127.0.0.1 rather than localhost makes solara warn, in ten lines, that
    # its session cookie falls back to SameSite=Lax over http: right for a workshop's own
    # machine, and nothing the facilitator can act on.
    env["PYTHONWARNINGS"] = ",".join(
        w
        for w in (
            env.get("PYTHONWARNINGS", ""),
            "ignore:Cookies with samesite=none require https:UserWarning",
        )
        if w
    )
    # The page lives with the visualisation (sim/viz/app.py), not with the commands.
    app = Path(__file__).resolve().parents[1] / "viz" / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(app),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--no-check-version",
        "--log-level",
        "warning",
    ]
    # Own session: a Ctrl-C reaches this process only, which then stops the server exactly once.
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=_die_with_parent)
    # Stop cleanly on Ctrl-C and on a polite kill, even where a shell started us with SIGINT
    # ignored (a background job).
    previous = {
        sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        if not _wait_listening(args.host, args.port, proc, START_TIMEOUT):
            code = proc.poll()
            _stop(proc)
            raise UserInputError(
                f"the page server did not start on {args.host}:{args.port}"
                + (
                    f" (it exited with status {code})"
                    if code is not None
                    else f" within {START_TIMEOUT:.0f} s"
                )
            )
        shown = "localhost" if args.host in ("127.0.0.1", "::1") else args.host
        print(f"Workshop page: http://{shown}:{args.port}  (Ctrl-C to stop)", flush=True)
        code = proc.wait()
        if code != 0:
            print(f"outreach viz: the page server stopped with status {code}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        _stop(proc)
        print("outreach viz: stopped", file=sys.stderr)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------------------------ animate


def _parse_changes(items: list[str]) -> list[tuple[int, dict]]:
    from sim.model.scenario import parse_overrides

    out = []
    for item in items:
        week_text, sep, pair = item.partition(":")
        try:
            week = int(week_text)
        except ValueError:
            week = -1
        if not sep or week < 0:
            raise UserInputError(
                f"--change {item!r}: must be WEEK:KEY=VALUE with a whole week "
                "number, for example 26:close_peers.count=20"
            )
        out.append((week, parse_overrides([pair])))
    return out


def _cmd_animate(args: argparse.Namespace) -> int:
    import shutil

    from sim.cli.options import load_with_sets, parse_sets
    from sim.output.atomic import check_writable

    overrides = parse_sets(args.overrides)
    if args.weeks is not None:
        overrides["run.weeks"] = args.weeks
    scenario = load_with_sets(scenario_path(args.scenario), overrides, args.overrides)
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise UserInputError(f"--out {args.out!r}: must end in .gif or .mp4")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise UserInputError(
            f"--out {args.out!r}: an MP4 needs ffmpeg, which is not on PATH; "
            "install it (apt-get install ffmpeg) or write a .gif"
        )
    changes = _parse_changes(args.change)
    for week, change in changes:  # check each change now, not after minutes of rendering
        try:
            scenario.replace(change)
        except UserInputError as err:
            raise UserInputError(f"--change at week {week}: {err}") from None
    check_writable(args.out, "--out")
    from sim.viz.animate import animate

    frames = animate(scenario, args.out, fps=args.fps, dpi=args.dpi, changes=changes)
    print(f"{frames} frames ({scenario.run.weeks} weeks) written to {args.out}")
    return 0

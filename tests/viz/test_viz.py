"""The workshop visualisation without a browser: layout, figures, animation, CLI errors."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest

from sim.cli import main
from sim.model.scenario import load_scenario
from tests.cli_helpers import outreach

BASELINE = "scenarios/baseline.toml"


@pytest.fixture(scope="module")
def small():
    return load_scenario(BASELINE, {"population.size": 300, "run.weeks": 6})


def test_commands_module_imports_nothing_heavy():
    heavy = "('solara', 'matplotlib', 'numba', 'mesa')"
    code = (
        "import sys, sim.cli.viz, sim.cli; sim.cli.build_parser(); "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_layout_is_fixed_and_large_populations_show_neighbourhoods():
    from sim.model.outreach import OutreachModel
    from sim.viz.layout import MAX_NODES, network_view

    s = load_scenario(BASELINE, {"population.size": 2000})
    model = OutreachModel(s)
    view = network_view(model)
    assert view.sampled and len(view.nodes) <= MAX_NODES + 20
    assert np.all(view.index_of(model.p_node[: model.n_peers]) >= 0)  # every peer drawn
    before = view.pos.copy()
    model.set_policy({"close_peers.count": 16})
    model.step()
    grown = network_view(model)
    assert grown is view
    assert np.array_equal(grown.pos[: len(before)], before)  # nobody already drawn moves
    assert np.all(grown.index_of(model.p_node[: model.n_peers]) >= 0)
    e = grown.edges
    assert np.all(e[:, 0] < e[:, 1])


def test_figures_render_and_mark_policy_changes(small):
    from PIL import Image

    from sim.model.outreach import OutreachModel
    from sim.viz.figures import NetworkFigure, SeriesFigure

    model = OutreachModel(small)
    net, series = NetworkFigure(model), SeriesFigure(model)
    first = net.png(model)
    model.step()
    model.set_policy({"wellbeing.supervision_every_weeks": 2})
    model.step()
    assert net.png(model) != first
    png = series.png(model)
    assert Image.open(__import__("io").BytesIO(png)).size[0] > 300
    assert len(series._marks) == 3  # a line on each plot and a label


def test_workshop_model_applies_only_changed_policies():
    pytest.importorskip("solara")
    from sim.viz import app

    s = load_scenario(BASELINE, {"distant_peers.caseload_cap": 7})
    values = app.policy_values(s)
    assert app.policy_overrides(s, values) == {}  # unchanged caps stay apart
    out = app.policy_overrides(
        s, {**values, "recruitment": "from engaged clients", "close_peers": 3}
    )
    assert out == {
        "close_peers.count": 3,
        "close_peers.recruitment": "from_engaged",
        "distant_peers.recruitment": "from_engaged",
    }


def test_animate_writes_a_gif_with_a_frame_a_week(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "run.gif"
    code = main(
        [
            "animate",
            BASELINE,
            "--set",
            "population.size=300",
            "--weeks",
            "4",
            "--dpi",
            "30",
            "--out",
            str(out),
            "--change",
            "2:close_peers.count=14",
        ]
    )
    assert code == 0
    assert Image.open(out).n_frames == 5
    assert "5 frames" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["animate", BASELINE, "--out", "x.avi"], "must end in .gif or .mp4"),
        (["animate", BASELINE, "--out", "/no/such/dir/x.gif"], "--out"),
        (
            ["animate", BASELINE, "--out", "x.gif", "--change", "soon:close_peers.count=2"],
            "WEEK:KEY=VALUE",
        ),
        (["animate", "missing.toml", "--out", "x.gif"], "missing.toml"),
        (["viz", "missing.toml"], "missing.toml"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_mp4_without_ffmpeg_names_what_to_install(monkeypatch, capsys):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["animate", BASELINE, "--out", "x.mp4"]) == 2
    assert "ffmpeg" in capsys.readouterr().err


def test_viz_refuses_a_port_in_use(capsys):
    pytest.importorskip("solara")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["viz", BASELINE, "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--port {port}" in err and err.count("\n") == 1


def test_viz_rejects_a_bad_port():
    out = outreach("viz", BASELINE, "--port", "99999")
    assert out.returncode == 2 and out.stderr.count("\n") == 1


def _text_fits(fig) -> None:
    """No two pieces of a figure's text overlap, none leaves it, none is below body size."""
    import itertools

    from matplotlib.text import Text

    from sim.viz.figures import BODY_PX

    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    assert [(a, b) for (a, x), (b, y) in itertools.combinations(boxes, 2) if x.overlaps(y)] == []
    w, h = fig.bbox.width, fig.bbox.height
    assert [t for t, b in boxes if b.x0 < 0 or b.y0 < 0 or b.x1 > w or b.y1 > h] == []
    assert min(t.get_fontsize() for t in texts) >= BODY_PX


@pytest.fixture(scope="module")
def pair():
    """Two runs of a 600-person baseline, the right with 8 more distant peers from week 3."""
    from sim.model.outreach import OutreachModel

    s = load_scenario(BASELINE, {"population.size": 600, "run.weeks": 12})
    left, right = OutreachModel(s), OutreachModel(s)
    for week in range(8):
        if week == 3:
            right.set_policy({"distant_peers.count": 18})
        left.step()
        right.step()
    return left, right


@pytest.mark.parametrize("column", [340, 470, 724, 956])
def test_side_by_side_figures_keep_their_text_inside(pair, column):
    """Half-width networks (no legend), the shared legend, the peers' bars and, at a whole
    column's width, the difference plot: text inside, apart, at least the body size."""
    from sim.viz.figures import DiffFigure, LegendFigure, NetworkFigure, PeersFigure

    left, right = pair
    net, legend, peers = NetworkFigure(left, legend=False), LegendFigure(left), PeersFigure(left)
    net.fit(column)
    legend.fit(column)
    peers.fit(column)
    for figure in (net, peers):
        figure.png(left)
        _text_fits(figure.fig)
        assert abs(figure.fig.bbox.width - column) <= 1
    legend.png()
    _text_fits(legend.fig)
    assert legend.fig.bbox.width == column
    if column >= 600:  # the difference plot spans the page's column
        diff = DiffFigure(left, right)
        diff.fit(column, 420)
        diff.png(left, right)
        _text_fits(diff.fig)


def test_difference_plot_is_right_minus_left(pair):
    from sim.viz.figures import DiffFigure

    left, right = pair
    diff = DiffFigure(left, right)
    x, y = diff.lines["peers_exhausted_ever"].get_data()
    assert len(x) == 9
    for key in ("contacted", "engaged", "linked"):
        _, y = diff.lines[key].get_data()
        want = np.subtract(right.weekly[key], left.weekly[key])
        assert np.array_equal(y, want)
        assert np.all(want[:4] == 0)  # the same numbers until the change at week 3
    assert diff._marked == (3,)  # the change is marked


def test_peers_bars_show_hours_and_energy(pair):
    from sim.model import state as E
    from sim.viz.figures import PeersFigure, mean_peer_hours, peer_week

    left, _ = pair
    pw = peer_week(left)
    n = left.n_peers
    in_post = left.p_status[:n] != E.WITHDRAWN
    assert pw["row"].size == in_post.sum()
    assert list(pw["kind"]) == sorted(pw["kind"])  # close peers first
    working = pw["status"] == E.ACTIVE
    # Every working peer worked some of their hours (but one back from a break at the week's
    # end, who had none); resting ones had none available.
    back = left.p_break_until[pw["row"]] == left.week - 1
    assert np.all(pw["worked"][working & ~back] > 0) and np.all(pw["available"][~working] == 0)
    assert np.all(pw["available"][working] <= left.scenario.close_peers.hours_per_week)
    assert mean_peer_hours(left) == pytest.approx(left.metrics()["peer_hours_per_week"])
    peers = PeersFigure(left)
    peers.fit(500)
    peers.png(left)
    assert len(peers._worked.get_segments()) == pw["row"].size
    assert len(peers._close.get_offsets()) + len(peers._distant.get_offsets()) == pw["row"].size


def test_clients_outside_the_service_orbit_are_hollow():
    """Clients outside the service orbit (the world's ``in_orbit`` is 0: no services in the
    past year) are drawn hollow, ringed in their state's colour, and the legends say so; in a
    world where everyone is in the orbit every client is filled."""
    import dataclasses

    from sim.model.outreach import OutreachModel
    from sim.model.world import build_world
    from sim.viz.figures import LegendFigure, NetworkFigure
    from sim.viz.layout import network_view

    s = load_scenario(BASELINE, {"population.size": 300, "run.weeks": 4})
    world = build_world(s, 0)
    orbit = np.asarray(world.in_orbit) == 1
    model = OutreachModel(s, 0, world)
    model.step()
    net = NetworkFigure(model)
    net.png(model)
    nodes = network_view(model).nodes
    assert nodes.size == net._n_view
    clients = model.role[nodes] == 0
    faces = net._clients.get_facecolors()
    outside = ~orbit[nodes] & clients
    assert outside.any() and (orbit[nodes] & clients).any()
    # Drawn hollow (white, ringed) where they are, not filled.
    assert np.array_equal(net._hollow.get_offsets(), network_view(model).pos[outside])
    assert np.all(net._hollow.get_facecolors() == 1.0)
    assert np.all(np.asarray(net._hollow.get_linewidths()) > 0)
    assert np.all(faces[outside, 3] == 0) and np.all(faces[orbit[nodes] & clients, 3] == 1)
    labels = [t.get_text() for t in net._legend_box.get_texts()]
    assert any("no service in a year" in t for t in labels)
    assert LegendFigure(model).orbit

    everyone = dataclasses.replace(
        world, in_orbit=np.ones(world.n, np.int8), orbit_nodes=np.arange(world.n, dtype=np.int32)
    )
    inside = OutreachModel(s, 0, everyone)
    full = NetworkFigure(inside)
    full.png(inside)
    assert len(full._hollow.get_offsets()) == 0


@pytest.fixture(scope="module")
def careers():
    """A 600-person baseline after 12 weeks in which peers often take breaks and leave.

    Breaks (8 a year) and leaving for other work or a move (half the peers a year each) are
    made frequent, so the run has peers on a break, peers who left and several reasons at once.
    """
    from sim.model.outreach import OutreachModel

    s = load_scenario(
        BASELINE,
        {
            "population.size": 600,
            "run.weeks": 12,
            "careers.breaks_per_year": 8.0,
            "careers.leave_other_work_per_year": 0.5,
            "careers.leave_moving_per_year": 0.5,
        },
    )
    model = OutreachModel(s)
    for _ in range(12):
        model.step()
    return model


def _rgba(colour: str) -> np.ndarray:
    from matplotlib.colors import to_rgba

    return np.array(to_rgba(colour))


def test_network_draws_peers_on_a_break_dashed_and_leavers_hollow(careers):
    """A peer on a break keeps the kind's colour and a size by energy, outlined dashed in the
    break colour; a peer who left (any reason) is small, white and grey; the legend says so."""
    from sim.model import state as E
    from sim.viz.figures import BREAK_DASHES, PALETTE, LegendFigure, NetworkFigure

    model = careers
    n = model.n_peers
    status = model.p_status[:n]
    assert (status == E.BREAK).any() and (status == E.WITHDRAWN).any()
    net = NetworkFigure(model)
    net.png(model)
    dashed = (0.0, list(BREAK_DASHES[1]))
    seen = 0
    for scatter, kind in ((net._close, E.CLOSE), (net._distant, E.DISTANT)):
        mine = np.flatnonzero(model.p_kind[:n] == kind)
        st = status[mine]
        sizes = scatter.get_sizes()
        edges = scatter.get_edgecolors()
        faces = scatter.get_facecolors()
        styles = scatter.get_linestyles()
        width = np.asarray(scatter.get_linewidths())
        energy = np.clip(model.p_energy[mine], 0.0, 1.0)
        away, left = st == E.BREAK, st == E.WITHDRAWN
        seen += away.sum()
        assert np.allclose(sizes[away], 110.0 + 420.0 * energy[away])
        assert np.allclose(edges[away], _rgba(PALETTE["break"]))
        assert np.allclose(faces[away], _rgba(PALETTE["close" if kind == E.CLOSE else "distant"]))
        # Dash lengths scale with the outline's width, as matplotlib draws them.
        for j in np.flatnonzero(away):
            offset, dashes = styles[j]
            assert dashes is not None and offset == 0.0
            assert np.allclose(dashes, np.multiply(dashed[1], width[j]))
        for j in np.flatnonzero(~away):
            assert styles[j][1] is None  # solid
        assert np.all(sizes[left] == 70.0) and np.allclose(faces[left], _rgba("white"))
        assert np.allclose(edges[left], _rgba(PALETTE["withdrawn"]))
    assert seen == (status == E.BREAK).sum()
    labels = [t.get_text() for t in net._legend_box.get_texts()]
    assert "Peer on a break (dashed)" in labels and "Peer who left (any reason)" in labels
    legend = LegendFigure(model)
    legend.fit(700)
    legend.png()
    assert "Peer on a break (dashed)" in [t.get_text() for t in legend._legend.get_texts()]


def test_series_peers_panel_has_breaks_and_leavers(careers):
    from sim.viz.figures import SeriesFigure

    series = SeriesFigure(careers)
    series.png(careers)
    labels = [t.get_text() for t in series.ax_peers.get_legend().get_texts()]
    assert labels == [
        "Working",
        "Resting (exhausted now)",
        "On a break",
        "Ever exhausted",
        "Left (any reason)",
    ]
    _, y = series.lines["peers_on_break"].get_data()
    assert np.array_equal(y, careers.weekly["peers_on_break"])
    assert y.max() > 0


def test_peers_bars_list_every_enrolled_peer_with_its_state(careers):
    """Working, resting and on-a-break peers are listed (who left is not); a peer on a break has
    no hours and its energy in the break colour, its marker outlined dashed."""
    from sim.model import state as E
    from sim.viz.figures import PALETTE, PeersFigure, peer_week

    model = careers
    n = model.n_peers
    pw = peer_week(model)
    enrolled = np.flatnonzero(model.p_status[:n] != E.WITHDRAWN)
    assert sorted(pw["row"]) == list(enrolled)
    away = pw["status"] == E.BREAK
    assert away.any()
    assert np.all(pw["available"][away] == 0) and np.all(pw["worked"][away] == 0)
    assert np.allclose(pw["energy"][away], np.clip(model.p_energy[pw["row"][away]], 0, 1))
    peers = PeersFigure(model)
    peers.fit(600)
    peers.png(model)
    colours = peers._energy.get_colors()
    want = {E.ACTIVE: "working", E.RESTING: "exhausted", E.BREAK: "break"}
    for j, st in enumerate(pw["status"]):
        assert np.allclose(colours[j], _rgba(PALETTE[want[int(st)]]))
    for scatter, kind in ((peers._close, E.CLOSE), (peers._distant, E.DISTANT)):
        mine = pw["status"][pw["kind"] == kind]
        styles = scatter.get_linestyles()
        assert [s[1] is not None for s in styles[: mine.size]] == list(mine == E.BREAK)


def test_leaving_line_counts_who_left_and_why(careers):
    from sim.model import state as E
    from sim.viz.figures import enrolled_words, leaving_counts, leaving_words

    model = careers
    n = model.n_peers
    status, reason = model.p_status[:n], model.p_left_reason[:n]
    counts = leaving_counts(model)
    assert list(counts) == list(E.LEAVING_REASONS.values())
    for code, name in E.LEAVING_REASONS.items():
        assert counts[name] == np.sum((status == E.WITHDRAWN) & (reason == code))
    total = int(np.sum(status == E.WITHDRAWN))
    assert sum(counts.values()) == total and sum(v > 0 for v in counts.values()) >= 2
    line = leaving_words(model)
    assert line.startswith(f"Left so far: {total} peers (")
    for name, words in (("other_work", "other work or study"), ("moving", "moved away")):
        assert (f"{counts[name]} {words}" in line) == (counts[name] > 0)
    assert "0 " not in line  # reasons nobody left for are not named
    working, resting, away = (int(np.sum(status == c)) for c in (E.ACTIVE, E.RESTING, E.BREAK))
    assert enrolled_words(model) == (
        f"Enrolled: {working + resting + away} ({working} working, {resting} resting "
        f"exhausted, {away} on a break)"
    )


def test_leaving_line_before_anyone_left(small):
    from sim.model.outreach import OutreachModel
    from sim.viz.figures import leaving_words

    assert leaving_words(OutreachModel(small)) == "Left so far: none"


def test_pay_control_is_pay_an_hour_for_both_kinds(monkeypatch):
    """The pay slider sets both kinds' pay an hour, 0 to 40 in half steps, 'unpaid' at 0; a
    fresh run (Reset) and a change during the run both reach the model's pay_per_hour."""
    pytest.importorskip("solara")
    from sim.viz import app

    keys, label, widget = app.POLICIES["pay_per_hour"]
    assert "pay_per_week" not in app.POLICIES
    assert keys == ("close_peers.pay_per_hour", "distant_peers.pay_per_hour")
    assert label == "Peer pay an hour"
    assert (widget["type"], widget["min"], widget["max"], widget["step"]) == (
        "SliderFloat",
        0.0,
        40.0,
        0.5,
    )
    assert app.value_words(widget, 0.0) == "unpaid"
    assert app.value_words(widget, 12.5) == "12.5 (currency)"

    s = load_scenario(BASELINE, {"population.size": 300})
    assert app.policy_values(s)["pay_per_hour"] == s.close_peers.pay_per_hour
    assert app.model_params(s)["pay_per_hour"]["label"] == "Peer pay an hour"
    values = {**app.policy_values(s), "pay_per_hour": 15.0}
    assert app.policy_overrides(s, values) == {
        "close_peers.pay_per_hour": 15.0,
        "distant_peers.pay_per_hour": 15.0,
    }
    monkeypatch.setattr(app, "base_scenario", lambda: s)
    model = app.WorkshopModel(pay_per_hour=20.0)
    assert model.scenario.close_peers.pay_per_hour == 20.0
    assert model.scenario.distant_peers.pay_per_hour == 20.0
    model.set_policy(app.policy_overrides(model.scenario, {"pay_per_hour": 0.0}))
    model.step()
    assert model.scenario.close_peers.pay_per_hour == 0.0
    assert model.scenario.distant_peers.pay_per_hour == 0.0
    assert {key for _, key, _ in model.policy_changes} == set(keys)
    twin = model.twin()  # the side-by-side view's right run keeps the change
    assert twin.scenario.distant_peers.pay_per_hour == 0.0

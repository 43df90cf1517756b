"""The workshop visualisation without a browser: layout, figures, animation, CLI errors."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest

from sim.cli import main
from sim.model.scenario import load_scenario

BASELINE = "scenarios/baseline.toml"


@pytest.fixture(scope="module")
def small():
    return load_scenario(BASELINE, {"population.size": 300, "run.weeks": 6})


def test_commands_module_imports_nothing_heavy():
    heavy = "('solara', 'matplotlib', 'numba', 'mesa')"
    code = ("import sys, sim.cli.viz, sim.cli; sim.cli.build_parser(); "
            f"print(sorted(m for m in {heavy} if m in sys.modules))")
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
    out = app.policy_overrides(s, {**values, "recruitment": "from engaged clients",
                                   "close_peers": 3})
    assert out == {"close_peers.count": 3, "close_peers.recruitment": "from_engaged",
                   "distant_peers.recruitment": "from_engaged"}


def test_animate_writes_a_gif_with_a_frame_a_week(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "run.gif"
    code = main(["animate", BASELINE, "--set", "population.size=300", "--weeks", "4",
                 "--dpi", "30", "--out", str(out), "--change", "2:close_peers.count=14"])
    assert code == 0
    assert Image.open(out).n_frames == 5
    assert "5 frames" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["animate", BASELINE, "--out", "x.avi"], "must end in .gif or .mp4"),
    (["animate", BASELINE, "--out", "/no/such/dir/x.gif"], "--out"),
    (["animate", BASELINE, "--out", "x.gif", "--change", "soon:close_peers.count=2"],
     "WEEK:KEY=VALUE"),
    (["animate", "missing.toml", "--out", "x.gif"], "missing.toml"),
    (["viz", "missing.toml"], "missing.toml"),
])
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
    out = subprocess.run([sys.executable, "-m", "sim.cli", "viz", BASELINE, "--port", "99999"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1

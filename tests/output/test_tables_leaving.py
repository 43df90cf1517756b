"""The line on why peers left, under `outreach run`'s tables."""

from __future__ import annotations

from sim.output.tables import leaving_line


def _m(x: float) -> dict:
    return {"left": {"mean": x}, "size": {"mean": 20.0}, "left_share": {"mean": x / 20}}


def test_leaving_line_names_each_reason_with_its_mean_and_the_total():
    groups = {"peers_left": {"exhaustion": _m(3.5), "moving": _m(0.5), "policy": _m(0.0)}}
    assert leaving_line(groups) == "Peers who left, mean a run: 4.0 (exhaustion 3.5, moving 0.5)"


def test_leaving_line_when_no_one_left():
    assert leaving_line({"peers_left": {"exhaustion": _m(0.0)}}) == "Peers who left: none"

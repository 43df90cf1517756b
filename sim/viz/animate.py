"""``outreach animate``: the workshop view of one run, frame by frame, to a GIF or an MP4.

For rooms without a laptop that runs Python: the same network and time-series figures as the
page (:mod:`sim.viz.figures`), one frame a week, drawn with matplotlib's ``FuncAnimation`` and
written by Pillow (GIF) or ffmpeg (MP4).
"""

from __future__ import annotations

from pathlib import Path

from sim.model.scenario import Scenario

__all__ = ["animate"]


def animate(
    scenario: Scenario,
    out: str | Path,
    fps: int = 4,
    dpi: int = 80,
    changes: list[tuple[int, dict]] | None = None,
    replicate: int = 0,
) -> int:
    """Run one replicate for ``scenario.run.weeks`` weeks and write the animation.

    A programme's history (``run.history_weeks``) runs before the first frame; the frames are
    the measured weeks, as ``outreach run`` reports them.

    Args:
        scenario: the validated scenario.
        out: output path; ``.gif`` uses Pillow, ``.mp4`` ffmpeg.
        fps: frames (weeks) per second.
        dpi: resolution of the 18 x 8.75 inch frame.
        changes: ``(week, overrides)`` policy changes applied before that week's step (weeks
            counted from the measured start), as the page's "Apply from next week" does;
            marked on the plots.
        replicate: which replicate's random streams to use.

    Returns:
        The number of frames written (weeks + 1: the start, then each week).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
    from matplotlib.figure import Figure

    from sim.model.outreach import OutreachModel
    from sim.viz.figures import NetworkFigure, SeriesFigure

    model = OutreachModel(scenario, replicate)
    model.run(model.start_week)  # the history: not drawn, as its results are not reported
    pending = sorted(changes or [], key=lambda c: c[0])
    fig = Figure(figsize=(18.0, 8.75))
    left, right = fig.subfigures(1, 2, width_ratios=(1.0, 1.06))
    network = NetworkFigure(model, fig=left)
    series = SeriesFigure(model, fig=right)
    weeks = scenario.run.weeks

    def frame(i: int) -> list:
        if i > 0:  # frame 0 is the start
            while pending and pending[0][0] <= model.week - model.start_week:
                model.set_policy(pending.pop(0)[1])
            model.step()
        network.update(model)
        series.update(model)
        return []

    anim = FuncAnimation(
        fig, frame, frames=weeks + 1, interval=1000 / fps, blit=False, repeat=False
    )
    writer = FFMpegWriter(fps=fps) if Path(out).suffix.lower() == ".mp4" else PillowWriter(fps=fps)
    anim.save(str(out), writer=writer, dpi=dpi)
    return weeks + 1

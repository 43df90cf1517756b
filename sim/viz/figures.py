"""The workshop's pictures, drawn with matplotlib: the network and the time series.

The browser page (:mod:`sim.viz.app`) and the animation (:mod:`sim.viz.animate`) draw the same
figures. Each figure is built once per model and only its colours, sizes and line data change
from week to week, because rebuilding artists would dominate the page's time per week.

Colours are the Okabe-Ito palette (Okabe & Ito 2008), distinguishable with the common forms of
colour blindness; peers also differ by marker shape, so nothing depends on colour alone.
"""

from __future__ import annotations

import io
import threading

import numpy as np
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.transforms import IdentityTransform

from sim.model import state as E
from sim.viz.layout import network_view

__all__ = [
    "BODY_PX",
    "BREAK_DASHES",
    "DIFFERENCES",
    "DiffFigure",
    "FONT",
    "LEAVING_WORDS",
    "LegendFigure",
    "NetworkFigure",
    "PAGE_DPI",
    "PALETTE",
    "PeersFigure",
    "STATE_WORDS",
    "SeriesFigure",
    "enrolled_words",
    "history_words",
    "in_orbit",
    "leaving_counts",
    "leaving_words",
    "legend_handles",
    "mean_peer_hours",
    "peer_week",
    "png",
    "week_words",
]

#: Weeks in a year of the run (:data:`sim.model.outreach.WEEKS_PER_YEAR`).
WEEKS_PER_YEAR = 52

#: Okabe-Ito colours by meaning.
PALETTE = {
    "hidden": "#C8C8C8",  # light grey: not reached, recedes into the background
    "contacted": "#56B4E9",  # sky blue
    "engaged": "#E69F00",  # orange
    "linked": "#009E73",  # bluish green
    "retained": "#0072B2",  # blue
    "close": "#CC79A7",  # reddish purple
    "distant": "#F0E442",  # yellow, drawn with a black edge
    "exhausted": "#D55E00",  # vermillion
    "working": "#000000",
    "withdrawn": "#999999",
    # blue, as retained clients: a peer on a break also has a dashed outline (BREAK_DASHES),
    # so the two never rest on colour alone
    "break": "#0072B2",
}

#: A peer on a break: their marker's outline is dashed, in :data:`PALETTE` ``["break"]``.
BREAK_DASHES = (0, (2.0, 1.5))

#: The legend's words for client states, in state order (engine.HIDDEN .. RETAINED).
STATE_WORDS = (
    "Not reached yet",
    "Contacted by a peer",
    "Engaged: trusts a peer",
    "Linked: went to a service",
    "Retained in services",
)
_STATE_KEYS = ("hidden", "contacted", "engaged", "linked", "retained")
_STATE_RGBA = np.array(
    [[int(PALETTE[k][i : i + 2], 16) / 255 for i in (1, 3, 5)] + [1.0] for k in _STATE_KEYS]
)
_CLIENT_SIZE = np.array([22.0, 60.0, 75.0, 85.0, 85.0])  # reached clients stand out

#: Font sizes in points; the page draws at 72 dpi, so these are also pixels on screen, none
#: below :data:`BODY_PX`, the page's body text size.
FONT = {"title": 20, "label": 16, "tick": 16, "legend": 16}

#: The page's body text in CSS pixels (sim.viz.app's stylesheet); figure text is at least this.
BODY_PX = 16

#: Dots per inch of the page's images: one point is one CSS pixel, so the image shown at its own
#: size has text of exactly the sizes in :data:`FONT`.
PAGE_DPI = 72

#: From this column width (CSS pixels) on, the network's legend goes beside the network.
LEGEND_BESIDE_PX = 880


#: The network legend's title: what a peer marker's size means.
LEGEND_TITLE = "Bigger peer marker: more energy left"


def week_words(model) -> str:
    """The run's time as the page and the animation say it.

    ``Week 14`` for a run of a year at most without a history; otherwise the year and week of
    the measured period, as ``outreach run`` counts its years: ``Year 2, week 14`` after 66
    measured weeks (``Year 1, week 0`` before the first).
    """
    run = model.scenario.run
    measured = model.week - model.start_week
    if run.weeks <= WEEKS_PER_YEAR and run.history_weeks == 0:
        return f"Week {model.week}"
    if measured <= 0:
        return "Year 1, week 0"
    year, week = divmod(measured - 1, WEEKS_PER_YEAR)
    return f"Year {year + 1}, week {week + 1}"


def history_words(model) -> str:
    """A note on the programme's history before the measured weeks ("" without one)."""
    h = model.scenario.run.history_weeks
    return f"after {h} weeks of the programme's history" if h else ""


def _dot(color, label, marker="o", edge="none", lw=0.0, size=13) -> Line2D:
    return Line2D(
        [],
        [],
        ls="none",
        marker=marker,
        markersize=size,
        markerfacecolor=color,
        markeredgecolor=edge,
        markeredgewidth=lw,
        label=label,
    )


def in_orbit(model) -> np.ndarray | None:
    """Whether each person used services in the past year (the world's ``in_orbit``).

    None for a world object that does not record the service orbit: its clients are drawn
    filled, and its legend has no entry for the orbit.
    """
    orbit = getattr(model.world, "in_orbit", None)
    return None if orbit is None else np.asarray(orbit, bool)


def _break_ring(label: str, size: float = 15.0) -> PathCollection:
    """A legend entry for a peer on a break: a hollow marker with the dashed outline.

    A :class:`~matplotlib.lines.Line2D` draws marker outlines solid only; a scatter's outline
    keeps its dashes in the legend.
    """
    ring = PathCollection(
        [MarkerStyle("o").get_path().transformed(MarkerStyle("o").get_transform())],
        sizes=[size**2],
        facecolors="white",
        edgecolors=PALETTE["break"],
        linewidths=2.5,
        linestyles=[BREAK_DASHES],
        label=label,
    )
    # Sizes are in points, as a scatter's: set, or the legend would draw it in its own box's
    # coordinates.
    ring.set_transform(IdentityTransform())
    return ring


def legend_handles(orbit: bool = False) -> list:
    """The network's legend: client states, peer kinds and states, and (if known) the orbit.

    Args:
        orbit: the world knows who is outside the service orbit (:func:`in_orbit`); those
            clients are drawn hollow, in their state's colour.
    """
    handles = [_dot(PALETTE[k], w) for k, w in zip(_STATE_KEYS, STATE_WORDS, strict=True)]
    if orbit:
        handles.append(
            _dot("white", "Hollow: no service in a year", "o", PALETTE["contacted"], 2.0, 13)
        )
    handles += [
        _dot(PALETTE["close"], "Close peer (at a service site)", "s", "black", 1.0, 15),
        _dot(PALETTE["distant"], "Distant peer (in own networks)", "^", "black", 1.0, 16),
        _dot("white", "Peer exhausted, resting", "o", PALETTE["exhausted"], 3.5, 15),
        _break_ring("Peer on a break (dashed)"),
        _dot("white", "Peer who left (any reason)", "o", PALETTE["withdrawn"], 1.5, 11),
    ]
    return handles


def png(fig: Figure, dpi: int = 72) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class _Blitter:
    """Renders a figure to PNG by redrawing only what changes from week to week.

    Drawing every tick label, legend and tie each week costs 40-50 ms a figure, most of the
    page's time per week; the static part is drawn once into a saved background (blitting) and
    only the changing artists are drawn over it, until :meth:`invalidate` says the static part
    changed.
    """

    def __init__(self, fig: Figure, dynamic: list, dpi: int):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig.set_dpi(dpi)
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.dynamic = dynamic
        self.background = None

    def invalidate(self) -> None:
        """The static part changed (limits, marks, geometry): draw it again next time."""
        self.background = None

    def png(self) -> bytes:
        from PIL import Image

        if self.background is None:
            for artist in self.dynamic:
                artist.set_visible(False)
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            for artist in self.dynamic:
                artist.set_visible(True)
        self.canvas.restore_region(self.background)
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        buf = io.BytesIO()
        # Fast compression: the image crosses a loopback socket, not the internet. The figures
        # are opaque, so RGB loses nothing and leaves a quarter less to compress.
        Image.frombuffer(
            "RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        ).convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()


class NetworkFigure:
    """The social network: clients coloured by state, peers by kind, size by energy.

    Args:
        model: the :class:`sim.model.OutreachModel` to draw.
        size: figure size in inches, for a figure of its own.
        fig: draw into this figure or subfigure instead (the animation's left half).
        legend: draw the legend in the figure; two networks side by side share one
            :class:`LegendFigure` instead.
    """

    def __init__(
        self, model, size: tuple[float, float] = (9.0, 8.6), fig=None, legend: bool = True
    ):
        self.lock = threading.Lock()  # a figure is not safe to draw from two threads at once
        self.with_legend = legend
        self._orbit = in_orbit(model)
        # Fixed margins, no layout engine: a layout pass on every week's draw costs more than
        # the drawing itself.
        self.fig = Figure(figsize=size) if fig is None else fig
        self.ax = self.fig.add_axes((0.01, 0.29, 0.98, 0.6))
        ax = self.ax
        ax.set_axis_off()
        ax.set_aspect("equal")
        self._week = self.fig.text(
            0.02, 0.985, "", ha="left", va="top", fontsize=FONT["title"] + 6, weight="bold"
        )
        self._caption = self.fig.text(0.02, 0.925, "", ha="left", va="top", fontsize=FONT["tick"])
        self._edges = LineCollection([], colors="#B0B0B0", linewidths=0.6, alpha=0.6, zorder=1)
        ax.add_collection(self._edges)
        self._clients = ax.scatter([], [], s=[], linewidths=0, zorder=2)
        # Clients outside the service orbit, apart: markers with edges draw several times
        # slower, so only these have them.
        self._hollow = ax.scatter([], [], s=[], facecolors="white", linewidths=2.0, zorder=2)
        self._close = ax.scatter([], [], marker="s", zorder=3)
        self._distant = ax.scatter([], [], marker="^", zorder=3)
        self._n_view = -1
        self._narrow = False
        self._size: tuple[int, int | None] = (0, None)
        self._blitter: _Blitter | None = None
        self._legend_box = None
        self._legend()
        self.update(model)

    def _legend(
        self, ncol: int = 2, loc: str = "lower center", anchor: tuple[float, float] | None = None
    ) -> None:
        if getattr(self, "_legend_box", None) is not None:
            self._legend_box.remove()
        self._legend_box = None
        if not self.with_legend:
            return
        self._legend_box = self.fig.legend(
            handles=legend_handles(self._orbit is not None),
            loc=loc,
            bbox_to_anchor=anchor,
            ncol=ncol,
            frameon=False,
            fontsize=FONT["legend"],
            handletextpad=0.3,
            columnspacing=1.0,
            title=LEGEND_TITLE,
            title_fontsize=FONT["legend"],
        )

    def fit(self, width_px: int, height_px: int | None = None) -> bool:
        """Lay the figure out for a page column ``width_px`` CSS pixels wide.

        The figure is drawn at :data:`PAGE_DPI`, so the browser shows it at its own size and the
        text at the sizes in :data:`FONT`. A wide column gets the legend beside the network, a
        narrow one below it.

        Args:
            width_px: the column's width in CSS pixels.
            height_px: the figure's height (presenter mode fills the window's height); by
                default it follows from the width.

        Returns:
            True when the size changed (the next :meth:`png` draws everything again).
        """
        w = int(width_px)
        fixed_h = None if height_px is None else int(height_px)
        if (w, fixed_h) == self._size:
            return False
        with self.lock:
            self._size = (w, fixed_h)
            self.fig.set_dpi(PAGE_DPI)
            beside = w >= LEGEND_BESIDE_PX and self.with_legend
            if beside:
                self._legend(ncol=1, loc="center right")
            else:
                self._legend(ncol=2, loc="lower center")
            if self._legend_box is not None:
                box = self._legend_box.get_window_extent(_agg_renderer(self.fig))
                box_w, box_h = box.width, box.height
            else:
                box_w, box_h = 0.0, -14.0  # no legend, and no gap for one
            header = 68  # the week (26 px) and the caption (16 px) above the network
            # A narrow figure (two networks side by side) breaks the caption ("Showing 400 of
            # 2,000 people: peers and those around them", 420 px) into two lines.
            self._narrow = w < 560
            if self._narrow:
                header = 88
            if beside:
                graph_w = w - box_w - 32
                h = fixed_h or int(np.clip(0.85 * graph_w, 420, 640))
                rect = (8 / w, 8 / h, graph_w / w, (h - header - 16) / h)
                anchor = (1 - 8 / w, (h - header) / 2 / h)
            else:
                graph_h = int(np.clip(0.6 * w, 300, 520))
                if fixed_h:
                    graph_h = max(fixed_h - header - int(box_h) - 20, 200)
                h = int(header + graph_h + box_h + 20)
                rect = (8 / w, (box_h + 14) / h, 1 - 16 / w, graph_h / h)
                anchor = (0.5, 4 / h)
            if self._legend_box is not None:
                self._legend_box.set_bbox_to_anchor(anchor, transform=self.fig.transFigure)
            self.fig.set_size_inches(w / PAGE_DPI, h / PAGE_DPI)
            self.ax.set_position(rect)
            self._week.set_y(1 - 8 / h)
            self._caption.set_y(1 - 42 / h)
            self._week.set_x(8 / w)
            self._caption.set_x(8 / w)
            if self._blitter is not None:
                self._blitter.invalidate()
        return True

    def update(self, model) -> None:
        """Redraw for the model's current week (colours and sizes only, unless peers joined)."""
        view = network_view(model)
        if len(view.nodes) != self._n_view:  # first call, or new peers placed: geometry changes
            self._n_view = len(view.nodes)
            self._edges.set_segments(view.segments())
            self._clients.set_offsets(view.pos)
            pad = 0.06
            lo, hi = view.pos.min(axis=0) - pad, view.pos.max(axis=0) + pad
            self.ax.set_xlim(lo[0], hi[0])
            self.ax.set_ylim(lo[1], hi[1])
            if self._blitter is not None:
                self._blitter.invalidate()
        state = model.cstate[view.nodes]
        role = model.role[view.nodes]
        is_peer = (role == E.CLOSE) | (role == E.DISTANT)
        absent = role == E.ABSENT  # not in the population this week: not drawn
        rgba = _STATE_RGBA[state]
        rgba[is_peer | absent, 3] = 0.0  # peers are drawn by their own markers on top
        if self._orbit is not None:
            # Outside the service orbit: hollow, the ring in the state's colour.
            outside = ~self._orbit[view.nodes] & ~is_peer & ~absent
            self._hollow.set_offsets(view.pos[outside].reshape(-1, 2))
            self._hollow.set_edgecolors(rgba[outside])
            self._hollow.set_sizes(_CLIENT_SIZE[state[outside]])
            rgba[outside, 3] = 0.0
        self._clients.set_facecolors(rgba)
        self._clients.set_sizes(_CLIENT_SIZE[state])
        n = model.n_peers
        rows = np.arange(n)
        at = view.index_of(model.p_node[:n])
        for scatter, kind in ((self._close, E.CLOSE), (self._distant, E.DISTANT)):
            mine = rows[model.p_kind[:n] == kind]
            status = model.p_status[mine]
            scatter.set_offsets(view.pos[at[mine]].reshape(-1, 2))
            energy = np.clip(model.p_energy[mine], 0.0, 1.0)
            scatter.set_sizes(np.where(status == E.WITHDRAWN, 70.0, 110.0 + 420.0 * energy))
            _peer_outlines(scatter, kind, status)
        self._week.set_text(week_words(model))
        caption = f"Showing {view.caption}"
        caption = caption.replace(": ", ":\n") if self._narrow else caption
        # The caption changes only when the view grows; it is drawn with the static part
        # (a text's layout costs more than the 400 dots).
        if caption != self._caption.get_text():
            self._caption.set_text(caption)
            if self._blitter is not None:
                self._blitter.invalidate()

    def png(self, model, dpi: int = 72) -> bytes:
        """Update for ``model`` and render to PNG bytes (the page's fast path)."""
        with self.lock:
            if self._blitter is None:
                self._blitter = _Blitter(
                    self.fig,
                    [self._clients, self._hollow, self._close, self._distant, self._week],
                    dpi,
                )
            self.update(model)
            return self._blitter.png()


def _peer_outlines(scatter, kind: int, status: np.ndarray, width: float = 1.0) -> None:
    """Peers' markers by state: the kind's colour and an outline that says the state.

    Working peers have a thin black outline, resting (exhausted) ones a thick vermillion one,
    peers on a break a dashed one (:data:`BREAK_DASHES`); those who left are hollow and grey.
    The network and the peers' bars mark peers alike.

    Args:
        scatter: the kind's scatter, one marker per peer in ``status``.
        kind: ``E.CLOSE`` or ``E.DISTANT``.
        status: the peers' status codes.
        width: a factor on the outlines' widths (smaller markers, thinner outlines).
    """
    left, resting, away = status == E.WITHDRAWN, status == E.RESTING, status == E.BREAK
    face = np.where(left, "white", PALETTE["close" if kind == E.CLOSE else "distant"])
    edge = np.select(
        [resting, away, left],
        [PALETTE["exhausted"], PALETTE["break"], PALETTE["withdrawn"]],
        "black",
    )
    scatter.set_facecolors(face.tolist())
    scatter.set_edgecolors(edge.tolist())
    scatter.set_linewidths(width * np.select([resting, away], [4.0, 2.5], 1.2))
    # One style per marker; a collection with no markers still needs one.
    scatter.set_linestyles([BREAK_DASHES if a else "solid" for a in away] or ["solid"])


class SeriesFigure:
    """Time series of reach and of peers, with policy changes marked as vertical lines.

    Args:
        model: the :class:`sim.model.OutreachModel` to draw.
        size: figure size in inches, for a figure of its own.
        fig: draw into this figure or subfigure instead (the animation's right half).
    """

    REACH = (
        ("contacted", "Contacted"),
        ("engaged", "Engaged"),
        ("linked", "Linked to services"),
        ("retained", "Retained"),
    )
    PEERS = (
        ("peers_active", "Working", PALETTE["working"], "-"),
        ("peers_resting", "Resting (exhausted now)", PALETTE["exhausted"], "-"),
        ("peers_on_break", "On a break", PALETTE["break"], "-."),
        ("peers_exhausted_ever", "Ever exhausted", PALETTE["exhausted"], "--"),
        ("peers_withdrawn", "Left (any reason)", PALETTE["withdrawn"], ":"),
    )

    def __init__(self, model, size: tuple[float, float] = (9.0, 7.4), fig=None):
        self.lock = threading.Lock()
        self.fig = Figure(figsize=size) if fig is None else fig
        self.fig.subplots_adjust(left=0.1, right=0.6, top=0.93, bottom=0.1, hspace=0.28)
        self.ax_reach, self.ax_peers = self.fig.subplots(2, 1, sharex=True)
        self.lines: dict[str, Line2D] = {}
        for key, label in self.REACH:
            (self.lines[key],) = self.ax_reach.plot([], [], lw=3, color=PALETTE[key], label=label)
        for key, label, color, ls in self.PEERS:
            (self.lines[key],) = self.ax_peers.plot([], [], lw=3, color=color, ls=ls, label=label)
        for ax, title in ((self.ax_reach, "Clients reached so far"), (self.ax_peers, "Peers")):
            ax.set_title(title, fontsize=FONT["title"], loc="left")
            ax.tick_params(labelsize=FONT["tick"])
            ax.grid(alpha=0.3)
            ax.legend(
                fontsize=FONT["legend"],
                loc="center left",
                bbox_to_anchor=(1.01, 0.5),
                frameon=False,
            )
        self.ax_peers.set_xlabel("Week", fontsize=FONT["label"])
        history = model.scenario.run.history_weeks
        if history:  # the weeks before the measured ones, as the page starts after them
            for ax in (self.ax_reach, self.ax_peers):
                ax.axvspan(0, history, color=PALETTE["hidden"], alpha=0.35, lw=0, zorder=0)
            self.ax_reach.annotate(
                "history",
                (history / 2, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -4),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=FONT["legend"],
            )
        self._marks: list = []
        self._n_marked = -1
        self._size = (0, 0)
        self._blitter: _Blitter | None = None
        self.update(model)

    def fit(self, width_px: int, height_px: int) -> bool:
        """Lay the plots out for a ``width_px`` x ``height_px`` CSS-pixel place on the page.

        Drawn at :data:`PAGE_DPI` (see :meth:`NetworkFigure.fit`); the legends keep their
        measured width to the right of the plots, the margins hold the tick labels and titles.

        Returns:
            True when the size changed.
        """
        w, h = int(width_px), int(height_px)
        if (w, h) == self._size:
            return False
        with self.lock:
            self._size = (w, h)
            self.fig.set_dpi(PAGE_DPI)
            self.fig.set_size_inches(w / PAGE_DPI, h / PAGE_DPI)
            renderer = _agg_renderer(self.fig)
            legend_w = max(
                ax.get_legend().get_window_extent(renderer).width
                for ax in (self.ax_reach, self.ax_peers)
            )
            top, bottom, gap = 34, 60, 56  # title; ticks and "Week"; the lower plot's title
            plot_h = (h - top - bottom - gap) / 2
            self.fig.subplots_adjust(
                left=72 / w,
                right=1 - (legend_w + 24) / w,
                top=1 - top / h,
                bottom=bottom / h,
                hspace=gap / plot_h,
            )
            if self._blitter is not None:
                self._blitter.invalidate()
        return True

    def update(self, model) -> bool:
        """Set the lines to the model's weeks so far and mark its policy changes.

        Axis limits change in steps (the run's length, then doubling; round numbers upward), so
        most weeks only the lines move. Returns True when anything but the lines changed.
        """
        # Copies of the weeks every series has so far: Play steps the model in another thread
        # while a page draws, and a line holding the model's own list would find it longer at
        # drawing time than its weeks.
        n = min(len(model.weekly[key]) for key in self.lines)
        weeks = np.arange(n)
        for key, line in self.lines.items():
            line.set_data(weeks, np.array(model.weekly[key][:n], float))
        changed = False
        top_x = max(10, model.scenario.run.history_weeks + model.scenario.run.weeks)
        while top_x < len(weeks) - 1:
            top_x *= 2
        for ax, keys in (
            (self.ax_reach, [k for k, _ in self.REACH]),
            (self.ax_peers, [k for k, *_ in self.PEERS]),
        ):
            top_y = max(max(model.weekly[k]) for k in keys)
            x0, y1 = ax.get_xlim()[1], ax.get_ylim()[1]
            if top_y > y1 or y1 > 4 * max(top_y, 10) or x0 != top_x:  # new run after a reset
                ax.set_ylim(0, _round_up(max(10, 1.25 * top_y)))
                ax.set_xlim(0, top_x)
                changed = True
        changes = model.policy_changes
        if len(changes) != self._n_marked:
            for artist in self._marks:
                artist.remove()
            self._marks = []
            # One mark per week that had changes; the words go on the page beside the plot.
            for week in sorted({w for w, _, _ in changes}):
                for ax in (self.ax_reach, self.ax_peers):
                    self._marks.append(ax.axvline(week, color="black", ls="--", lw=2))
                self._marks.append(
                    self.ax_reach.annotate(
                        "policy\nchanged",
                        (week, 1.0),
                        xycoords=("data", "axes fraction"),
                        xytext=(4, -4),
                        textcoords="offset points",
                        va="top",
                        fontsize=FONT["legend"],
                    )
                )
            self._n_marked = len(changes)
            changed = True
        return changed

    def png(self, model, dpi: int = 72) -> bytes:
        """Update for ``model`` and render to PNG bytes (the page's fast path)."""
        with self.lock:
            if self._blitter is None:
                self._blitter = _Blitter(self.fig, list(self.lines.values()), dpi)
            if self.update(model):
                self._blitter.invalidate()
            return self._blitter.png()


class LegendFigure:
    """The network's legend on its own, as wide as the page's column (drawn once per width).

    Two networks side by side share it instead of each carrying a copy half as wide.

    Args:
        model: a model of the world drawn (whether it knows the service orbit).
    """

    def __init__(self, model):
        self.lock = threading.Lock()
        self.fig = Figure(figsize=(8.0, 2.0))
        self.orbit = in_orbit(model) is not None
        self._legend = None
        self._size = 0
        self._png: bytes | None = None

    def fit(self, width_px: int) -> bool:
        """Lay the legend out in as many columns as fit ``width_px`` CSS pixels (4 at most).

        Returns:
            True when the size changed.
        """
        w = int(width_px)
        if w == self._size:
            return False
        with self.lock:
            self._size = w
            self.fig.set_dpi(PAGE_DPI)
            self.fig.set_size_inches(w / PAGE_DPI, 4.0)
            renderer = _agg_renderer(self.fig)
            for ncol in (4, 3, 2, 1):
                if self._legend is not None:
                    self._legend.remove()
                self._legend = self.fig.legend(
                    handles=legend_handles(self.orbit),
                    loc="upper left",
                    ncol=ncol,
                    frameon=False,
                    fontsize=FONT["legend"],
                    handletextpad=0.3,
                    columnspacing=1.0,
                    title=LEGEND_TITLE,
                    title_fontsize=FONT["legend"],
                )
                box = self._legend.get_window_extent(renderer)
                if box.width <= w - 16:
                    break
            h = int(box.height) + 8
            self.fig.set_size_inches(w / PAGE_DPI, h / PAGE_DPI)
            self._legend.set_bbox_to_anchor((4 / w, 1 - 2 / h), transform=self.fig.transFigure)
            self._png = None
        return True

    def png(self, model=None, dpi: int = PAGE_DPI) -> bytes:  # noqa: ARG002
        """The legend as PNG bytes (drawn again only after a new width)."""
        with self.lock:
            if self._png is None:
                self._png = png(self.fig, dpi)
            return self._png


def peer_week(model) -> dict[str, np.ndarray]:
    """The peers enrolled now (working, resting or on a break), close peers first, and their week.

    Hours available are the model's (:meth:`~sim.model.outreach.OutreachModel.available_hours`:
    the kind's weekly hours tailored to the peer's assessed strength, as the engine plans a week);
    hours worked are the last week's, crises included, so they may exceed the hours available.
    A peer resting or on a break has no hours available and worked none.

    Returns:
        ``row`` (peer rows), ``kind``, ``status``, ``available`` and ``worked`` (hours),
        ``energy`` (0 to 1); ``rows`` in display order.
    """
    n = model.n_peers
    kind, status = model.p_kind[:n], model.p_status[:n]
    rows = np.flatnonzero(status != E.WITHDRAWN)  # who left is counted apart (leaving_counts)
    rows = rows[np.argsort(kind[rows], kind="stable")]  # close (1) before distant (2)
    working = status[rows] == E.ACTIVE
    return {
        "row": rows,
        "kind": kind[rows],
        "status": status[rows],
        "available": np.where(working, model.available_hours()[rows], 0.0),
        "worked": np.where(working, model.p_hours_worked[rows], 0.0),
        "energy": np.clip(model.p_energy[rows], 0.0, 1.0),
    }


#: Why peers left, in the page's words, by :data:`sim.model.state.LEAVING_REASONS`' names.
LEAVING_WORDS = {
    "exhaustion": "exhaustion",
    "relapse": "relapse",
    "other_work": "other work or study",
    "health_or_prison": "health or prison",
    "moving": "moved away",
    "policy": "let go (fewer posts)",
}


def leaving_counts(model) -> dict[str, int]:
    """How many peers have left so far, by reason (:data:`sim.model.state.LEAVING_REASONS`).

    Every peer of the run counts, replacements included; the reasons are in the model's order,
    those with no leaver included (as 0).
    """
    n = model.n_peers
    left = model.p_status[:n] == E.WITHDRAWN
    reasons = model.p_left_reason[:n][left]
    return {name: int(np.sum(reasons == code)) for code, name in E.LEAVING_REASONS.items()}


def leaving_words(model) -> str:
    """The line under the peers' bars: how many peers left so far and why.

    For example ``"Left so far: 3 peers (2 exhaustion, 1 moved away)"``; reasons with no
    leaver are not named.
    """
    counts = leaving_counts(model)
    total = sum(counts.values())
    if not total:
        return "Left so far: none"
    why = ", ".join(f"{k} {LEAVING_WORDS[name]}" for name, k in counts.items() if k)
    return f"Left so far: {total} {'peer' if total == 1 else 'peers'} ({why})"


def enrolled_words(model) -> str:
    """The peers enrolled now, by state.

    For example ``"Enrolled: 18 (15 working, 2 resting exhausted, 1 on a break)"``.
    """
    n = model.n_peers
    status = model.p_status[:n]
    working, resting, away = (int(np.sum(status == c)) for c in (E.ACTIVE, E.RESTING, E.BREAK))
    return (
        f"Enrolled: {working + resting + away} ({working} working, {resting} resting "
        f"exhausted, {away} on a break)"
    )


def mean_peer_hours(model) -> float:
    """Hours a working peer worked in an average week so far; NaN before the first week.

    The ``peer_hours_per_week`` metric of :mod:`sim.model.metrics`, as the run goes.
    """
    t = model.totals
    return t["peer_hours"] / t["peer_weeks"] if t["peer_weeks"] else float("nan")


class PeersFigure:
    """Each peer's week: hours worked of the hours available, and the energy left.

    One row per peer enrolled (:func:`peer_week`), marked by the kind's shape and outlined by
    state as in the network (thick vermillion: resting exhausted; dashed blue: on a break).
    Left, a grey bar of the hours available this week, the hours worked over it in black and
    any beyond it (crises) in vermillion; a peer resting or on a break has none. Right, the
    energy left: black while working, vermillion while resting exhausted, blue while on a
    break, with the exhaustion threshold dashed.

    Args:
        model: the :class:`sim.model.OutreachModel` to draw.
    """

    #: Rows the figure has room for before its bars get thinner.
    ROWS = 20

    def __init__(self, model):
        self.lock = threading.Lock()
        self.fig = Figure(figsize=(6.0, 4.0))
        self.ax_hours = self.fig.add_axes((0.1, 0.1, 0.5, 0.8))
        self.ax_energy = self.fig.add_axes((0.7, 0.1, 0.25, 0.8), sharey=self.ax_hours)
        self.ax_hours.set_title("Hours this week", fontsize=FONT["label"], loc="left")
        self.ax_energy.set_title("Energy", fontsize=FONT["label"], loc="left")
        for ax in (self.ax_hours, self.ax_energy):
            ax.tick_params(labelsize=FONT["tick"], left=False, labelleft=False)
            ax.grid(axis="x", alpha=0.3)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
        self.ax_energy.set_xlim(0.0, 1.0)
        self.ax_energy.set_xticks([0.0, 1.0], ["0", "full"])
        threshold = model.scenario.wellbeing.exhaustion_threshold
        self._threshold = self.ax_energy.axvline(
            threshold, color=PALETTE["exhausted"], ls="--", lw=2
        )

        def bars(ax, color):
            lc = LineCollection([], colors=color, capstyle="butt", zorder=2)
            ax.add_collection(lc)
            return lc

        self._available = bars(self.ax_hours, "#D9D9D9")
        self._worked = bars(self.ax_hours, PALETTE["working"])
        self._beyond = bars(self.ax_hours, PALETTE["exhausted"])
        self._energy_track = bars(self.ax_energy, "#D9D9D9")
        self._energy = bars(self.ax_energy, PALETTE["working"])
        from matplotlib.transforms import blended_transform_factory

        at_left = blended_transform_factory(self.ax_hours.transAxes, self.ax_hours.transData)
        self._close = self.ax_hours.scatter(
            [],
            [],
            marker="s",
            color=PALETTE["close"],
            edgecolors="black",
            linewidths=1.0,
            transform=at_left,
            clip_on=False,
            zorder=3,
        )
        self._distant = self.ax_hours.scatter(
            [],
            [],
            marker="^",
            color=PALETTE["distant"],
            edgecolors="black",
            linewidths=1.0,
            transform=at_left,
            clip_on=False,
            zorder=3,
        )
        self._size = 0
        self._row_px = 12.0
        self._plot_h = 300.0
        self._marker_x = -0.05
        self._n_rows = -1
        self._top_hours = 0.0
        self._blitter: _Blitter | None = None
        self.update(model)

    def fit(self, width_px: int) -> bool:
        """Lay the bars out for a ``width_px`` CSS-pixel column (height follows the width).

        Returns:
            True when the size changed.
        """
        w = int(width_px)
        if w == self._size:
            return False
        with self.lock:
            self._size = w
            h = int(np.clip(0.55 * w, 300, 440))
            self.fig.set_dpi(PAGE_DPI)
            self.fig.set_size_inches(w / PAGE_DPI, h / PAGE_DPI)
            top, bottom, left, gap, right = 32, 32, 30, 28, 16
            plot_w = w - left - gap - right
            hours_w = 0.64 * plot_w
            plot_h = h - top - bottom
            self.ax_hours.set_position((left / w, bottom / h, hours_w / w, plot_h / h))
            self.ax_energy.set_position(
                ((left + hours_w + gap) / w, bottom / h, (plot_w - hours_w) / w, plot_h / h)
            )
            self._plot_h = plot_h
            self._marker_x = -15 / hours_w
            self._n_rows = -1  # bar thickness follows the new height
            if self._blitter is not None:
                self._blitter.invalidate()
        return True

    def update(self, model) -> bool:
        """Set the bars to the model's last week; True when anything but the bars changed."""
        pw = peer_week(model)
        n = pw["row"].size
        y = np.arange(n, dtype=float)
        changed = False
        rows = max(n, self.ROWS)
        if rows != self._n_rows:
            self._n_rows = rows
            self.ax_hours.set_ylim(rows - 0.5, -0.5)  # the first peer at the top
            row_px = self._plot_h / rows
            self._row_px = row_px
            for lc in (
                self._available,
                self._worked,
                self._beyond,
                self._energy_track,
                self._energy,
            ):
                lc.set_linewidth(0.7 * row_px)  # points are pixels at PAGE_DPI
            changed = True
        avail, worked = pw["available"], pw["worked"]
        top = _round_up(max(1.0, float(avail.max(initial=0.0)), float(worked.max(initial=0.0))))
        if top != self._top_hours:
            self._top_hours = top
            self.ax_hours.set_xlim(0.0, top)
            # Three ticks, none past the end (where it would meet the energy's 0).
            self.ax_hours.set_xticks([0.0, top / 2, top], ["0", f"{top / 2:g}", f"{top:g}"])
            changed = True

        def segments(x0, x1):
            return np.stack([np.stack([x0, y], 1), np.stack([x1, y], 1)], 1).reshape(-1, 2, 2)

        zero = np.zeros(n)
        self._available.set_segments(segments(zero, avail))
        self._worked.set_segments(segments(zero, np.minimum(worked, avail)))
        self._beyond.set_segments(segments(np.minimum(worked, avail), worked))
        self._energy_track.set_segments(segments(zero, np.ones(n)))
        self._energy.set_segments(segments(zero, pw["energy"]))
        energy_colour = {E.RESTING: PALETTE["exhausted"], E.BREAK: PALETTE["break"]}
        self._energy.set_colors(
            [energy_colour.get(int(st), PALETTE["working"]) for st in pw["status"]]
        )
        side = min(0.9 * self._row_px, 14.0)
        x = self._marker_x  # in the margin, left of the bars
        for scatter, kind in ((self._close, E.CLOSE), (self._distant, E.DISTANT)):
            mine = pw["kind"] == kind
            scatter.set_offsets(np.stack([np.full(mine.sum(), x), y[mine]], 1).reshape(-1, 2))
            scatter.set_sizes(np.full(mine.sum(), side**2))
            # Outlines as in the network, thinner on the smaller markers.
            _peer_outlines(scatter, kind, pw["status"][mine], width=min(side / 18.0, 0.8))
        return changed

    def png(self, model, dpi: int = PAGE_DPI) -> bytes:
        """Update for ``model`` and render to PNG bytes."""
        with self.lock:
            if self._blitter is None:
                self._blitter = _Blitter(
                    self.fig,
                    [
                        self._available,
                        self._worked,
                        self._beyond,
                        self._energy_track,
                        self._energy,
                        self._close,
                        self._distant,
                    ],
                    dpi,
                )
            if self.update(model):
                self._blitter.invalidate()
            return self._blitter.png()


#: The side-by-side view's measures of difference: weekly series, words, colour, line style.
DIFFERENCES = (
    ("contacted", "Contacted", PALETTE["contacted"], "-"),
    ("engaged", "Engaged", PALETTE["engaged"], "-"),
    ("linked", "Linked to services", PALETTE["linked"], "-"),
    ("peers_exhausted_ever", "Peers ever exhausted", PALETTE["exhausted"], "--"),
)


class DiffFigure:
    """Two runs compared week by week: the proposal (right) minus the current policy (left).

    The upper plot shows clients contacted, engaged and linked so far, the lower one peers ever
    exhausted; zero, where both runs agree, is a thick grey line, and a week in which either
    side changed policy a dashed one.

    Args:
        left: the run with the current policy.
        right: the run with the proposal.
    """

    def __init__(self, left, right):
        self.lock = threading.Lock()
        self.fig = Figure(figsize=(9.0, 5.0))
        self.ax_clients, self.ax_peers = self.fig.subplots(2, 1, sharex=True)
        self.lines: dict[str, Line2D] = {}
        for key, label, color, ls in DIFFERENCES:
            ax = self.ax_peers if key.startswith("peers") else self.ax_clients
            (self.lines[key],) = ax.plot([], [], lw=3, color=color, ls=ls, label=label)
        for ax, title in (
            (self.ax_clients, "Clients: proposal minus now"),
            (self.ax_peers, "Peers ever exhausted: proposal minus now"),
        ):
            ax.axhline(0.0, color="#999999", lw=4, zorder=1)
            ax.set_title(title, fontsize=FONT["title"], loc="left")
            ax.tick_params(labelsize=FONT["tick"])
            ax.grid(alpha=0.3)
        self.ax_clients.legend(
            fontsize=FONT["legend"], loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False
        )
        self.ax_peers.set_xlabel("Week", fontsize=FONT["label"])
        self._marks: list = []
        self._marked: tuple = ()
        self._lims = {self.ax_clients: 0.0, self.ax_peers: 0.0}
        self._top_x = 0
        self._size = (0, 0)
        self._blitter: _Blitter | None = None
        self.update(left, right)

    def fit(self, width_px: int, height_px: int) -> bool:
        """Lay the plots out for a ``width_px`` x ``height_px`` CSS-pixel place.

        Returns:
            True when the size changed.
        """
        w, h = int(width_px), int(height_px)
        if (w, h) == self._size:
            return False
        with self.lock:
            self._size = (w, h)
            self.fig.set_dpi(PAGE_DPI)
            self.fig.set_size_inches(w / PAGE_DPI, h / PAGE_DPI)
            legend_w = self.ax_clients.get_legend().get_window_extent(_agg_renderer(self.fig)).width
            top, bottom, gap = 34, 60, 56
            plot_h = (h - top - bottom - gap) / 2
            self.fig.subplots_adjust(
                left=72 / w,
                right=1 - (legend_w + 24) / w,
                top=1 - top / h,
                bottom=bottom / h,
                hspace=gap / plot_h,
            )
            if self._blitter is not None:
                self._blitter.invalidate()
        return True

    def update(self, left, right) -> bool:
        """Set the lines to the weeks both runs have; True when anything else changed."""
        # The weeks every series of both runs has (Play steps them in another thread).
        weeks = min(len(m.weekly[key]) for m in (left, right) for key, *_ in DIFFERENCES)
        x = np.arange(weeks)
        diff = {
            key: np.asarray(right.weekly[key][:weeks], float)
            - np.asarray(left.weekly[key][:weeks], float)
            for key, *_ in DIFFERENCES
        }
        for key, line in self.lines.items():
            line.set_data(x, diff[key])
        changed = False
        top_x = max(10, left.scenario.run.history_weeks + left.scenario.run.weeks)
        while top_x < weeks - 1:
            top_x *= 2
        for ax, keys in (
            (self.ax_clients, ("contacted", "engaged", "linked")),
            (self.ax_peers, ("peers_exhausted_ever",)),
        ):
            big = max(float(np.abs(diff[k]).max(initial=0.0)) for k in keys)
            floor = 10.0 if ax is self.ax_clients else 2.0
            lim = _round_up(max(floor, 1.25 * big))
            # The limits move in steps: up when a line reaches the edge, down after a reset.
            if big > self._lims[ax] or self._lims[ax] > 4 * max(big, floor) or self._top_x != top_x:
                self._lims[ax] = lim
                ax.set_ylim(-lim, lim)
                changed = True
        if self._top_x != top_x:
            self._top_x = top_x
            self.ax_clients.set_xlim(0, top_x)
            changed = True
        weeks_changed = tuple(sorted({w for m in (left, right) for w, _, _ in m.policy_changes}))
        if weeks_changed != self._marked:
            for artist in self._marks:
                artist.remove()
            self._marks = [
                ax.axvline(w, color="black", ls="--", lw=2)
                for w in weeks_changed
                for ax in (self.ax_clients, self.ax_peers)
            ]
            self._marked = weeks_changed
            changed = True
        return changed

    def png(self, left, right, dpi: int = PAGE_DPI) -> bytes:
        """Update for the two runs and render to PNG bytes."""
        with self.lock:
            if self._blitter is None:
                self._blitter = _Blitter(self.fig, list(self.lines.values()), dpi)
            if self.update(left, right):
                self._blitter.invalidate()
            return self._blitter.png()


def _agg_renderer(fig: Figure):
    """A renderer to measure text with, at the figure's size and dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _round_up(x: float) -> float:
    """The next round number at or above ``x`` (1, 2 or 5 times a power of ten)."""
    power = 10.0 ** np.floor(np.log10(x))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= x))

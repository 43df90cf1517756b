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
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.model import state as E
from sim.viz.layout import network_view

__all__ = ["BODY_PX", "FONT", "NetworkFigure", "PAGE_DPI", "PALETTE", "SeriesFigure",
           "STATE_WORDS", "png"]

#: Okabe-Ito colours by meaning.
PALETTE = {
    "hidden": "#C8C8C8",       # light grey: not reached, recedes into the background
    "contacted": "#56B4E9",    # sky blue
    "engaged": "#E69F00",      # orange
    "linked": "#009E73",       # bluish green
    "retained": "#0072B2",     # blue
    "close": "#CC79A7",        # reddish purple
    "distant": "#F0E442",      # yellow, drawn with a black edge
    "exhausted": "#D55E00",    # vermillion
    "working": "#000000",
    "withdrawn": "#999999",
}

#: The legend's words for client states, in state order (engine.HIDDEN .. RETAINED).
STATE_WORDS = (
    "Not reached yet",
    "Contacted by a peer",
    "Engaged: trusts a peer",
    "Linked: went to a service",
    "Retained in services",
)
_STATE_KEYS = ("hidden", "contacted", "engaged", "linked", "retained")
_STATE_RGBA = np.array([
    [int(PALETTE[k][i:i + 2], 16) / 255 for i in (1, 3, 5)] + [1.0] for k in _STATE_KEYS
])
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
        # Fast compression: the image crosses a loopback socket, not the internet.
        Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(),
                         "raw", "RGBA", 0, 1).save(buf, format="png", compress_level=1)
        return buf.getvalue()


class NetworkFigure:
    """The social network: clients coloured by state, peers by kind, size by energy.

    Args:
        model: the :class:`sim.model.OutreachModel` to draw.
        size: figure size in inches, for a figure of its own.
        fig: draw into this figure or subfigure instead (the animation's left half).
    """

    def __init__(self, model, size: tuple[float, float] = (9.0, 8.6), fig=None):
        self.lock = threading.Lock()  # a figure is not safe to draw from two threads at once
        # Fixed margins, no layout engine: a layout pass on every week's draw costs more than
        # the drawing itself.
        self.fig = Figure(figsize=size) if fig is None else fig
        self.ax = self.fig.add_axes((0.01, 0.25, 0.98, 0.64))
        ax = self.ax
        ax.set_axis_off()
        ax.set_aspect("equal")
        self._week = self.fig.text(0.02, 0.985, "", ha="left", va="top",
                                   fontsize=FONT["title"] + 6, weight="bold")
        self._caption = self.fig.text(0.02, 0.925, "", ha="left", va="top",
                                      fontsize=FONT["tick"])
        self._edges = LineCollection([], colors="#B0B0B0", linewidths=0.6, alpha=0.6, zorder=1)
        ax.add_collection(self._edges)
        self._clients = ax.scatter([], [], s=[], linewidths=0, zorder=2)
        self._close = ax.scatter([], [], marker="s", zorder=3)
        self._distant = ax.scatter([], [], marker="^", zorder=3)
        self._n_view = -1
        self._size: tuple[int, int | None] = (0, None)
        self._blitter: _Blitter | None = None
        self._legend_box = None
        self._legend()
        self.update(model)

    def _legend(self, ncol: int = 2, loc: str = "lower center",
                anchor: tuple[float, float] | None = None) -> None:
        def dot(color, label, marker="o", edge="none", lw=0.0, size=13):
            return Line2D([], [], ls="none", marker=marker, markersize=size, markerfacecolor=color,
                          markeredgecolor=edge, markeredgewidth=lw, label=label)

        handles = [dot(PALETTE[k], w) for k, w in zip(_STATE_KEYS, STATE_WORDS, strict=True)]
        handles += [
            dot(PALETTE["close"], "Close peer (at a service site)", "s", "black", 1.0, 15),
            dot(PALETTE["distant"], "Distant peer (in own networks)", "^", "black", 1.0, 16),
            dot("white", "Peer exhausted, resting", "o", PALETTE["exhausted"], 3.5, 15),
            dot("white", "Peer withdrawn", "o", PALETTE["withdrawn"], 1.5, 11),
        ]
        if getattr(self, "_legend_box", None) is not None:
            self._legend_box.remove()
        self._legend_box = self.fig.legend(
            handles=handles, loc=loc, bbox_to_anchor=anchor, ncol=ncol, frameon=False,
            fontsize=FONT["legend"], handletextpad=0.3, columnspacing=1.0,
            title="Bigger peer marker: more energy left", title_fontsize=FONT["legend"])

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
            beside = w >= LEGEND_BESIDE_PX
            if beside:
                self._legend(ncol=1, loc="center right")
            else:
                self._legend(ncol=2, loc="lower center")
            box = self._legend_box.get_window_extent(_agg_renderer(self.fig))
            header = 68  # the week (26 px) and the caption (16 px) above the network
            if beside:
                graph_w = w - box.width - 32
                h = fixed_h or int(np.clip(0.85 * graph_w, 420, 640))
                rect = (8 / w, 8 / h, graph_w / w, (h - header - 16) / h)
                anchor = (1 - 8 / w, (h - header) / 2 / h)
            else:
                graph_h = int(np.clip(0.6 * w, 300, 520))
                if fixed_h:
                    graph_h = max(fixed_h - header - int(box.height) - 20, 200)
                h = int(header + graph_h + box.height + 20)
                rect = (8 / w, (box.height + 14) / h, 1 - 16 / w, graph_h / h)
                anchor = (0.5, 4 / h)
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
        is_peer = model.role[view.nodes] != E.CLIENT
        rgba = _STATE_RGBA[state]
        rgba[is_peer, 3] = 0.0  # peers are drawn by their own markers on top
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
            sizes = np.where(status == E.WITHDRAWN, 70.0, 110.0 + 420.0 * energy)
            scatter.set_sizes(sizes)
            face = np.where(status == E.WITHDRAWN, "white", PALETTE["close" if kind == E.CLOSE
                                                                else "distant"])
            edge = np.select([status == E.RESTING, status == E.WITHDRAWN],
                             [PALETTE["exhausted"], PALETTE["withdrawn"]], "black")
            scatter.set_facecolors(face.tolist())
            scatter.set_edgecolors(edge.tolist())
            scatter.set_linewidths(np.where(status == E.RESTING, 4.0, 1.2))
        self._week.set_text(f"Week {model.week}")
        self._caption.set_text(f"Showing {view.caption}")

    def png(self, model, dpi: int = 72) -> bytes:
        """Update for ``model`` and render to PNG bytes (the page's fast path)."""
        with self.lock:
            if self._blitter is None:
                self._blitter = _Blitter(self.fig, [self._clients, self._close, self._distant,
                                                    self._week, self._caption], dpi)
            self.update(model)
            return self._blitter.png()


class SeriesFigure:
    """Time series of reach and of peers, with policy changes marked as vertical lines.

    Args:
        model: the :class:`sim.model.OutreachModel` to draw.
        size: figure size in inches, for a figure of its own.
        fig: draw into this figure or subfigure instead (the animation's right half).
    """

    REACH = (("contacted", "Contacted"), ("engaged", "Engaged"),
             ("linked", "Linked to services"), ("retained", "Retained"))
    PEERS = (("peers_active", "Working", PALETTE["working"], "-"),
             ("peers_resting", "Resting (exhausted now)", PALETTE["exhausted"], "-"),
             ("peers_exhausted_ever", "Ever exhausted", PALETTE["exhausted"], "--"),
             ("peers_withdrawn", "Withdrawn", PALETTE["withdrawn"], ":"))

    def __init__(self, model, size: tuple[float, float] = (9.0, 7.4), fig=None):
        self.lock = threading.Lock()
        self.fig = Figure(figsize=size) if fig is None else fig
        self.fig.subplots_adjust(left=0.1, right=0.64, top=0.93, bottom=0.1, hspace=0.28)
        self.ax_reach, self.ax_peers = self.fig.subplots(2, 1, sharex=True)
        self.lines: dict[str, Line2D] = {}
        for key, label in self.REACH:
            (self.lines[key],) = self.ax_reach.plot([], [], lw=3, color=PALETTE[key], label=label)
        for key, label, color, ls in self.PEERS:
            (self.lines[key],) = self.ax_peers.plot([], [], lw=3, color=color, ls=ls, label=label)
        for ax, title in ((self.ax_reach, "Clients reached so far"),
                          (self.ax_peers, "Peers")):
            ax.set_title(title, fontsize=FONT["title"], loc="left")
            ax.tick_params(labelsize=FONT["tick"])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=FONT["legend"], loc="center left", bbox_to_anchor=(1.01, 0.5),
                      frameon=False)
        self.ax_peers.set_xlabel("Week", fontsize=FONT["label"])
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
            legend_w = max(ax.get_legend().get_window_extent(renderer).width
                           for ax in (self.ax_reach, self.ax_peers))
            top, bottom, gap = 34, 60, 56  # title; ticks and "Week"; the lower plot's title
            plot_h = (h - top - bottom - gap) / 2
            self.fig.subplots_adjust(left=72 / w, right=1 - (legend_w + 24) / w,
                                     top=1 - top / h, bottom=bottom / h, hspace=gap / plot_h)
            if self._blitter is not None:
                self._blitter.invalidate()
        return True

    def update(self, model) -> bool:
        """Set the lines to the model's weeks so far and mark its policy changes.

        Axis limits change in steps (the run's length, then doubling; round numbers upward), so
        most weeks only the lines move. Returns True when anything but the lines changed.
        """
        weeks = np.arange(len(model.weekly["contacted"]))
        for key, line in self.lines.items():
            line.set_data(weeks, model.weekly[key])
        changed = False
        top_x = max(10, model.scenario.run.weeks)
        while top_x < len(weeks) - 1:
            top_x *= 2
        for ax, keys in ((self.ax_reach, [k for k, _ in self.REACH]),
                         (self.ax_peers, [k for k, *_ in self.PEERS])):
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
                self._marks.append(self.ax_reach.annotate(
                    "policy\nchanged", (week, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", va="top",
                    fontsize=FONT["legend"]))
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


def _agg_renderer(fig: Figure):
    """A renderer to measure text with, at the figure's size and dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _round_up(x: float) -> float:
    """The next round number at or above ``x`` (1, 2 or 5 times a power of ten)."""
    power = 10.0 ** np.floor(np.log10(x))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= x))

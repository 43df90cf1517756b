"""The workshop page: Mesa's controls around an :class:`sim.model.OutreachModel`.

Served by ``outreach viz SCENARIO`` (which runs ``solara run`` on this file); the scenario file
and its ``--set`` overrides arrive in the environment variables :data:`ENV_SCENARIO` and
:data:`ENV_OVERRIDES` (a JSON object of dotted keys), ``--present`` in :data:`ENV_PRESENT`.
The page shows the network, the week, reach and peer time series, Mesa's controls (step,
play and pause, speed, reset), the key policies as settings for a fresh run (reset), and the
same policies as a form that changes the running model from next week
(:meth:`sim.model.OutreachModel.set_policy`); the plots mark each change.

Laid out for a projector (1024x768, 1280x720) and a 1920x1080 display: the figures are drawn at
the width the browser reports for the main column, so their text shows at its own size, and
every slider's label, above its track, ends with its value and unit.

Presenter mode (a button in the bar at the top, or ``--present``) shows big counters and one
network view filling the window, with the sidebar and the policy form hidden; the keys in
:data:`KEYS_LINE` drive the run in either mode.

Two policies side by side (a button in the bar at the top, or ``--side-by-side``, in
:data:`ENV_SIDE`): a second run of the same world with the same random numbers
(:meth:`WorkshopModel.twin`) stands on the right, the room's proposal, with its own policy
form; both step together on Play, Step and the keys, and their difference in reach,
engagement, linkage and exhausted peers is shown in numbers and week by week. Each enrolled
peer's hours, energy and state (working, resting exhausted, on a break) are drawn in both views
(:class:`sim.viz.figures.PeersFigure`), with how many peers are enrolled and how many left and
why.
"""

from __future__ import annotations

import functools
import json
import os
import weakref
from pathlib import Path
from typing import Any

import ipyvuetify as v
import reacton.ipywidgets as rw
import solara
import traitlets
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from sim.model.outreach import OutreachModel
from sim.model.scenario import Scenario, load_scenario
from sim.viz.figures import (
    BODY_PX,
    PAGE_DPI,
    DiffFigure,
    LegendFigure,
    NetworkFigure,
    PeersFigure,
    SeriesFigure,
    enrolled_words,
    history_words,
    leaving_words,
    mean_peer_hours,
    week_words,
)

__all__ = [
    "ENV_OVERRIDES",
    "ENV_PRESENT",
    "ENV_SCENARIO",
    "ENV_SIDE",
    "KEYS_LINE",
    "Page",
    "WorkshopModel",
    "difference_words",
    "policy_overrides",
    "policy_values",
    "present_at_start",
    "side_at_start",
]

ENV_SCENARIO = "OUTREACH_VIZ_SCENARIO"
ENV_OVERRIDES = "OUTREACH_VIZ_OVERRIDES"
#: "1" opens the page in presenter mode.
ENV_PRESENT = "OUTREACH_VIZ_PRESENT"
#: "1" opens the page with two policies side by side.
ENV_SIDE = "OUTREACH_VIZ_SIDE"

#: The page's keys, as the page lists them (``outreach viz --help`` says the same).
KEYS_LINE = "Keys: Space play/pause · Right arrow or N step one week · R reset"

#: Recruitment policies in workshop words, and the scenario's names for them.
RECRUITMENT_WORDS = {
    "at random": "random",
    "best connected first": "degree",
    "a friend of someone (nomination)": "nomination",
    "from engaged clients": "from_engaged",
    "to cover every group": "cover_subgroups",
    "by network reach (influence)": "influence",
}
_RECRUITMENT_NAMES = {v: k for k, v in RECRUITMENT_WORDS.items()}

#: The policies a workshop changes: name -> (scenario keys it sets, label, widget settings).
#: A slider's ``unit`` follows its value on the page; ``zero`` is shown instead of a value 0.
POLICIES: dict[str, tuple[tuple[str, ...], str, dict[str, Any]]] = {
    "close_peers": (
        ("close_peers.count",),
        "Close peers (at a service site)",
        {"type": "SliderInt", "min": 0, "max": 40, "step": 1, "unit": "peers"},
    ),
    "distant_peers": (
        ("distant_peers.count",),
        "Distant peers (in own networks)",
        {"type": "SliderInt", "min": 0, "max": 40, "step": 1, "unit": "peers"},
    ),
    "recruitment": (
        ("close_peers.recruitment", "distant_peers.recruitment"),
        "How new peers are recruited",
        {"type": "Select", "values": list(RECRUITMENT_WORDS)},
    ),
    "hours_per_week": (
        ("close_peers.hours_per_week", "distant_peers.hours_per_week"),
        "Peer hours a week",
        {"type": "SliderFloat", "min": 0.0, "max": 40.0, "step": 1.0, "unit": "h"},
    ),
    # Peers are paid for the hours they work, crises included; the scenario's pay has no
    # currency of its own, and a fair wage is wellbeing.fair_wage_per_hour (15 by default).
    "pay_per_hour": (
        ("close_peers.pay_per_hour", "distant_peers.pay_per_hour"),
        "Peer pay an hour",
        {
            "type": "SliderFloat",
            "min": 0.0,
            "max": 40.0,
            "step": 0.5,
            "unit": "(currency)",
            "zero": "unpaid",
        },
    ),
    "professionals": (
        ("services.professionals",),
        "Professionals",
        {"type": "SliderInt", "min": 0, "max": 20, "step": 1, "unit": "people"},
    ),
    "outreach_workers": (
        ("outreach_workers.count",),
        "Salaried outreach workers",
        {"type": "SliderInt", "min": 0, "max": 20, "step": 1, "unit": "people"},
    ),
    "supervision_every_weeks": (
        ("wellbeing.supervision_every_weeks",),
        "Supervision interval",
        {
            "type": "SliderInt",
            "min": 0,
            "max": 12,
            "step": 1,
            "unit": "weeks",
            "zero": "no supervision",
        },
    ),
    "caseload_cap": (
        ("close_peers.caseload_cap", "distant_peers.caseload_cap"),
        "Most clients per peer",
        {
            "type": "SliderInt",
            "min": 0,
            "max": 30,
            "step": 1,
            "unit": "clients",
            "zero": "no limit",
        },
    ),
    "online_contacts": (
        ("outreach.online_contacts_per_peer_week",),
        "Online contacts per peer a week",
        {"type": "SliderFloat", "min": 0.0, "max": 10.0, "step": 0.5, "zero": "none"},
    ),
}

_KEY_WORDS = {key: label for keys, label, _ in POLICIES.values() for key in keys}
_KEY_WIDGETS = {key: widget for keys, _, widget in POLICIES.values() for key in keys}

#: The sidebar's width and the strip under it for Solara's credit line, in CSS pixels.
SIDEBAR_PX = 300
BADGE_PX = 36


@functools.cache
def base_scenario() -> Scenario:
    """The scenario the server was started with (environment), or the repository's baseline."""
    path = os.environ.get(ENV_SCENARIO)
    if path is None:
        path = str(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml")
    overrides = json.loads(os.environ.get(ENV_OVERRIDES, "{}"))
    return load_scenario(path, overrides)


def present_at_start() -> bool:
    """Whether the server was started with ``--present`` (the page opens in presenter mode)."""
    return os.environ.get(ENV_PRESENT, "0") == "1"


def side_at_start() -> bool:
    """Whether the server was started with ``--side-by-side`` (two policies side by side)."""
    return os.environ.get(ENV_SIDE, "0") == "1"


def policy_values(s: Scenario) -> dict[str, Any]:
    """The workshop policies' values in a scenario (the close peers' where kinds differ)."""
    return {
        "close_peers": s.close_peers.count,
        "distant_peers": s.distant_peers.count,
        "recruitment": _RECRUITMENT_NAMES[s.close_peers.recruitment],
        "hours_per_week": float(s.close_peers.hours_per_week),
        "pay_per_hour": float(s.close_peers.pay_per_hour),
        "professionals": s.services.professionals,
        "outreach_workers": s.outreach_workers.count,
        "supervision_every_weeks": s.wellbeing.supervision_every_weeks,
        "caseload_cap": s.close_peers.caseload_cap,
        "online_contacts": float(s.outreach.online_contacts_per_peer_week),
    }


def policy_overrides(s: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Dotted-key overrides for the policies whose value differs from the scenario's.

    Only changed policies are written, so a scenario whose peer kinds differ (say, in caseload
    cap) keeps them apart until the workshop changes that policy.
    """
    current = policy_values(s)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == current[name]:
            continue
        if name == "recruitment":
            value = RECRUITMENT_WORDS.get(value, value)
        for key in POLICIES[name][0]:
            out[key] = value
    return out


class WorkshopModel(OutreachModel):
    """The server's scenario with the workshop policies as keyword arguments (for Reset).

    Args:
        close_peers: close peers at the start.
        distant_peers: distant peers at the start.
        recruitment: how peers are recruited, in workshop words or the scenario's names.
        hours_per_week: every peer's weekly hours, for both kinds.
        pay_per_hour: every peer's pay an hour worked, for both kinds.
        professionals: professionals in the team.
        outreach_workers: salaried outreach workers.
        supervision_every_weeks: weeks between supervisions (0: none).
        caseload_cap: most clients per peer (0: no limit), for both kinds.
        online_contacts: online contacts per working peer a week.

    Attributes:
        start_values: the keyword arguments it was made with (a twin is made with them).
        applied: every policy change, as ``(week, overrides)`` in the order made.
        inherited: how many of ``applied`` a twin copied from its original (the rest are its
            own, :meth:`own_changes`).
        partner: a run stepped with this one, to the same week, after each of its steps (the
            right side of two policies side by side), or None.
    """

    def __init__(
        self,
        close_peers: int | None = None,
        distant_peers: int | None = None,
        recruitment: str | None = None,
        hours_per_week: float | None = None,
        pay_per_hour: float | None = None,
        professionals: int | None = None,
        outreach_workers: int | None = None,
        supervision_every_weeks: int | None = None,
        caseload_cap: int | None = None,
        online_contacts: float | None = None,
    ):
        base = base_scenario()
        values = {
            "close_peers": close_peers,
            "distant_peers": distant_peers,
            "recruitment": recruitment,
            "hours_per_week": hours_per_week,
            "pay_per_hour": pay_per_hour,
            "professionals": professionals,
            "outreach_workers": outreach_workers,
            "supervision_every_weeks": supervision_every_weeks,
            "caseload_cap": caseload_cap,
            "online_contacts": online_contacts,
        }
        self.start_values = values
        self.applied: list[tuple[int, dict[str, Any]]] = []
        self.inherited = 0  # changes in ``applied`` a twin copied from its original
        self.partner: WorkshopModel | None = None
        super().__init__(base.replace(policy_overrides(base, values)))
        # The page opens where the measured weeks start: the programme's history
        # (run.history_weeks) runs before the first frame, as in ``outreach run``.
        while self.week < self.start_week:
            super().step()

    def set_policy(self, overrides: dict[str, Any]) -> None:
        """Change policies from next week (:meth:`OutreachModel.set_policy`), and keep a note."""
        super().set_policy(overrides)
        self.applied.append((self.week, dict(overrides)))

    def step(self) -> None:
        """One week of this run, then of the partner's (if any) up to the same week."""
        super().step()
        partner = self.partner
        if partner is not None:
            while partner.week < self.week:
                partner.step()

    def twin(self) -> WorkshopModel:
        """A second run of the same world with the same random numbers, at this run's week.

        Made with the same settings, its policy changed at the same weeks in the same way, and
        stepped to this run's week: the world is the same object (worlds are cached by their
        settings and seed) and every random draw is keyed by process, week and person, so the
        twin's numbers are this run's until a policy of one of them changes.
        """
        other = WorkshopModel(**self.start_values)
        for week, overrides in self.applied:
            while other.week < week:
                other.step()
            other.set_policy(overrides)
        while other.week < self.week:
            other.step()
        other.inherited = len(other.applied)
        return other

    def own_changes(self) -> dict[str, Any]:
        """The policy changes made on this run itself (not copied by :meth:`twin`), merged."""
        out: dict[str, Any] = {}
        for _, overrides in self.applied[self.inherited :]:
            out.update(overrides)
        return out


def model_params(s: Scenario) -> dict[str, dict[str, Any]]:
    """Mesa's ``model_params``: the policy inputs of a fresh run, starting at ``s``'s values."""
    values = policy_values(s)
    params = {}
    for name, (_, label, widget) in POLICIES.items():
        spec = {**widget, "label": label, "value": values[name]}
        if "max" in spec:  # a scenario beyond the usual range still fits its slider
            spec["max"] = max(spec["max"], values[name])
        params[name] = spec
    return params


# Figures are built once per model and redrawn each week (see sim.viz.figures).
_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: From this main-column width (CSS pixels) on, the network and the plots stand side by side,
#: each still at least 40% of a 1920-pixel screen; below it they are stacked, each as wide as
#: the column (a side-by-side pair at 1280 would make each a third of the screen).
SIDE_BY_SIDE_PX = 1500


def _figures(model: OutreachModel) -> tuple[NetworkFigure, SeriesFigure]:
    figs = _FIGURES.get(model)
    if figs is None:
        figs = _FIGURES[model] = (NetworkFigure(model), SeriesFigure(model))
    return figs


def _figure(model, kind, make):
    """A figure of one kind for ``model``, made once (a weak key: it goes with the model)."""
    figs = _FIGURES_BY_KIND.setdefault(kind, weakref.WeakKeyDictionary())
    fig = figs.get(model)
    if fig is None:
        fig = figs[model] = make(model)
    return fig


_FIGURES_BY_KIND: dict[str, weakref.WeakKeyDictionary] = {}


def value_words(widget: dict[str, Any], value: Any) -> str:
    """A slider's value as the page shows it: the number and its unit, or the word for 0."""
    if not value and "zero" in widget:
        return widget["zero"]
    unit = widget.get("unit", "")
    return f"{value:g} {unit}".strip() if isinstance(value, int | float) else str(value)


def _policy_sentence(s: Scenario) -> str:
    v = policy_values(s)
    cap = f"at most {v['caseload_cap']} clients each" if v["caseload_cap"] else "no caseload limit"
    sup = (
        f"supervision every {v['supervision_every_weeks']} weeks"
        if v["supervision_every_weeks"]
        else "no supervision"
    )
    online = (
        f"{v['online_contacts']:g} online contacts a week each"
        if v["online_contacts"]
        else "no online work"
    )
    return (
        f"{v['close_peers']} close peers, {v['distant_peers']} distant peers, recruited "
        f"{v['recruitment']}; {sup}; {cap}; {online}"
    )


class WidthProbe(v.VuetifyTemplate):
    """An empty line that reports its width in CSS pixels, so figures are drawn at that size.

    A ResizeObserver in the browser sets :attr:`width` when the column's width changes by 8
    pixels or more (a window resize, the sidebar opening or closing), and :attr:`room`, the
    height from the probe to the window's bottom edge, which presenter mode fills with the
    network; no network involved.
    """

    width = traitlets.Int(0).tag(sync=True)
    room = traitlets.Int(0).tag(sync=True)
    template = traitlets.Unicode("""
<template><div class="outreach-width-probe" style="width: 100%; height: 0"></div></template>
<script>
module.exports = {
  mounted() {
    const report = () => {
      const w = Math.floor(this.$el.clientWidth);
      if (w > 0 && Math.abs(w - this.width) >= 8) { this.width = w; }
      const room = Math.floor(window.innerHeight - this.$el.getBoundingClientRect().top
                              - window.scrollY);
      if (room > 0 && Math.abs(room - this.room) >= 8) { this.room = room; }
    };
    this.report = report;
    this.observer = new ResizeObserver(report);
    this.observer.observe(this.$el);
    // The counters above re-wrapping moves the probe without resizing it.
    if (this.$el.parentElement) { this.observer.observe(this.$el.parentElement); }
    window.addEventListener('resize', report);
    report();
  },
  beforeDestroy() {
    if (this.observer) { this.observer.disconnect(); }
    window.removeEventListener('resize', this.report);
  },
};
</script>
""").tag(sync=True)


class PresenterKeys(v.VuetifyTemplate):
    """Keys that press Mesa's buttons in the sidebar: Space, Right arrow or N, R.

    The buttons are pressed in the browser, so Play, Step and Reset behave exactly as when
    clicked (Step does nothing while playing); the sidebar stays in the page, hidden, in
    presenter mode. Keys typed into a field, a select or a slider are left to it.
    """

    template = traitlets.Unicode("""
<template><span class="outreach-keys-listener" style="display: none"></span></template>
<script>
module.exports = {
  mounted() {
    this.onKey = (e) => {
      if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) { return; }
      const t = e.target;
      if (t && t.closest && t.closest('input, textarea, select, [contenteditable], '
          + '[role=slider], [role=combobox], [role=listbox], .v-select, .v-menu__content')) {
        return;
      }
      const k = e.key.toLowerCase();
      const want = k === ' ' ? ['▶', '❚❚'] : (k === 'arrowright' || k === 'n') ? ['Step']
        : k === 'r' ? ['Reset'] : null;
      if (!want) { return; }
      e.preventDefault();  // no page scroll on Space
      // A focused button would also take the Space (a second press); let go of it.
      if (document.activeElement && document.activeElement.tagName === 'BUTTON') {
        document.activeElement.blur();
      }
      const button = [...document.querySelectorAll('.outreach-sidebar button')]
        .find(b => want.includes(b.textContent.trim()));  // innerText is upper-cased
      if (button && !button.disabled) { button.click(); }
    };
    document.addEventListener('keydown', this.onKey);
  },
  beforeDestroy() { document.removeEventListener('keydown', this.onKey); },
};
</script>
""").tag(sync=True)


@solara.component
def ValueSlider(
    label: str, value: Any, on_value, widget: dict[str, Any], classes: list[str] | None = None
):
    """A slider under its label, the label ending in the current value and unit.

    The label sits above the track, not beside it, so a narrow sidebar or form column keeps a
    full-width track and never wraps words over it.
    """
    slider = solara.SliderFloat if widget["type"] == "SliderFloat" else solara.SliderInt
    top = max(widget["max"], value)  # a scenario beyond the usual range still fits
    with solara.Div(classes=["outreach-slider", *(classes or [])]):
        solara.Text(f"{label}: {value_words(widget, value)}", classes=["outreach-slider-label"])
        slider(
            "",
            value=value,
            min=widget["min"],
            max=top,
            step=widget["step"],
            on_value=on_value,
            thumb_label=False,
        )


#: Smallest network height in presenter mode, in CSS pixels (a very short window scrolls).
PRESENT_MIN_PX = 360


@solara.component
def Workshop(model: OutreachModel, present: bool = False):
    """The main view: week and reach in numbers, the network, the time series, the policy form.

    The figures are drawn at the width the browser reports for the main column, so their text
    is shown at its own size: side by side on a wide screen, one above the other otherwise.
    In presenter mode the counters are large and the network alone fills the rest of the
    window; the policy form stays in the page, hidden, so a draft survives the switch.

    Args:
        model: the running model.
        present: presenter mode.
    """
    update_counter.get()  # redraw whenever Mesa's controls step or reset the model
    width = solara.use_reactive(0)
    room = solara.use_reactive(0)
    network, series = _figures(model)
    column = width.value or 640  # before the browser's first report
    beside = column >= SIDE_BY_SIDE_PX and not present
    gap = 16
    fig_w = (column - gap) // 2 if beside else column
    if present:
        # The whole height below the probe, less a margin so no scrollbar appears.
        network.fit(fig_w, max(room.value - 12, PRESENT_MIN_PX) if room.value else None)
    else:
        network.fit(fig_w)
    net_h = int(network.fig.get_figheight() * PAGE_DPI)
    series.fit(fig_w, net_h if beside else int(min(max(0.6 * fig_w, 420), 560)))
    w = model.weekly
    with solara.Column(classes=["outreach-main"], gap="6px"):
        with solara.Row(
            classes=["outreach-figures"],
            gap="28px",
            style={"align-items": "baseline", "flex-wrap": "wrap"},
        ):
            solara.Text(week_words(model), classes=["outreach-week"])
            if history_words(model):
                solara.Text(history_words(model), classes=["outreach-history"])
            for key in ("contacted", "engaged", "linked", "retained"):
                solara.Text(f"{w[key][-1]:,} {key}", classes=[f"outreach-{key}"])
            solara.Text(f"{w['peers_active'][-1]} peers working", classes=["outreach-working"])
            solara.Text(
                f"{w['peers_exhausted_ever'][-1]} ever exhausted", classes=["outreach-exhausted"]
            )
        if not present:
            solara.Text(f"Now: {_policy_sentence(model.scenario)}", classes=["outreach-policy"])
        solara.Text(KEYS_LINE, classes=["outreach-keys"])
        WidthProbe.element(on_width=width.set, on_room=room.set)
        # A grid, not a wrapping row: a scrollbar appearing must not push the plots below.
        columns = f"{fig_w}px {fig_w}px" if beside else f"{fig_w}px"
        with solara.Div(
            style={
                "display": "grid",
                "grid-template-columns": columns,
                "column-gap": f"{gap}px",
                "row-gap": "8px",
            }
        ):
            with solara.Div(classes=["outreach-network", "outreach-figure"]):
                rw.Image(value=network.png(model, dpi=PAGE_DPI), format="png")
            if not present:  # one large network view; the plots cost nothing while hidden
                with solara.Div(classes=["outreach-series", "outreach-figure"]):
                    rw.Image(value=series.png(model, dpi=PAGE_DPI), format="png")
                PeersPanel(model, fig_w)
        with solara.Div(classes=["outreach-form-holder"]):
            PolicyPanel(model)


#: What the peers' bars mean, under them.
PEERS_WORDS = (
    "Every peer enrolled, one a row. Grey: hours available this week (tailored to each "
    "peer's strength); black: hours worked; vermillion: beyond them (crises). A peer resting "
    "or on a break has no hours. Energy: black while working, vermillion while resting "
    "exhausted (thick vermillion outline), blue while on a break (dashed blue outline); "
    "dashed line: the exhaustion threshold."
)


@solara.component
def PeersPanel(model: OutreachModel, width: int):
    """Each enrolled peer's hours, energy and state (:class:`sim.viz.figures.PeersFigure`).

    Under the bars: the peers enrolled by state, those who left so far by reason
    (:func:`sim.viz.figures.leaving_words`), and what the bars and colours mean.

    Args:
        model: the running model.
        width: the panel's width in CSS pixels.
    """
    update_counter.get()  # redraw after each step, as the view around it
    peers = _figure(model, "peers", PeersFigure)
    peers.fit(width)
    hours = mean_peer_hours(model)
    average = (
        f"a working peer worked {hours:.1f} h a week on average so far"
        if hours == hours
        else "no week worked yet"
    )
    with solara.Div(classes=["outreach-peers"], style={"max-width": f"{width}px"}):
        solara.Text(f"Peers' hours and energy: {average}", classes=["outreach-peers-title"])
        with solara.Div(classes=["outreach-figure"]):
            rw.Image(value=peers.png(model, dpi=PAGE_DPI), format="png")
        with solara.Div(classes=["outreach-peers-counts"]):
            solara.Text(enrolled_words(model), classes=["outreach-peers-enrolled"])
            solara.Text(leaving_words(model), classes=["outreach-peers-left"])
        solara.Text(PEERS_WORDS, classes=["outreach-note"])


def difference_words(d: float) -> str:
    """A difference as the page shows it: ``+12``, ``-3`` or ``0``."""
    return f"{d:+,.0f}" if d else "0"


#: The side-by-side view's counters: weekly series and their words (with DIFFERENCES' order).
SIDE_COUNTERS = (
    ("contacted", "Clients contacted"),
    ("engaged", "Clients engaged"),
    ("linked", "Clients linked to services"),
    ("peers_exhausted_ever", "Peers ever exhausted"),
    ("peers_active", "Peers working now"),
)


@solara.component
def SideBySide(left: OutreachModel, right: OutreachModel, present: bool = False):
    """Two runs of the same world and random numbers: the current policy and a proposal.

    Counters with their difference on top, the two networks (one legend for both), the
    difference week by week, each side's peers, and each side's policy form.

    Args:
        left: the run with the current policy.
        right: the run with the room's proposal (``left.partner``).
        present: presenter mode (policy forms hidden).
    """
    update_counter.get()
    width = solara.use_reactive(0)
    column = width.value or 640
    gap = 16
    half = (column - gap) // 2
    nets = [
        _figure(m, "side-network", functools.partial(NetworkFigure, legend=False))
        for m in (left, right)
    ]
    for net in nets:
        net.fit(half)
    legend = _figure(left.world, "legend", lambda _w: LegendFigure(left))
    legend.fit(column)
    diff = _figure(right, "difference", lambda r: DiffFigure(left, r))
    diff.fit(column, int(min(max(0.6 * column, 400), 520)))
    lw, rw_ = left.weekly, right.weekly
    with solara.Column(classes=["outreach-main", "outreach-side"], gap="6px"):
        solara.Text(week_words(left), classes=["outreach-week"])
        if history_words(left):
            solara.Text(history_words(left), classes=["outreach-history"])
        with solara.Div(classes=["outreach-side-table"]):
            for text, cls in (
                ("", "outreach-side-head"),
                ("Now", "outreach-side-head"),
                ("Proposal", "outreach-side-head"),
                ("Difference", "outreach-side-head"),
            ):
                solara.Text(text, classes=[cls])
            for key, words in SIDE_COUNTERS:
                a, b = lw[key][-1], rw_[key][-1]
                solara.Text(words, classes=["outreach-side-name"])
                solara.Text(f"{a:,}", classes=[f"outreach-left-{key}"])
                solara.Text(f"{b:,}", classes=[f"outreach-right-{key}"])
                solara.Text(difference_words(b - a), classes=[f"outreach-diff-{key}"])
        solara.Text(KEYS_LINE, classes=["outreach-keys"])
        WidthProbe.element(on_width=width.set, on_room=lambda _r: None)
        with solara.Div(
            style={
                "display": "grid",
                "grid-template-columns": f"{half}px {half}px",
                "column-gap": f"{gap}px",
                "row-gap": "8px",
            }
        ):
            for side, model, net in (("left", left, nets[0]), ("right", right, nets[1])):
                with solara.Div(classes=[f"outreach-side-{side}"]):
                    solara.Text(
                        f"{'Now' if side == 'left' else 'Proposal'}: "
                        f"{_policy_sentence(model.scenario)}",
                        classes=["outreach-side-policy"],
                    )
                    with solara.Div(classes=["outreach-network", "outreach-figure"]):
                        rw.Image(value=net.png(model, dpi=PAGE_DPI), format="png")
        with solara.Div(classes=["outreach-legend", "outreach-figure"]):
            rw.Image(value=legend.png(), format="png")
        with solara.Div(classes=["outreach-difference", "outreach-figure"]):
            rw.Image(value=diff.png(left, right, dpi=PAGE_DPI), format="png")
        with solara.Div(
            style={
                "display": "grid",
                "grid-template-columns": f"{half}px {half}px",
                "column-gap": f"{gap}px",
            }
        ):
            for side, model in (("left", left), ("right", right)):
                with solara.Div(classes=[f"outreach-side-{side}-peers"]):
                    PeersPanel(model, half)
        with solara.Div(classes=["outreach-form-holder", "outreach-side-forms"]):
            with solara.Div(classes=["outreach-side-left-form"]):
                PolicyPanel(left, "Change the current policy (left)")
            with solara.Div(classes=["outreach-side-right-form"]):
                PolicyPanel(right, "Change the proposal (right)")


@solara.component
def PolicyPanel(model: OutreachModel, title: str = "Change policy during the run"):
    """Change policies of the running model; a fresh form for each model (after a reset)."""
    return _PolicyForm(model, title).key(f"policy-{id(model)}")


@solara.component
def _PolicyForm(model: OutreachModel, title: str):
    update_counter.get()  # show changes applied, and the model's policy, after each redraw
    current = policy_values(model.scenario)
    draft = solara.use_reactive(current)
    changed = {k: v for k, v in draft.value.items() if v != current[k]}

    def set_value(name: str, value: Any) -> None:
        draft.set({**draft.value, name: value})

    def apply() -> None:
        model.set_policy(policy_overrides(model.scenario, changed))
        force_update()

    with solara.Card(title, classes=["outreach-policy-form"]):
        with solara.Div(classes=["outreach-form-grid"]):
            for name, (_, label, widget) in POLICIES.items():
                on_value = functools.partial(set_value, name)
                if widget["type"] == "Select":
                    with solara.Div(classes=[f"outreach-now-{name}"]):
                        solara.Select(
                            label,
                            value=draft.value[name],
                            values=widget["values"],
                            on_value=on_value,
                        )
                else:
                    ValueSlider(
                        label, draft.value[name], on_value, widget, classes=[f"outreach-now-{name}"]
                    )
        solara.Button(
            "Apply from next week",
            color="primary",
            disabled=not changed,
            on_click=apply,
            classes=["outreach-apply"],
        )
        if model.policy_changes:
            lines = [
                f"- week {week}: {_KEY_WORDS.get(key, key)} set to "
                f"{value_words(_KEY_WIDGETS.get(key, {}), value)}"
                for week, key, value in model.policy_changes
            ]
            solara.Markdown("**Changes so far** (dashed lines on the plots)\n\n" + "\n".join(lines))


#: Controls of the run (Mesa's), with their units.
PLAY_INTERVAL = {"type": "SliderInt", "min": 0, "max": 500, "step": 10, "unit": "ms"}
RENDER_INTERVAL = {"type": "SliderInt", "min": 1, "max": 100, "step": 2, "unit": "weeks"}


@solara.component
def Sidebar(model: solara.Reactive, scenario: Scenario):
    """Mesa's controls (step, play and pause, speed, reset) and the settings of the next Reset.

    Mesa's own sidebar (``SolaraViz``) puts each slider's label beside its track with no value;
    this one shows every value and unit, with the same :func:`ModelController` behind it.
    """
    params = solara.use_reactive(policy_values(scenario))  # what Reset starts with
    play_interval = solara.use_reactive(50)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    specs = model_params(scenario)
    with solara.Sidebar(), solara.Column(classes=["outreach-sidebar"]):
        with solara.Card("Controls"):
            ValueSlider("Play interval", play_interval.value, play_interval.set, PLAY_INTERVAL)
            ValueSlider("Redraw every", render_interval.value, render_interval.set, RENDER_INTERVAL)
            solara.Checkbox(label="Use threads", value=use_threads)
            ModelController(
                model,
                model_parameters=params,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
        with solara.Card("Model Parameters"):
            solara.Text("Used from the next Reset", classes=["outreach-note"])
            for name, spec in specs.items():
                on_value = functools.partial(lambda n, x: params.set({**params.value, n: x}), name)
                if spec["type"] == "Select":
                    solara.Select(
                        spec["label"],
                        value=params.value[name],
                        values=spec["values"],
                        on_value=on_value,
                    )
                else:
                    ValueSlider(spec["label"], params.value[name], on_value, spec)


# Large type and controls for a projector at the back of a room; the sidebar is a fixed width so
# the main column (and the figures drawn for it) gets the rest.
CSS = f"""
.v-application {{ font-size: {BODY_PX}px; }}
.v-application .v-label, .v-application .v-select__selection,
.v-application .v-card__title, .v-application .v-btn {{ font-size: 18px !important; }}
.outreach-week {{ font-size: 44px; font-weight: 700; line-height: 1.1; }}
.outreach-figures span {{ font-size: 24px; font-weight: 600; }}
.outreach-history, .outreach-figures span.outreach-history {{ font-size: 18px;
  font-weight: 400; color: #555; }}
.outreach-policy {{ font-size: 20px; }}
.outreach-figure img {{ display: block; max-width: 100%; height: auto; }}
.outreach-slider {{ display: flex; flex-direction: column; }}
.outreach-slider-label {{ font-size: {BODY_PX}px; line-height: 1.3; }}
.outreach-slider .v-input {{ margin-top: 0; }}
.outreach-sidebar .v-btn {{ padding: 0 12px !important; min-width: 0 !important; }}
.outreach-note {{ font-size: 14px; color: #555; }}
.outreach-form-grid {{ display: grid; column-gap: 32px; row-gap: 4px;
  grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); align-items: end; }}
nav.v-navigation-drawer {{ width: {SIDEBAR_PX}px !important; min-width: 0 !important;
  max-height: calc(100% - 64px - {BADGE_PX}px) !important; }}
.v-application:has(.v-navigation-drawer--open) main.solara-content-main {{
  padding-left: {SIDEBAR_PX}px !important; }}
/* Solara's "This website runs on Solara" line: a strip under the sidebar, not over the form. */
div:has(> b > a[href="https://solara.dev"]) {{ position: fixed !important; left: 0 !important;
  right: auto !important; bottom: 0 !important; width: {SIDEBAR_PX}px; height: {BADGE_PX}px;
  padding: 6px 12px !important; font-size: 14px; background: white; z-index: 10; }}
.outreach-keys {{ font-size: 14px; color: #555; }}
.outreach-peers-title {{ font-size: 18px; font-weight: 600; }}
.outreach-peers-counts span {{ display: block; font-size: {BODY_PX}px; line-height: 1.4; }}
/* Two policies side by side: a table of counters (now, proposal, difference). */
.outreach-side-table {{ display: grid; grid-template-columns: minmax(0, max-content) repeat(3,
  minmax(0, max-content)); column-gap: 32px; row-gap: 2px; align-items: baseline; }}
.outreach-side-table span {{ font-size: 22px; font-weight: 600; text-align: right; }}
.outreach-side-table span.outreach-side-name {{ text-align: left; font-weight: 400; }}
.outreach-side-table span.outreach-side-head {{ font-size: 18px; color: #555; }}
.outreach-side-policy {{ font-size: 17px; display: block; margin-bottom: 4px; }}
.outreach-side-forms {{ display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; }}
.outreach-side-forms .outreach-form-grid {{ grid-template-columns: 1fr; }}
.outreach-present .outreach-side-table span {{ font-size: 32px; }}
/* Presenter mode: counters readable from the back of a room, the network in the rest of the
   window; the sidebar (Mesa's buttons, which the keys press) and the form stay in the page,
   hidden, so the run and a draft policy carry on when the controls come back. */
.outreach-present .outreach-figures {{ column-gap: 40px !important; row-gap: 6px !important; }}
.outreach-present .outreach-figures span {{ font-size: 40px; font-weight: 700; line-height: 1.2; }}
.outreach-present .outreach-figures .outreach-week {{ font-size: 48px; }}
.outreach-present .outreach-form-holder {{ display: none; }}
.v-application:has(.outreach-present) nav.v-navigation-drawer,
.v-application:has(.outreach-present) .v-app-bar__nav-icon,
.v-application:has(.outreach-present) div:has(> b > a[href="https://solara.dev"]) {{
  display: none !important; }}
.v-application:has(.outreach-present) main.solara-content-main {{
  padding-left: 0 !important; }}
.v-application:has(.outreach-present) .v-content__wrap > div {{ padding-top: 8px !important;
  padding-bottom: 0 !important; }}
"""


@solara.component
def Page():
    """The page: one model per browser session, created once and replaced by Reset.

    Presenter mode starts as the server was told (``--present``) and is switched by the button
    in the bar at the top, which stays in view in both modes.
    """
    scenario = base_scenario()
    first = solara.use_memo(WorkshopModel, [])
    model = solara.use_reactive(first)  # Mesa's Reset puts the new model here
    present = solara.use_reactive(present_at_start())
    side = solara.use_reactive(side_at_start())
    kept = solara.use_memo(dict, [])  # the last right-hand run, for its proposal
    left = model.value

    def pair() -> WorkshopModel | None:
        # Switched on: a twin, the same numbers as the left until the room changes one side.
        # After a Reset: a twin of the new run with the proposal made from week 0.
        if not side.value:
            left.partner = None
            kept.pop("right", None)
            return None
        before = kept.get("right")
        right = left.twin()
        proposal = before.own_changes() if before is not None else {}
        if proposal:
            right.set_policy(proposal)
        left.partner = right
        kept["right"] = right
        return right

    right = solara.use_memo(pair, [left, side.value])
    with solara.Column(classes=["outreach-present"] if present.value else []) as main:
        solara.Style(CSS)
        solara.Title(f"Peer outreach: {scenario.name}")
        with solara.AppBar():
            solara.AppBarTitle(f"Peer outreach: {scenario.name}")
            solara.Button(
                "One policy" if side.value else "Two policies",
                icon_name="mdi-view-agenda" if side.value else "mdi-compare",
                outlined=True,
                color="white",
                on_click=lambda: side.set(not side.value),
                classes=["outreach-side-toggle"],
            )
            solara.Button(
                "Show controls" if present.value else "Presenter mode",
                icon_name="mdi-tune" if present.value else "mdi-presentation",
                outlined=True,
                color="white",
                on_click=lambda: present.set(not present.value),
                classes=["outreach-present-toggle"],
            )
        PresenterKeys.element()
        Sidebar(model, scenario)
        if right is not None:
            SideBySide(left, right, present.value)
        else:
            Workshop(left, present.value)
    return main

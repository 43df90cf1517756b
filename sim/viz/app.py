"""The workshop page: Mesa's SolaraViz around an :class:`sim.model.OutreachModel`.

Served by ``outreach viz SCENARIO`` (which runs ``solara run`` on this file); the scenario file
and its ``--set`` overrides arrive in the environment variables :data:`ENV_SCENARIO` and
:data:`ENV_OVERRIDES` (a JSON object of dotted keys). The page shows the network, the week, reach
and peer time series, Mesa's controls (step, play and pause, speed, reset), the key policies as
settings for a fresh run (reset), and the same policies as a form that changes the running model
from next week (:meth:`sim.model.OutreachModel.set_policy`); the plots mark each change.
"""

from __future__ import annotations

import functools
import json
import os
import weakref
from pathlib import Path
from typing import Any

import reacton.ipywidgets as rw
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.model.outreach import OutreachModel
from sim.model.scenario import Scenario, load_scenario
from sim.viz.figures import NetworkFigure, SeriesFigure

__all__ = ["ENV_OVERRIDES", "ENV_SCENARIO", "Page", "WorkshopModel", "policy_overrides",
           "policy_values"]

ENV_SCENARIO = "OUTREACH_VIZ_SCENARIO"
ENV_OVERRIDES = "OUTREACH_VIZ_OVERRIDES"

#: Recruitment policies in workshop words, and the scenario's names for them.
RECRUITMENT_WORDS = {
    "at random": "random",
    "best connected first": "degree",
    "a friend of someone (nomination)": "nomination",
    "from engaged clients": "from_engaged",
    "to cover every group": "cover_subgroups",
}
_RECRUITMENT_NAMES = {v: k for k, v in RECRUITMENT_WORDS.items()}

#: The policies a workshop changes: name -> (scenario keys it sets, label, widget settings).
POLICIES: dict[str, tuple[tuple[str, ...], str, dict[str, Any]]] = {
    "close_peers": (("close_peers.count",), "Close peers (at a service site)",
                    {"type": "SliderInt", "min": 0, "max": 40, "step": 1}),
    "distant_peers": (("distant_peers.count",), "Distant peers (in own networks)",
                      {"type": "SliderInt", "min": 0, "max": 40, "step": 1}),
    "recruitment": (("close_peers.recruitment", "distant_peers.recruitment"),
                    "How new peers are recruited",
                    {"type": "Select", "values": list(RECRUITMENT_WORDS)}),
    "hours_per_week": (("close_peers.hours_per_week", "distant_peers.hours_per_week"),
                       "Peer hours a week",
                       {"type": "SliderFloat", "min": 0.0, "max": 40.0, "step": 1.0}),
    "pay_per_week": (("close_peers.compensation_per_week", "distant_peers.compensation_per_week"),
                     "Peer pay a week",
                     {"type": "SliderFloat", "min": 0.0, "max": 600.0, "step": 10.0}),
    "professionals": (("services.professionals",), "Professionals",
                      {"type": "SliderInt", "min": 0, "max": 20, "step": 1}),
    "outreach_workers": (("outreach_workers.count",), "Salaried outreach workers",
                         {"type": "SliderInt", "min": 0, "max": 20, "step": 1}),
    "supervision_every_weeks": (("wellbeing.supervision_every_weeks",),
                                "Supervision every ... weeks (0: none)",
                                {"type": "SliderInt", "min": 0, "max": 12, "step": 1}),
    "caseload_cap": (("close_peers.caseload_cap", "distant_peers.caseload_cap"),
                     "Most clients per peer (0: no limit)",
                     {"type": "SliderInt", "min": 0, "max": 30, "step": 1}),
    "online_contacts": (("outreach.online_contacts_per_peer_week",),
                        "Online contacts per peer a week",
                        {"type": "SliderFloat", "min": 0.0, "max": 10.0, "step": 0.5}),
}

_KEY_WORDS = {key: label for keys, label, _ in POLICIES.values() for key in keys}


@functools.cache
def base_scenario() -> Scenario:
    """The scenario the server was started with (environment), or the repository's baseline."""
    path = os.environ.get(ENV_SCENARIO)
    if path is None:
        path = str(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml")
    overrides = json.loads(os.environ.get(ENV_OVERRIDES, "{}"))
    return load_scenario(path, overrides)


def policy_values(s: Scenario) -> dict[str, Any]:
    """The workshop policies' values in a scenario (the close peers' where kinds differ)."""
    return {
        "close_peers": s.close_peers.count,
        "distant_peers": s.distant_peers.count,
        "recruitment": _RECRUITMENT_NAMES[s.close_peers.recruitment],
        "hours_per_week": float(s.close_peers.hours_per_week),
        "pay_per_week": float(s.close_peers.compensation_per_week),
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
        pay_per_week: every peer's weekly pay, for both kinds.
        professionals: professionals in the team.
        outreach_workers: salaried outreach workers.
        supervision_every_weeks: weeks between supervisions (0: none).
        caseload_cap: most clients per peer (0: no limit), for both kinds.
        online_contacts: online contacts per working peer a week.
    """

    def __init__(self, close_peers: int | None = None, distant_peers: int | None = None,
                 recruitment: str | None = None, hours_per_week: float | None = None,
                 pay_per_week: float | None = None, professionals: int | None = None,
                 outreach_workers: int | None = None,
                 supervision_every_weeks: int | None = None, caseload_cap: int | None = None,
                 online_contacts: float | None = None):
        base = base_scenario()
        values = {"close_peers": close_peers, "distant_peers": distant_peers,
                  "recruitment": recruitment, "hours_per_week": hours_per_week,
                  "pay_per_week": pay_per_week, "professionals": professionals,
                  "outreach_workers": outreach_workers,
                  "supervision_every_weeks": supervision_every_weeks,
                  "caseload_cap": caseload_cap, "online_contacts": online_contacts}
        super().__init__(base.replace(policy_overrides(base, values)))


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


def _figures(model: OutreachModel) -> tuple[NetworkFigure, SeriesFigure]:
    figs = _FIGURES.get(model)
    if figs is None:
        figs = _FIGURES[model] = (NetworkFigure(model), SeriesFigure(model))
    return figs


def _policy_sentence(s: Scenario) -> str:
    v = policy_values(s)
    cap = f"at most {v['caseload_cap']} clients each" if v["caseload_cap"] else "no caseload limit"
    sup = (f"supervision every {v['supervision_every_weeks']} weeks"
           if v["supervision_every_weeks"] else "no supervision")
    online = (f"{v['online_contacts']:g} online contacts a week each" if v["online_contacts"]
              else "no online work")
    return (f"{v['close_peers']} close peers, {v['distant_peers']} distant peers, recruited "
            f"{v['recruitment']}; {sup}; {cap}; {online}")


@solara.component
def Workshop(model: OutreachModel):
    """The main view: week and reach in numbers, the network, the time series."""
    update_counter.get()  # redraw whenever Mesa's controls step or reset the model
    network, series = _figures(model)
    w = model.weekly
    with solara.Column(classes=["outreach-main"], gap="6px"):
        with solara.Row(classes=["outreach-figures"], gap="28px",
                        style={"align-items": "baseline", "flex-wrap": "wrap"}):
            solara.Text(f"Week {model.week}", classes=["outreach-week"])
            for key in ("contacted", "engaged", "linked", "retained"):
                solara.Text(f"{w[key][-1]:,} {key}", classes=[f"outreach-{key}"])
            solara.Text(f"{w['peers_active'][-1]} peers working", classes=["outreach-working"])
            solara.Text(f"{w['peers_exhausted_ever'][-1]} ever exhausted",
                        classes=["outreach-exhausted"])
        solara.Text(f"Now: {_policy_sentence(model.scenario)}", classes=["outreach-policy"])
        with solara.Columns([1, 1]):
            with solara.Div(classes=["outreach-network"]):
                rw.Image(value=network.png(model), format="png")
            with solara.Column():
                with solara.Div(classes=["outreach-series"]):
                    rw.Image(value=series.png(model), format="png")
                PolicyPanel(model)


@solara.component
def PolicyPanel(model: OutreachModel):
    """Change policies of the running model; a fresh form for each model (after a reset)."""
    return _PolicyForm(model).key(f"policy-{id(model)}")


@solara.component
def _PolicyForm(model: OutreachModel):
    update_counter.get()  # show changes applied, and the model's policy, after each redraw
    current = policy_values(model.scenario)
    draft = solara.use_reactive(current)
    changed = {k: v for k, v in draft.value.items() if v != current[k]}

    def set_value(name: str, value: Any) -> None:
        draft.set({**draft.value, name: value})

    def apply() -> None:
        model.set_policy(policy_overrides(model.scenario, changed))
        force_update()

    with solara.Card("Change policy during the run", classes=["outreach-policy-form"]):
        for name, (_, label, widget) in POLICIES.items():
            on_value = functools.partial(set_value, name)
            kind = widget["type"]
            if kind == "Select":
                solara.Select(label, value=draft.value[name], values=widget["values"],
                              on_value=on_value)
            else:
                slider = solara.SliderInt if kind == "SliderInt" else solara.SliderFloat
                top = max(widget["max"], draft.value[name])
                with solara.Div(classes=[f"outreach-now-{name}"]):
                    slider(f"{label}: {draft.value[name]:g}", value=draft.value[name],
                           min=widget["min"], max=top, step=widget["step"], on_value=on_value)
        solara.Button("Apply from next week", color="primary", disabled=not changed,
                      on_click=apply, classes=["outreach-apply"])
        if model.policy_changes:
            lines = [f"- week {week}: {_KEY_WORDS.get(key, key)} set to {value}"
                     for week, key, value in model.policy_changes]
            solara.Markdown("**Changes so far** (dashed lines on the plots)\n\n" + "\n".join(lines))


# Large type and controls for a projector at the back of a room.
CSS = """
.v-application { font-size: 18px; }
.v-application .v-label, .v-application .v-select__selection,
.v-application .v-card__title, .v-application .v-btn { font-size: 18px !important; }
.outreach-week { font-size: 44px; font-weight: 700; line-height: 1.1; }
.outreach-figures span { font-size: 24px; font-weight: 600; }
.outreach-policy { font-size: 20px; }
.outreach-network img, .outreach-series img { width: 100%; height: auto; }
"""


@solara.component
def Page():
    """The page: one model per browser session, created once and replaced by Reset."""
    scenario = base_scenario()
    first = solara.use_memo(WorkshopModel, [])
    model = solara.use_reactive(first)  # Mesa's Reset puts the new model here
    with solara.Column() as main:
        solara.Style(CSS)
        solara.Title(f"Peer outreach: {scenario.name}")
        SolaraViz(model, components=[], model_params=model_params(scenario),
                  name=f"Peer outreach: {scenario.name}", play_interval=50)
        Workshop(model.value)
    return main

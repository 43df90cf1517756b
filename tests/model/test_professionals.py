"""Professionals with hours: one weekly budget shared by the programme's tasks, in order.

Each professional has ``services.professional_hours_per_week``, less the ``outside_work_share``
for their own clients and office; the rest goes to coordinating the enrolled peers, supervision,
assessing new peers, appointments and house calls, in that order, and what does not fit waits.
The accounting of one week is checked exactly (engine and reference); the directions are
checked on paired runs (common random numbers; ``Z`` standard errors, see :mod:`tests.paired`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.reference import ReferenceModel
from sim.model.scenario import ScenarioError, load_scenario
from tests.paired import Z, small_baseline
from tests.paired import more as _more
from tests.paired import values as _values

BASELINE = Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "baseline.toml"


def _base(**overrides):
    return small_baseline(2512, **overrides)


def _plan(s, weeks: int = 4):
    """The engine's plan of week ``weeks`` of replicate 0: the model, its peers, the counters."""
    model = OutreachModel(s, 0)
    model.run(weeks)
    model._fill_vacancies()
    p = model.peer_arrays()
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.plan(
        model.week,
        model.world_arrays(),
        model.client_arrays(),
        p,
        model._params,
        model._keys,
        counters,
    )
    return model, p, counters


# --------------------------------------------------------------------------- one week


def test_retired_slot_keys_name_their_replacement():
    for key, hint in (
        ("appointments_per_professional_week", "hours_per_appointment"),
        ("supervision_per_professional_week", "hours_per_supervision"),
        ("house_calls_per_professional_week", "hours_per_house_call"),
    ):
        with pytest.raises(ScenarioError) as info:
            load_scenario(BASELINE, {f"services.{key}": 8})
        assert "removed in 0.4" in str(info.value) and hint in str(info.value), key


def test_the_programme_hours_are_the_professionals_less_their_outside_work():
    s = _base(
        **{
            "services.professionals": 4,
            "services.professional_hours_per_week": 30.0,
            "services.outside_work_share": 0.25,
        }
    )
    assert S.kernel_params(s).programme_hours_per_week == 4 * 30.0 * 0.75
    _, p, _ = _plan(s)
    used, left = p.team[S.T_PROFESSIONAL_USED], p.team[S.T_PROFESSIONAL_LEFT]
    assert used + left == pytest.approx(90.0)


def test_coordination_comes_first_and_supervision_waits():
    # Coordinating the enrolled peers takes more than the hours there are: no one is
    # supervised, and every peer due waits (counted late), however much they need it.
    s = _base(
        **{
            "services.coordination_hours_per_peer_week": 10.0,
            "wellbeing.supervision_every_weeks": 1,
            "wellbeing.assessment_error_sd": 0.0,
        }
    )
    model, p, counters = _plan(s)
    hours = S.kernel_params(s).programme_hours_per_week
    assert p.team[S.T_PROFESSIONAL_USED] == pytest.approx(hours)
    assert p.team[S.T_PROFESSIONAL_LEFT] == 0.0
    due = np.sum(p.status == S.ACTIVE)  # every working peer is due every week
    assert counters[S.C_SUPERVISIONS] == 0
    assert counters[S.C_SUPERVISIONS_LATE] == due > 0


def test_supervisions_held_are_the_hours_left_after_coordination():
    # 2 professionals x 10 hours, half for the programme: 10 hours; coordination 0.25 an
    # enrolled peer; each supervision an hour; the rest of those due are late.
    s = _base(
        **{
            "services.professionals": 2,
            "services.professional_hours_per_week": 10.0,
            "services.coordination_hours_per_peer_week": 0.25,
            "wellbeing.supervision_every_weeks": 1,
        }
    )
    model, p, counters = _plan(s)
    enrolled = int(np.sum(p.status != S.WITHDRAWN))
    due = int(np.sum(p.status == S.ACTIVE))
    held = min(due, int(10.0 - 0.25 * enrolled))
    assert counters[S.C_SUPERVISIONS] == held
    assert counters[S.C_SUPERVISIONS_LATE] == due - held
    assert p.team[S.T_PROFESSIONAL_USED] == pytest.approx(0.25 * enrolled + held)


def test_a_new_peer_the_hours_do_not_reach_starts_unassessed():
    # No hours for the programme (all of them outside work): the first week's peers are not
    # assessed at induction, so their strength is 1 (their kind's full hours), as without
    # professionals; with the hours, their strength is their energy as assessed.
    none = _base(**{"services.outside_work_share": 1.0})
    some = _base(**{"services.coordination_hours_per_peer_week": 0.0})
    a, b = OutreachModel(none, 0), OutreachModel(some, 0)
    a.run(1)
    b.run(1)
    n = a.n_peers
    assert np.all(a.p_strength[:n] == 1.0)
    assert np.allclose(b.p_strength[:n], b.p_energy[:n], atol=0.5)
    assert np.all(b.p_strength[:n] < 1.0)


def test_engine_and_reference_spend_the_same_hours_in_plan():
    # Judged without error, the plan is deterministic: both spend the same hours, hold the
    # same supervisions and leave the same ones late.
    s = _base(
        **{
            "services.professional_hours_per_week": 16.0,
            "wellbeing.supervision_every_weeks": 1,
            "wellbeing.assessment_error_sd": 0.0,
        }
    )
    model = OutreachModel(s, 0)
    model.run(3)
    model._fill_vacancies()
    c, p = model.client_arrays(), model.peer_arrays()
    ref = ReferenceModel(s, 0, world=model.world)
    ref.load_state(model.week, c, p)
    ref.run_phase("plan")
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.plan(model.week, model.world_arrays(), c, p, model._params, model._keys, counters)
    assert p.team[S.T_PROFESSIONAL_USED] == pytest.approx(ref.professional_hours["used"])
    assert p.team[S.T_PROFESSIONAL_LEFT] == pytest.approx(ref.professional_hours["left"])
    assert counters[S.C_SUPERVISIONS] == ref.totals["supervisions"]
    assert counters[S.C_SUPERVISIONS_LATE] == ref.totals["supervisions_late"] > 0


def test_hours_used_share_is_a_share_and_undefined_without_hours():
    runs = _values(_base(), "professional_hours_used_share", 4)
    assert np.all((runs > 0.0) & (runs <= 1.0))
    none = _values(
        _base(**{"services.outside_work_share": 1.0}), "professional_hours_used_share", 2
    )
    assert all(math.isnan(x) for x in none)


# --------------------------------------------------------------------------- directions


def test_scarce_hours_leave_appointments_waiting_and_supervisions_late():
    # A tenth of the professionals' hours for the programme instead of half: appointments
    # wait, supervisions are late, fewer clients are linked and more of the hours are used.
    half = _base()
    tenth = _base(**{"services.outside_work_share": 0.9})
    assert _more(half, tenth, "appointments_waiting") > Z
    assert _more(half, tenth, "supervisions_late") > Z
    assert _more(tenth, half, "clients_linked") > Z
    assert _more(half, tenth, "professional_hours_used_share") > Z


def test_coordinating_peers_costs_the_professionals_hours():
    # Two hours a week per enrolled peer instead of none, with the hours scarce: less is left
    # for appointments, so more wait.
    scarce = {"services.outside_work_share": 0.8}
    free = _base(**scarce, **{"services.coordination_hours_per_peer_week": 0.0})
    costly = _base(**scarce, **{"services.coordination_hours_per_peer_week": 2.0})
    assert _more(free, costly, "appointments_waiting") > Z
    assert _more(free, costly, "supervisions_late") > Z


def test_clients_in_services_take_the_professionals_hours_before_new_appointments():
    # Each client in services (linked or retained) takes hours_per_linked_client_week of the
    # professionals' programme hours after coordination: as clients accumulate in services,
    # fewer hours are left for new appointments, so more askers wait and the hours used rise.
    light = _base(**{"services.hours_per_linked_client_week": 0.0})
    heavy = _base(**{"services.hours_per_linked_client_week": 1.0})
    assert _more(light, heavy, "appointments_waiting") > Z
    assert _more(light, heavy, "professional_hours_used_share") > Z
    assert _more(heavy, light, "clients_linked") > Z

"""A peer's working week: hours, pay, professionals, supervision, stigma and the seed's roles.

Each test changes one lever and compares paired runs: the same replicates of two scenarios share
their random numbers wherever the policies agree (common random numbers), so the difference of
a metric is measured replicate by replicate. A test asserts the direction of the mechanism it
names and that it is decisive: the mean paired difference is more than ``Z`` standard errors
from zero (``Z = 3``: a one-sided level of about 0.001 for each assertion, with ``REPS``
replicates, so a mechanism that did not act, or acted backwards, fails).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.ensemble.replicates import run_ensemble
from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.scenario import load_scenario
from tests.paired import REPS, Z, small_baseline
from tests.paired import more as _more
from tests.paired import values as _values
from tests.paired import z as _z

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _base(**overrides):
    return small_baseline(4242, **overrides)


# --------------------------------------------------------------------------- hours


def test_more_hours_more_contacts_with_diminishing_returns():
    # Contacts follow the hours (meetings of hours_per_meeting each); within a fixed reach, the
    # more a peer meets, the more of those met are already in contact, so each extra hour finds
    # fewer new clients.
    runs = {
        h: _values(
            _base(**{"close_peers.hours_per_week": h, "distant_peers.hours_per_week": h}),
            "clients_contacted",
        )
        for h in (4, 8, 16)
    }
    assert _z(runs[8] - runs[4]) > Z
    assert _z(runs[16] - runs[8]) > Z
    per_hour_low = (runs[8] - runs[4]) / 4
    per_hour_high = (runs[16] - runs[8]) / 8
    assert _z(per_hour_low - per_hour_high) > Z


def test_degree_recruitment_no_longer_multiplies_reach():
    # A peer chosen for many ties has more people within reach, but meets only as many as their
    # hours allow: recruiting by degree raises contacts a little, not by the size of the
    # recruits' networks (it tripled them when contacts followed the network).
    random_ = _values(_base(), "clients_contacted")
    degree = _values(
        _base(**{"close_peers.recruitment": "degree", "distant_peers.recruitment": "degree"}),
        "clients_contacted",
    )
    ratio = degree.mean() / random_.mean()
    assert 0.8 < ratio < 1.5, ratio


def test_contacts_a_week_are_bounded_by_the_hours():
    # However large a peer's reach, their new contacts in a week cannot exceed their meetings.
    s = _base(
        **{
            "close_peers.recruitment": "degree",
            "distant_peers.recruitment": "degree",
            "distant_peers.reach_hops": 3,
            "outreach.p_referrer": 0.0,
        }
    )
    model = OutreachModel(s, 0)
    most = 0
    for _ in range(8):
        before = model.peer_of.copy(), model.cstate.copy()
        model.step()
        new = (before[1] == S.HIDDEN) & (model.cstate != S.HIDDEN) & (model.peer_of >= 0)
        counts = np.bincount(model.peer_of[new], minlength=model.n_peers)
        most = max(most, int(counts.max()))
    meetings = (
        max(s.close_peers.hours_per_week, s.distant_peers.hours_per_week) / s.work.hours_per_meeting
    )
    assert 0 < most <= meetings + 1


# --------------------------------------------------------------------------- pay


def test_pay_dose_response_none_token_fair():
    # Pay restores energy in proportion to a fair wage an hour (MIPA: many hours with no pay
    # carry the highest risk): none < token < fair in protection from exhaustion.
    fair = 15.0  # wellbeing.fair_wage_per_hour

    def at(pay):
        return _base(
            **{
                "distant_peers.pay_per_hour": pay,
                "close_peers.count": 0,
                "distant_peers.count": 20,
            }
        )

    none = _values(at(0.0), "peers_exhausted_fraction", 40)
    token = _values(at(fair / 4), "peers_exhausted_fraction", 40)
    full = _values(at(fair), "peers_exhausted_fraction", 40)
    assert _z(none - token) > Z
    assert _z(token - full) > Z


def test_pay_above_a_fair_wage_buys_no_more_protection():
    # The dose response saturates at a fair wage: paying twice as much protects no better.
    fair = _base(**{"distant_peers.pay_per_hour": 15.0})
    double = _base(**{"distant_peers.pay_per_hour": 30.0})
    a = _values(fair, "peers_exhausted_fraction")
    b = _values(double, "peers_exhausted_fraction")
    assert np.array_equal(a, b)
    assert _more(fair, double, "cost_total") > Z


# --------------------------------------------------------------------------- professionals


def test_more_professionals_more_linkage_when_hours_bind_and_more_cost():
    # The professionals' hours bind (a tenth of them for the programme): more professionals
    # link more clients, and their salaries cost more whether or not their hours are used.
    scarce = {"services.outside_work_share": 0.9}
    few = _base(**scarce, **{"services.professionals": 1})
    many = _base(**scarce, **{"services.professionals": 6})
    assert _more(few, many, "clients_linked") > Z
    assert _more(few, many, "cost_total") > Z


def test_house_calls_link_clients_the_office_cannot_see():
    # With the professionals' hours scarce and an appointment longer than a house call, the
    # hours too few for one more appointment hold house calls with close peers, which link
    # more clients than no house calls (one too long to fit).
    scarce = {"services.outside_work_share": 0.8, "services.hours_per_appointment": 3.0}
    none = _base(**scarce, **{"work.hours_per_house_call": 40.0})
    some = _base(**scarce, **{"work.hours_per_house_call": 1.0})
    assert _more(none, some, "clients_linked") > Z


def test_supervision_by_need_lowers_exhaustion():
    # When the hours for supervision are scarce (about three a week), giving them to the most
    # strained peers first keeps more peers above the exhaustion threshold than giving them in
    # turn. With supervision this strong, exhaustion is rare (2-4% of peers), so the difference
    # is small against its spread: 80 paired replicates.
    scarce = {
        "services.professional_hours_per_week": 6.0,
        "services.outside_work_share": 0.5,
        "services.coordination_hours_per_peer_week": 0.0,
        "wellbeing.supervision_every_weeks": 1,
        "wellbeing.supervision_gain": 0.3,
    }
    turn = _base(**scarce, **{"services.supervision_order": "turn"})
    need = _base(**scarce, **{"services.supervision_order": "need"})
    assert _more(need, turn, "peers_exhausted_fraction", 80) > Z


def _supervised_first(error: float):
    """Three supervisions' hours in week 3: who got them, who works, energies before."""
    s = _base(
        **{
            "services.professionals": 1,
            "services.professional_hours_per_week": 6.0,
            "services.outside_work_share": 0.5,
            "services.coordination_hours_per_peer_week": 0.0,
            "wellbeing.supervision_every_weeks": 1,
            "wellbeing.assessment_error_sd": error,
        }
    )
    model = OutreachModel(s, 0)
    model.run(3)
    p = model.peer_arrays()
    energy_before = p.energy.copy()
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
    chosen = np.flatnonzero(p.last_supervised == model.week)
    working = np.flatnonzero(p.status == S.ACTIVE)
    return chosen, working, energy_before, p


def test_scarce_supervision_goes_to_the_most_strained_first():
    # Judged without error, need is the true energy: the three lowest get the slots.
    chosen, working, energy, p = _supervised_first(0.0)
    assert chosen.size == 3
    assert set(chosen) == set(working[np.argsort(energy[working])[:3]])
    assert np.array_equal(p.strength[chosen], energy[chosen])


def test_supervision_by_need_goes_by_the_strain_the_professionals_judge():
    # With a judging error the slots go to the lowest *judged* energies (p.judged), which
    # differ from the true ones by about the error's sd; the strength assessed is the judged.
    chosen, working, energy, p = _supervised_first(0.3)
    assert chosen.size == 3
    assert set(chosen) == set(working[np.argsort(p.judged[working])[:3]])
    assert np.array_equal(p.strength[chosen], p.judged[chosen])
    assert not np.array_equal(p.judged[working], energy[working])
    assert np.all((p.judged >= 0.0) & (p.judged <= 1.0))


def test_professionals_tailor_hours_to_strength():
    # A peer assessed as weaker is given fewer hours; without professionals no one tailors.
    s = _base(**{"services.tailoring": 1.0})
    model = OutreachModel(s, 0)
    p = model.peer_arrays()
    p.strength[:] = np.linspace(0.2, 1.0, p.strength.size)
    p.caseload[:] = 0
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.plan(1, model.world_arrays(), model.client_arrays(), p, model._params, model._keys, counters)
    budget = p.hours_left + p.hours_worked
    for kind in (S.CLOSE, S.DISTANT):
        mine = p.kind == kind
        assert np.all(np.diff(budget[mine]) > 0)  # stronger, more hours
    alone = OutreachModel(s.replace({"services.professionals": 0}), 0)
    q = alone.peer_arrays()
    K.plan(1, alone.world_arrays(), alone.client_arrays(), q, alone._params, alone._keys, counters)
    hours = np.where(
        q.kind == S.CLOSE, s.close_peers.hours_per_week, s.distant_peers.hours_per_week
    )
    assert np.allclose(q.hours_left + q.hours_worked, hours)


# --------------------------------------------------------------------------- stigma


def test_stigma_events_more_frequent_where_stigma_is_high():
    # A peer is labelled a snitch with chance p_stigma_event x local stigma each week.
    def labelled_weeks(stigma):
        s = _base(
            **{
                "population.localities": [
                    {"name": "town", "share": 1.0, "stigma": stigma, "online_access": 0.5}
                ]
            }
        )
        out = []
        for r in range(REPS):
            model = OutreachModel(s, r)
            total = 0
            for _ in range(26):
                model.step()
                n = model.n_peers
                total += int(
                    np.sum(
                        model.p_label_until[:n] == model.week - 1 + s.wellbeing.stigma_trust_weeks
                    )
                )
            out.append(total)
        return np.array(out, float)

    assert _z(labelled_weeks(0.8) - labelled_weeks(0.1)) > Z


def test_high_stigma_burdens_peers():
    # Stigma no longer protects peers by giving them fewer clients: they work their hours
    # anyway, and stigma events cost energy.
    low = _base(
        **{
            "population.localities": [
                {"name": "town", "share": 1.0, "stigma": 0.1, "online_access": 0.5}
            ]
        }
    )
    high = _base(
        **{
            "population.localities": [
                {"name": "town", "share": 1.0, "stigma": 0.9, "online_access": 0.5}
            ],
            "wellbeing.p_stigma_event_per_week": 0.1,
        }
    )
    assert _more(low, high, "peers_exhausted_fraction", 40) > Z


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    "role, key, low, high, metric",
    [
        ("finder", "distant_peers.p_contact_per_meeting", 0.3, 0.7, "clients_contacted"),
        ("bridge-builder", "distant_peers.reach_hops", 1, 2, "clients_contacted"),
        ("companion: attendance", "close_peers.attendance_boost", 0.0, 0.5, "clients_linked"),
        (
            "companion: staying in services",
            "close_peers.retention_boost",
            0.0,
            0.9,
            "clients_retained",
        ),
        ("interpreter", "close_peers.interpreter_boost", 0.0, 0.3, "clients_linked"),
        ("mirror", "close_peers.mirror_effect", 0.0, 0.8, "clients_retained"),
    ],
)
def test_role_moves_its_outcome_up(role, key, low, high, metric):
    assert _more(_base(**{key: low}), _base(**{key: high}), metric) > Z, role


def test_bodyguard_pairs_protect_peers_and_meet_fewer_people():
    # Working in pairs halves the people each peer meets, and crises and stigma events cost
    # pair_risk_factor of their energy.
    alone = _base(**{"distant_peers.works_in_pairs": False})
    pairs = _base(**{"distant_peers.works_in_pairs": True})
    assert _more(pairs, alone, "peers_exhausted_fraction_distant", 40) > Z
    assert _more(pairs, alone, "clients_contacted") > Z


def test_educator_fewer_crises_less_exhaustion():
    # Clients of an educator know more (harm reduction): fewer crises, less exhaustion.
    none = _base(**{"distant_peers.educator_effect": 0.0})
    full = _base(**{"distant_peers.educator_effect": 0.9})
    assert _more(full, none, "peers_exhausted_fraction_distant", 40) > Z


def test_educator_shortens_a_new_peers_training():
    # A new peer trains for training_weeks x (1 - the strongest educator effect among
    # experienced working peers), and has the training hours for outreach once done.
    s = _base(**{"work.training_weeks": 4, "close_peers.educator_effect": 0.75})
    model = OutreachModel(s, 0)
    p = model.peer_arrays()
    p.joined[:] = 0
    p.joined[0] = 10  # a new peer among peers who have worked ten weeks
    p.caseload[:] = 0
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.plan(11, model.world_arrays(), model.client_arrays(), p, model._params, model._keys, counters)
    trained = p.hours_left[0]
    p.joined[:] = 10  # nobody experienced: no educator
    K.plan(11, model.world_arrays(), model.client_arrays(), p, model._params, model._keys, counters)
    assert trained - p.hours_left[0] == pytest.approx(s.work.training_hours_per_week)


# --------------------------------------------------------------------------- programmes


def test_a_programme_without_peers_runs_on_outreach_workers():
    s = load_scenario(
        SCENARIOS / "traditional_outreach.toml", {"population.size": 2000, "run.weeks": 26}
    )
    assert s.close_peers.count == 0 and s.distant_peers.count == 0
    runs = run_ensemble(s, 4)
    assert np.all(runs.metric_values("clients_contacted") > 0)
    assert np.all(runs.metric_values("clients_linked") > 0)
    assert np.all(np.isnan(runs.metric_values("peers_exhausted_fraction")))

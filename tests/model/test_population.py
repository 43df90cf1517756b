"""The open population (``[turnover]``), encounters, a programme's history and its years.

Each test names the mechanism it exercises. Stochastic ones use fixed seeds, with tolerances
from the sample size (said where used).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.model import state as S
from sim.model.metrics import YEAR_METRICS
from sim.model.outreach import OutreachModel
from sim.model.scenario import CLOSED_POPULATION, load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
CLOSED = dict(CLOSED_POPULATION)


def _scenario(**extra):
    return load_scenario(
        BASELINE, {"population.size": 1500, "run.seed": 31, "run.weeks": 26, **extra}
    )


def test_the_population_flows_are_the_same_whatever_the_policy():
    # The flows have their own key and read nothing of the programme: two policies (more
    # close peers, weekly supervision) meet the same people in the same weeks.
    a = OutreachModel(_scenario(), 0)
    b = OutreachModel(
        _scenario(**{"close_peers.count": 16, "wellbeing.supervision_every_weeks": 1}), 0
    )
    for _ in range(20):
        a.step()
        b.step()
        assert np.array_equal(a.here, b.here)
    assert a.weekly["population"] == b.weekly["population"]
    assert a.totals["left_population"] > 0 and a.totals["entered"] > 0


def test_the_population_stays_near_its_size():
    # Entries bring the population back to its size at the start each week: over five years
    # it stays within a few binomial sds (weekly flows of some 10 people at 1,500).
    s = _scenario(**{"run.weeks": 260})
    model = OutreachModel(s, 0)
    model.run()
    series = np.array(model.weekly["population"])
    size = series[0]
    assert size == model.book[S.B_SIZE]
    assert np.max(np.abs(series - size)) <= 5 * math.sqrt(size * 0.01) + 5
    # Half a world's people were dormant at the start; by the end many of the population
    # entered since (the dormant pool is used), and the dead are gone for good.
    assert np.sum(model.here == S.DEAD) > 0
    assert model.totals["entered"] > 0.1 * size


def test_a_closed_population_keeps_everyone():
    model = OutreachModel(_scenario(**CLOSED), 0)
    model.run()
    assert set(model.weekly["population"]) == {model.world.n}
    assert np.all(model.here == S.PRESENT)


def test_death_comes_at_its_yearly_rate():
    # Deaths alone, at 20% a year: the weekly chance 1 - 0.8^(1/52) over some 1,500 people
    # and 26 weeks; the count is binomial, so within 4 sds of its expectation.
    rates = {**CLOSED, "turnover.deaths_per_year": 0.2}
    model = OutreachModel(_scenario(**rates), 0)
    model.run()
    q = 1 - 0.8 ** (1 / 52)
    n = model.world.n
    expected = n * (1 - (1 - q) ** 26)
    dead = int(np.sum(model.here == S.DEAD))
    assert abs(dead - expected) < 4 * math.sqrt(expected)


def test_a_client_who_leaves_is_out_of_contact():
    # Everyone leaves often here: no one absent is on a list, in a caseload or holds coupons,
    # and every caseload counts exactly the engaged clients its peer supports.
    rates = {"turnover.stop_per_year": 0.6, "turnover.prison_per_year": 0.4}
    model = OutreachModel(_scenario(**rates, **{"outreach.p_referrer": 0.5}), 0)
    model.run()
    absent = model.here != S.PRESENT
    assert absent.sum() > 0
    clients_absent = absent & (model.role == S.ABSENT)
    assert np.all(model.cstate[clients_absent] == S.HIDDEN)
    assert np.all(model.reached_pos[clients_absent] == -1)
    assert np.all(model.coupons[clients_absent] == 0)
    assert np.all(model.peer_of[clients_absent] == -1)
    n = model.n_peers
    engaged = (model.cstate == S.ENGAGED) & (model.role == S.CLIENT)
    counts = np.bincount(model.peer_of[engaged & (model.peer_of >= 0)], minlength=n)
    assert np.array_equal(counts[:n], model.p_caseload[:n])


def test_encounters_count_every_meeting_and_years_add_up():
    model = OutreachModel(_scenario(**{"run.weeks": 120}), 0)
    model.run()
    met = model.first_met >= 0
    assert np.all(model.first_met[met] <= model.last_met[met])
    assert np.all(model.last_met[~met] == -1)
    years = model.years()
    assert [y["year"] for y in years] == [1, 2, 3] and [y["weeks"] for y in years] == [52, 52, 16]
    assert all(set(y["metrics"]) == set(YEAR_METRICS) for y in years)
    m = model.metrics()
    # The years' encounters and accompaniments are the run's; every client seen had one.
    assert sum(y["metrics"]["encounters"] for y in years) == m["encounters"]
    assert sum(y["metrics"]["accompaniments"] for y in years) == m["accompaniments"]
    assert m["clients_seen"] == np.sum(met) >= m["clients_contacted"] > 0
    # The first year's clients are all new; later years have returning clients.
    assert years[0]["metrics"]["clients_new_share"] == 1.0
    assert 0 < years[1]["metrics"]["clients_new_share"] < 1
    assert years[-1]["metrics"]["population_size_end"] == model.weekly["population"][-1]


def test_a_history_carries_over_and_is_not_reported():
    # 30 weeks of history, then 26 measured: the measured period's path counts those who took
    # a step for the first time in it, its totals are its own, and its clients seen include
    # clients the history had met.
    history = OutreachModel(_scenario(**{"run.history_weeks": 30}), 2)
    history.run()
    assert history.week == 56 and history.start_week == 30
    m = history.metrics()
    weekly = history.weekly
    assert m["clients_contacted"] == weekly["contacted"][56] - weekly["contacted"][30]
    assert m["clients_linked"] == weekly["linked"][56] - weekly["linked"][30]
    assert m["clients_new_share"] < 1.0  # some clients met in the history came back
    assert len(history.years()) == 1 and history.years()[0]["weeks"] == 26
    fresh = OutreachModel(_scenario(), 2)
    fresh.run()
    assert fresh.metrics()["clients_new_share"] == 1.0


def test_a_graph_files_people_are_all_present_at_the_start(tmp_path):
    edges = tmp_path / "edges.csv"
    rng = np.random.default_rng(3)
    pairs = {tuple(sorted(rng.choice(200, 2, replace=False))) for _ in range(600)}
    edges.write_text("source,target\n" + "".join(f"p{a},p{b}\n" for a, b in pairs))
    s = load_scenario(
        BASELINE,
        {
            "network.generator": "file",
            "network.file": str(edges),
            "close_peers.count": 2,
            "distant_peers.count": 2,
            "run.weeks": 4,
        },
    )
    model = OutreachModel(s, 0)
    assert np.sum(model.here == S.DORMANT) == 0
    assert model.book[S.B_SIZE] + np.sum(model.here == S.AWAY) == model.world.n


@pytest.mark.parametrize("d", [0.25, 1.0])
def test_dormant_people_are_the_declared_share_of_a_generated_world(d):
    # A world of size x (1 + d) people, of whom d / (1 + d) start dormant: binomial, within 4
    # sds of its expectation.
    s = _scenario(**{"population.dormant_per_person": d})
    model = OutreachModel(s, 0)
    n = model.world.n
    assert n == round(1500 * (1 + d))
    p = d / (1 + d)
    dormant = np.sum(model.here == S.DORMANT)
    assert abs(dormant - n * p) < 4 * math.sqrt(n * p * (1 - p))

"""Surveys of an open population: only the people present at the survey's week are surveyed,
and the truth the estimates are checked against is theirs.

The scenario keeps the default ``[turnover]`` (people stop using, die, go to prison, move, and
the world's dormant people enter) and runs a year of history and half a year measured, so that
the population of the survey's week differs from the world's people and from those of the
start. Statistical checks use fixed seeds; each tolerance is given beside it with its sample
size.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim.model import state as E
from sim.model.scenario import Scenario
from sim.rds import estimators as est
from sim.rds.survey import (
    ROLE_LABELS,
    SurveyDesign,
    induced_subgraph,
    present_population,
    survey,
    survey_population,
)
from sim.rds.survey_files import truth_document
from sim.streams import stream
from tests.cli_helpers import outreach, write

SETTINGS = {
    "population.size": 2000,
    "run.history_weeks": 52,
    "run.weeks": 26,
    "run.seed": 5,
}


@pytest.fixture(scope="module")
def surveyed():
    """The survey's population, and the same run of the model (same seed, replicate 0)."""
    from sim.model.outreach import OutreachModel
    from sim.model.world import build_world

    scenario = Scenario().replace(SETTINGS)
    pop = survey_population(scenario)
    world = build_world(scenario, 0)
    model = OutreachModel(scenario, 0, world)
    model.run()
    return scenario, pop, world, model


def test_the_survey_sees_the_population_of_its_week(surveyed):
    scenario, pop, world, model = surveyed
    present = np.flatnonzero(model.here == E.PRESENT)
    # The survey happens after the history and the measured weeks, as model.run() ends.
    assert pop.week == model.week == 52 + 26
    assert pop.n == present.size == model.weekly["population"][-1]
    assert pop.people_in_world == world.n == 3000
    # Turnover has worked: some who were present at the start are gone, some have entered.
    start = _present_at_start(scenario, world)
    assert np.count_nonzero(start & (model.here != E.PRESENT)) > 50
    assert np.count_nonzero(~start & (model.here == E.PRESENT)) > 50
    # Each person keeps their index in the world as their id.
    assert np.array_equal(pop.person, present)
    assert pop.ids == [str(i) for i in present]
    assert pop.attributes["role"][1] == ROLE_LABELS
    assert int(pop.attributes["role"][0].max()) < len(ROLE_LABELS)


def _present_at_start(scenario, world) -> np.ndarray:
    """Who is present at week 0 (the model before any week)."""
    from sim.model.outreach import OutreachModel

    return OutreachModel(scenario, 0, world).here == E.PRESENT


def test_the_graph_is_the_one_induced_on_the_present(surveyed):
    _, pop, world, model = surveyed
    g = world.graph
    here = model.here == E.PRESENT
    # Each person's ties are their world ties to people present (an absent person's end).
    for j, v in enumerate(pop.person[:300].tolist()):
        ties = g.indices[g.indptr[v] : g.indptr[v + 1]]
        mine = pop.person[pop.indices[pop.indptr[j] : pop.indptr[j + 1]]]
        assert np.array_equal(mine, ties[here[ties]])
    ended = sum(
        np.count_nonzero(~here[g.indices[g.indptr[v] : g.indptr[v + 1]]])
        for v in pop.person.tolist()
    )
    assert ended > 0 and pop.indices.size == g.indptr[-1] - ended - _ties_of_absent(g, here)


def _ties_of_absent(g, here) -> int:
    absent = np.flatnonzero(~here)
    return int(sum(g.indptr[v + 1] - g.indptr[v] for v in absent.tolist()))


def test_induced_subgraph_by_hand():
    # Path 0-1-2-3 and tie 0-3; keep 0, 2, 3: ties 2-3 and 0-3 stay, renumbered 0, 1, 2.
    indptr = np.array([0, 2, 4, 6, 8], dtype=np.int32)
    indices = np.array([1, 3, 0, 2, 1, 3, 0, 2], dtype=np.int32)
    ptr, ind = induced_subgraph(indptr, indices, np.array([0, 2, 3]))
    assert ptr.tolist() == [0, 1, 2, 4] and ind.tolist() == [2, 2, 0, 1]
    assert ptr.dtype == indptr.dtype and ind.dtype == indices.dtype


def test_no_respondent_is_absent(surveyed):
    _, pop, _, model = surveyed
    for seed_from in ("random", "engaged", "service"):
        design = SurveyDesign(n_seeds=5, sample_size=150, p_redeem=0.6, seed_from=seed_from)
        for r in range(3):
            s = survey(pop, design, 3, r)
            assert s.size > 50
            assert np.all(model.here[pop.person[s.node]] == E.PRESENT)


def test_the_truth_is_of_the_present(surveyed):
    scenario, pop, world, model = surveyed
    present = model.here == E.PRESENT
    truth = truth_document(pop, scenario.name)
    assert truth["population_size"] == int(present.sum())
    assert truth["survey_week"] == 78 and truth["people_in_world"] == 3000
    linked = (model.ever & E.EVER_LINKED > 0) & present
    assert truth["service_records"] == int(linked.sum()) > 0
    gender = np.bincount(world.gender[present], minlength=2) / present.sum()
    shares = truth["attributes"]["gender"]["shares"]
    assert [shares["man"], shares["woman"]] == pytest.approx(gender.tolist())
    contacted = (model.ever & E.EVER_CONTACTED > 0)[present].mean()
    assert truth["attributes"]["contacted"]["shares"]["1"] == pytest.approx(contacted)
    # Among everyone in the world (the dormant, dead and imprisoned too) it is far lower.
    assert (model.ever & E.EVER_CONTACTED > 0).mean() < contacted - 0.1
    g = world.graph
    here_ties = sum(
        np.count_nonzero(present[g.indices[g.indptr[v] : g.indptr[v + 1]]])
        for v in np.flatnonzero(present).tolist()
    )
    assert truth["mean_degree"] == pytest.approx(here_ties / present.sum())


def test_volz_heckathorn_finds_the_present_populations_share(surveyed):
    # The share ever contacted by the programme: 0.55 of those present at the survey's week,
    # 0.41 of the world's people (the dormant were never there to meet). 20 surveys of 200
    # (10 seeds, 3 coupons, p-redeem 0.6) in a population of about 2,000.
    _, pop, _, model = surveyed
    y_all = pop.attributes["contacted"][0].astype(np.int64)
    truth = y_all.mean()
    everyone = (model.ever & E.EVER_CONTACTED > 0).mean()
    design = SurveyDesign(n_seeds=10, sample_size=200, p_redeem=0.6)
    estimates, covered = [], 0
    for r in range(20):
        s = survey(pop, design, 11, r)
        y = y_all[s.node]
        p = float(est.vh(y, s.reported, 2)[1])
        boot = est.salganik_bootstrap(
            y, s.reported, s.recruiter, 2, stream(11, r, "rds-bootstrap"), replicates=200
        )
        lo, hi = est.bootstrap_interval(p, boot["RDS-II"][:, 1])
        covered += lo <= truth <= hi
        estimates.append(p)
        if r == 0:
            # The fixed-seed check: the first survey's 95% bootstrap interval holds the
            # present's truth (its half-width, about 0.1, is what 200 respondents give).
            assert lo <= truth <= hi, (lo, p, hi, truth)
    mean = float(np.mean(estimates))
    se = float(np.std(estimates, ddof=1)) / math.sqrt(len(estimates))
    # The mean of 20 surveys within 3 standard errors of the present's truth (measured: 1.8,
    # RDS-II's own small bias here), and the world's share many standard errors away.
    assert abs(mean - truth) < 3 * se, (mean, se, truth)
    assert abs(mean - everyone) > 5 * se, (mean, se, everyone)
    # 95% intervals: at least 15 of 20 hold the truth (measured 17; binomial(20, 0.95) gives
    # 15 or fewer with probability 0.3%).
    assert covered >= 15


def test_present_population_before_the_run_is_the_start(surveyed):
    from sim.model.outreach import OutreachModel

    scenario, _, world, _ = surveyed
    model = OutreachModel(scenario, 0, world)
    pop = present_population(world, model, scenario)
    assert pop.week == 0 and pop.n == int(np.count_nonzero(model.here == E.PRESENT))
    assert np.any(model.here == E.AWAY)  # some start in prison, outside the population
    assert not pop.linked.any() and not pop.engaged.any()


def test_the_survey_command_writes_the_population_of_the_surveys_week(tmp_path):
    from sim.model.outreach import OutreachModel
    from sim.model.scenario import load_scenario
    from sim.model.world import build_world

    path = write(
        tmp_path / "open.toml",
        """
name = "open"
[run]
seed = 9
weeks = 20
history_weeks = 30
[population]
size = 1200
""",
    )
    proc = outreach(
        "survey",
        path,
        "--out",
        tmp_path / "out",
        "--sample-size",
        "100",
        "--p-redeem",
        "0.7",
        "--replicates",
        "2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "30 weeks of history and 20 weeks" in proc.stdout
    scenario = load_scenario(path)
    world = build_world(scenario, 0)
    model = OutreachModel(scenario, 0, world)
    model.run()
    present = model.here == E.PRESENT
    truth = json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))
    assert truth["survey_week"] == 50
    assert truth["population_size"] == int(present.sum()) != scenario.population.size
    assert truth["people_in_world"] == world.n
    assert f"surveyed {int(present.sum()):,} people present at week 50" in proc.stdout
    settings = json.loads((tmp_path / "out" / "survey.json").read_text(encoding="utf-8"))
    assert settings["history_weeks"] == 30 and settings["weeks"] == 20
    rows = (tmp_path / "out" / "sample.csv").read_text(encoding="utf-8").splitlines()
    ids = [int(line.split(",")[1]) for line in rows[1:]]
    assert ids and present[ids].all()
    est_proc = outreach("estimate", tmp_path / "out", "--trait", "contacted", "--bootstrap", "50")
    assert est_proc.returncode == 0, est_proc.stderr
    assert f"population {int(present.sum()):,}" in est_proc.stdout

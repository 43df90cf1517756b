"""Scenario files: defaults, loading, every kind of bad input, overrides and round trips."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from sim.errors import UserInputError
from sim.model.scenario import (
    RECRUITMENT_POLICIES,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_overrides,
    scenario_from_dict,
    scenario_problems,
    scenario_to_dict,
)

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> tuple[Path, ScenarioError]:
    """Load a scenario that must not validate; return its path and the error."""
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert isinstance(err, UserInputError)  # the CLI turns these into one line and status 2
    assert err.problems, "a ScenarioError must list its problems"
    assert str(err).startswith(err.problems[0])
    for problem in err.problems:
        assert problem.startswith(f"{path}: "), problem  # every problem names the file
        assert "\n" not in problem
    return path, err


def only_problem(tmp_path: Path, text: str) -> str:
    _, err = problems_of(tmp_path, text)
    assert len(err.problems) == 1, err.problems
    return err.problems[0]


# --------------------------------------------------------------------------- good input


def test_defaults_validate():
    assert scenario_problems(scenario_to_dict(Scenario())) == []
    assert scenario_from_dict({}) == Scenario()


def test_empty_file_takes_every_default(tmp_path):
    scenario = load_scenario(write(tmp_path, ""))
    assert scenario == Scenario()
    assert scenario.source == str(tmp_path / "scenario.toml")


def test_baseline_loads():
    s = load_scenario(BASELINE)
    assert s.name == "baseline"
    assert s.source == str(BASELINE)
    assert s.population.size >= 1000
    assert len(s.population.localities) >= 2
    assert sum(s.population.subgroups["gender"].shares) == pytest.approx(1.0)
    assert len(s.close_peers.age_band_shares) == 3
    assert sum(s.close_peers.age_band_shares) == pytest.approx(1.0)
    assert isinstance(s.policy.replace_withdrawn, bool)
    # integers written in TOML for float parameters become floats
    assert isinstance(s.network.mean_degree, float)
    assert isinstance(s.costs.professional_hour, float)


def test_baseline_with_overrides():
    plain = load_scenario(BASELINE)
    s = load_scenario(
        BASELINE, {"population.size": 300, "run.weeks": 8, "population.localities.1.stigma": 0.9}
    )
    assert (s.population.size, s.run.weeks) == (300, 8)
    assert s.population.localities[1].stigma == 0.9
    assert s.population.localities[0] == plain.population.localities[0]
    assert (
        s.replace(
            {
                "population.size": plain.population.size,
                "run.weeks": plain.run.weeks,
                "population.localities.1.stigma": plain.population.localities[1].stigma,
            }
        )
        == plain
    )


# --------------------------------------------------------------------------- unknown keys


def test_unknown_top_level_key(tmp_path):
    msg = only_problem(tmp_path, 'nmae = "x"\n')
    assert "nmae" in msg and "unknown key" in msg
    for allowed in ("name", "run", "population", "close_peers", "wellbeing", "costs"):
        assert allowed in msg
    assert "source" not in msg  # internal field, not a key a user can set


def test_unknown_nested_key(tmp_path):
    msg = only_problem(tmp_path, "[run]\nweek = 10\n")
    assert "run.week: unknown key" in msg
    assert "allowed here: history_weeks, replicates, seed, shared_world_from, weeks, worlds" in msg


def test_unknown_key_in_locality(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [[population.localities]]
        name = "city"
        stigmaa = 0.3
    """,
    )
    assert "population.localities" in msg and "stigmaa" in msg
    assert (
        "name, online_access, service_access, share, site_open_hours_per_week, "
        "site_visit_cv, site_visits_per_week, stigma" in msg
    )


def test_unknown_subgroup(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [population.subgroups.income]
        names = ["low", "high"]
        shares = [0.5, 0.5]
    """,
    )
    assert "population.subgroups.income" in msg and "age_band, gender" in msg


def test_section_that_is_not_a_table(tmp_path):
    msg = only_problem(tmp_path, "run = 5\n")
    assert "run = 5" in msg and "table" in msg


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("toml", "key", "value", "allowed"),
    [
        ('[run]\nweeks = "ten"\n', "run.weeks", "'ten'", "an integer in [1, 520]"),
        ("[run]\nweeks = 2.5\n", "run.weeks", "2.5", "an integer in [1, 520]"),
        ("[run]\nweeks = 2.0\n", "run.weeks", "2.0", "an integer in [1, 520]"),
        ("[run]\nweeks = true\n", "run.weeks", "True", "an integer in [1, 520]"),
        ("[outreach]\nhop_trust = true\n", "outreach.hop_trust", "True", "a number in [0, 1]"),
        ('[outreach]\nhop_trust = "high"\n', "outreach.hop_trust", "'high'", "a number in [0, 1]"),
        ("[outreach]\nhop_trust = nan\n", "outreach.hop_trust", "nan", "a number in [0, 1]"),
        ("[outreach]\nhop_trust = [0.5]\n", "outreach.hop_trust", "[0.5]", "a number in [0, 1]"),
        ("[policy]\nreplace_withdrawn = 1\n", "policy.replace_withdrawn", "1", "true or false"),
        ("name = 3\n", "name", "3", "a string"),
        ("[close_peers]\nage_band_shares = 0.5\n", "close_peers.age_band_shares", "0.5", "a list"),
    ],
)
def test_wrong_type(tmp_path, toml, key, value, allowed):
    msg = only_problem(tmp_path, toml)
    assert f"{key} = {value}: must be {allowed}" in msg


@pytest.mark.parametrize(
    ("toml", "key", "value", "allowed"),
    [
        ("[run]\nweeks = 0\n", "run.weeks", "0", "[1, 520]"),
        ("[run]\nweeks = 521\n", "run.weeks", "521", "[1, 520]"),
        ("[run]\nseed = -1\n", "run.seed", "-1", "an integer in [0,"),
        ("[population]\nsize = 5\n", "population.size", "5", "an integer in [10,"),
        (
            "[outreach]\np_engage_per_week = 1.5\n",
            "outreach.p_engage_per_week",
            "1.5",
            "a number in [0, 1]",
        ),
        (
            "[outreach]\np_engage_per_week = -0.1\n",
            "outreach.p_engage_per_week",
            "-0.1",
            "a number in [0, 1]",
        ),
        (
            "[outreach]\np_engage_per_week = inf\n",
            "outreach.p_engage_per_week",
            "inf",
            "a number in [0, 1]",
        ),
        ("[close_peers]\nreach_hops = 4\n", "close_peers.reach_hops", "4", "an integer in [1, 3]"),
        ("[network]\nmean_degree = 0.5\n", "network.mean_degree", "0.5", "a number in [1, 200]"),
        (
            "[[population.localities]]\nshare = 0.0\n",
            "population.localities[0].share",
            "0.0",
            "a number in (0, 1]",
        ),
        (
            "[population.subgroups.gender]\nnames = ['m', 'w']\nshares = [1.2, -0.2]\n",
            "population.subgroups.gender.shares[0]",
            "1.2",
            "a number in [0, 1]",
        ),
    ],
)
def test_out_of_range(tmp_path, toml, key, value, allowed):
    _, err = problems_of(tmp_path, toml)
    msg = err.problems[0]
    assert f"{key} = {value}: must be " in msg
    assert allowed in msg


@pytest.mark.parametrize("kind", ["close_peers", "distant_peers"])
def test_bad_recruitment_choice(tmp_path, kind):
    msg = only_problem(tmp_path, f'[{kind}]\nrecruitment = "best"\n')
    assert f"{kind}.recruitment = 'best': must be one of" in msg
    for policy in RECRUITMENT_POLICIES:
        assert repr(policy) in msg


def test_bad_generator_choice(tmp_path):
    msg = only_problem(tmp_path, '[network]\ngenerator = "erdos"\n')
    assert "network.generator = 'erdos'" in msg and "'community'" in msg and "'file'" in msg


# --------------------------------------------------------------------------- consistency


def test_subgroup_shares_must_add_to_one(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [population.subgroups.gender]
        names = ["man", "woman"]
        shares = [0.5, 0.6]
    """,
    )
    assert "population.subgroups.gender.shares = [0.5, 0.6]" in msg
    assert "add up to 1" in msg and "1.1" in msg


def test_subgroup_names_and_shares_must_match(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [population.subgroups.age_band]
        names = ["young", "old"]
        shares = [0.2, 0.3, 0.5]
    """,
    )
    assert "population.subgroups.age_band" in msg
    assert "2 names, 3 shares" in msg


def test_locality_shares_must_add_to_one(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [[population.localities]]
        name = "city"
        share = 0.5
        [[population.localities]]
        name = "town"
        share = 0.4
    """,
    )
    assert "population.localities.share = [0.5, 0.4]" in msg
    assert "add up to 1" in msg and "0.9" in msg


def test_at_least_one_locality(tmp_path):
    msg = only_problem(tmp_path, "[population]\nlocalities = []\n")
    assert "population.localities" in msg and "at least one" in msg


def test_age_band_shares_wrong_length(tmp_path):
    msg = only_problem(tmp_path, "[close_peers]\nage_band_shares = [0.5, 0.5]\n")
    assert "close_peers.age_band_shares = [0.5, 0.5]" in msg
    assert "one share per age band (3)" in msg


def test_age_band_shares_must_add_to_one(tmp_path):
    msg = only_problem(tmp_path, "[distant_peers]\nage_band_shares = [0.5, 0.5, 0.5]\n")
    assert "distant_peers.age_band_shares = [0.5, 0.5, 0.5]" in msg and "add up to 1" in msg


@pytest.mark.parametrize("ret", [0.2, 0.1])
def test_return_threshold_above_exhaustion(tmp_path, ret):
    msg = only_problem(
        tmp_path, f"[wellbeing]\nexhaustion_threshold = 0.2\nreturn_threshold = {ret}\n"
    )
    assert f"wellbeing.return_threshold = {ret:g}: must be above" in msg
    assert "wellbeing.exhaustion_threshold (0.2)" in msg


def test_too_many_peers_for_population(tmp_path):
    msg = only_problem(
        tmp_path,
        """\
        [population]
        size = 30
        [close_peers]
        count = 10
        [distant_peers]
        count = 10
    """,
    )
    assert "close_peers.count + distant_peers.count = 20" in msg
    assert "at most half of population.size (15)" in msg


def test_half_the_population_may_be_peers(tmp_path):
    path = write(
        tmp_path,
        "[population]\nsize = 40\n[close_peers]\ncount = 10\n[distant_peers]\ncount = 10\n",
    )
    assert load_scenario(path).close_peers.count == 10


def test_file_generator_needs_a_file(tmp_path):
    msg = only_problem(tmp_path, '[network]\ngenerator = "file"\n')
    assert "network.file" in msg and "network.generator = 'file'" in msg


def test_file_generator_resolves_paths_beside_the_scenario(tmp_path):
    path = write(tmp_path, '[network]\ngenerator = "file"\nfile = "edges.csv"\n')
    assert load_scenario(path).network.file == str((tmp_path / "edges.csv").resolve())


def test_file_generator_with_missing_graph_file(tmp_path):
    from sim.model.world import build_world

    path = write(tmp_path, '[network]\ngenerator = "file"\nfile = "missing-edges.csv"\n')
    scenario = load_scenario(path)
    with pytest.raises(UserInputError, match="missing-edges.csv"):
        build_world(scenario, 0)


# --------------------------------------------------------------------------- unreadable files


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(UserInputError, match="no such scenario file") as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert not isinstance(info.value, ScenarioError) or info.value.problems


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(UserInputError, match="is a folder") as info:
        load_scenario(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_bad_toml(tmp_path):
    path = write(tmp_path, "[run]\nweeks = = 3\n")
    with pytest.raises(UserInputError, match="not valid TOML") as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg and "line 2" in msg and "\n" not in msg


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Jyv\xe4skyl\xe4"\n'.encode("latin-1"))
    with pytest.raises(UserInputError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- many problems


def test_every_problem_is_collected(tmp_path):
    path, err = problems_of(
        tmp_path,
        """\
        colour = "red"
        [run]
        weeks = 0
        replicates = "many"
        [close_peers]
        recruitment = "best"
        [wellbeing]
        crisis_cost = 2.0
    """,
    )
    joined = "\n".join(err.problems)
    assert len(err.problems) == 5, err.problems
    for fragment in (
        "colour: unknown key",
        "run.weeks = 0",
        "run.replicates = 'many'",
        "close_peers.recruitment = 'best'",
        "wellbeing.crisis_cost = 2.0",
    ):
        assert fragment in joined
    assert "(and 4 more problems)" in str(err)


def test_every_consistency_problem_is_collected(tmp_path):
    _, err = problems_of(
        tmp_path,
        """\
        [population.subgroups.gender]
        names = ["man", "woman"]
        shares = [0.5, 0.6]
        [close_peers]
        age_band_shares = [1.0]
        [wellbeing]
        return_threshold = 0.1
    """,
    )
    joined = "\n".join(err.problems)
    assert len(err.problems) == 3, err.problems
    assert "gender.shares" in joined and "age_band_shares" in joined
    assert "return_threshold" in joined


# --------------------------------------------------------------------------- overrides


def test_parse_overrides_values():
    parsed = parse_overrides(
        [
            "run.weeks=12",
            "outreach.hop_trust=0.25",
            "policy.replace_withdrawn=false",
            "close_peers.recruitment=degree",
            'name="two words"',
            "close_peers.age_band_shares=[0.2, 0.3, 0.5]",
            " run.seed = 7 ",
            "description=a=b",
            "network.mean_degree=1e1",
        ]
    )
    assert parsed == {
        "run.weeks": 12,
        "outreach.hop_trust": 0.25,
        "policy.replace_withdrawn": False,
        "close_peers.recruitment": "degree",
        "name": "two words",
        "close_peers.age_band_shares": [0.2, 0.3, 0.5],
        "run.seed": 7,
        "description": "a=b",
        "network.mean_degree": 10.0,
    }
    assert type(parsed["run.weeks"]) is int
    assert type(parsed["outreach.hop_trust"]) is float
    assert parsed["policy.replace_withdrawn"] is False


def test_parse_overrides_later_wins():
    assert parse_overrides(["run.weeks=3", "run.weeks=4"]) == {"run.weeks": 4}


@pytest.mark.parametrize("bad", ["noequals", "=3", "  =3"])
def test_parse_overrides_rejects(bad):
    with pytest.raises(UserInputError, match="dotted.key=value") as info:
        parse_overrides([bad])
    assert repr(bad) in str(info.value)


def test_override_with_unknown_key_is_reported(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, parse_overrides(["run.weks=3"]))
    assert str(path) in str(info.value) and "run.weks: unknown key" in str(info.value)


def test_override_with_bad_value_is_reported(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ScenarioError, match=r"run\.weeks = 'x': must be an integer"):
        load_scenario(path, parse_overrides(["run.weeks=x"]))


def test_replace_dotted_keys():
    s = Scenario()
    t = s.replace(
        {
            "run.weeks": 10,
            "close_peers.count": 4,
            "population.localities.0.stigma": 0.9,
            "population.subgroups.gender.shares": [0.5, 0.5],
        }
    )
    assert t.run.weeks == 10 and t.close_peers.count == 4
    assert t.population.localities[0].stigma == 0.9
    assert t.population.subgroups["gender"].shares == (0.5, 0.5)
    # the original is untouched
    assert s == Scenario()
    assert s.population.localities[0].stigma == 0.2


def test_replace_validates():
    with pytest.raises(ScenarioError, match=r"population\.localities\[0\]\.stigma = 2"):
        Scenario().replace({"population.localities.0.stigma": 2})
    with pytest.raises(ScenarioError, match="run.weks: unknown key"):
        Scenario().replace({"run.weks": 3})


def test_replace_keeps_source_in_messages():
    s = load_scenario(BASELINE)
    with pytest.raises(ScenarioError) as info:
        s.replace({"run.weeks": 0})
    assert str(info.value).startswith(f"{BASELINE}: run.weeks = 0")
    assert s.replace({"run.weeks": 3}).source == str(BASELINE)


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("population.localities.5.stigma", "index below 1"),
        ("population.localities.x.stigma", "index below 1"),
        ("population.size.x", "population.size is a value"),
    ],
)
def test_replace_bad_path(key, fragment):
    with pytest.raises(UserInputError, match=fragment) as info:
        Scenario().replace({key: 1})
    assert key in str(info.value)


def test_replace_path_through_a_list_value():
    with pytest.raises(UserInputError, match="is a value"):
        Scenario().replace({"population.subgroups.gender.shares.0.x": 1})


# --------------------------------------------------------------------------- frozen, round trip


def test_scenario_is_frozen():
    s = Scenario()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.run.weeks = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.population.localities[0].stigma = 0.9  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.population.localities[0] = None  # type: ignore[index]
    assert isinstance(s.close_peers.age_band_shares, tuple)


def test_scenario_subgroups_are_frozen():
    s = Scenario()
    with pytest.raises(TypeError):
        s.population.subgroups["gender"] = None  # type: ignore[index]


def _all_fields_differ_from_default() -> dict:
    """A scenario table whose values mostly differ from the defaults."""
    return {
        "name": "other",
        "description": "all changed",
        "run": {"weeks": 9, "replicates": 2, "seed": 5},
        "population": {
            "size": 700,
            "subgroups": {"gender": {"names": ["a", "b", "c"], "shares": [0.2, 0.3, 0.5]}},
            "localities": [
                {"name": "x", "share": 0.25, "stigma": 0.1, "online_access": 0.2},
                {"name": "y", "share": 0.75, "stigma": 0.7, "online_access": 0.9},
            ],
        },
        "network": {"generator": "small_world", "rewire": 0.3, "mean_degree": 6},
        "close_peers": {"count": 3, "recruitment": "degree", "age_band_shares": [0.2, 0.2, 0.6]},
        "distant_peers": {"count": 4, "recruitment": "cover_subgroups", "caseload_cap": 7},
        "policy": {"replace_withdrawn": False},
        "wellbeing": {"exhaustion_threshold": 0.3, "return_threshold": 0.5},
    }


@pytest.mark.parametrize("which", ["default", "baseline", "changed"])
def test_round_trip(which):
    if which == "default":
        s = Scenario()
    elif which == "baseline":
        s = load_scenario(BASELINE)
    else:
        s = scenario_from_dict(_all_fields_differ_from_default())
    data = scenario_to_dict(s)
    assert scenario_from_dict(data) == s
    # through strict JSON too (what `outreach run --json` writes as settings)
    again = scenario_from_dict(json.loads(json.dumps(data, allow_nan=False)))
    assert again == s
    assert scenario_to_dict(again) == data
    assert "source" not in data

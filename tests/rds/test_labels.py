"""A nodes file's words come back as written: labels as labels, numbers as numbers, in a
survey's ``sample.csv`` and ``truth.json``, ``--trait``, ``--recruit-by`` and influence pools.

The property test generates scenario names and nodes-file labels (letters with accents,
digits, spaces and dashes; labels that look like numbers among words) and checks the round
trip at the library level; the command-line test runs ``survey`` and ``estimate`` once.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.recruitment.influence import _attribute_pool
from sim.model.scenario import load_scenario
from sim.model.world import build_world
from sim.rds import survey_files as F
from sim.rds.analysis import sample_arrays, trait_of
from sim.rds.survey import Population, SurveyDesign, recruit_weights, survey
from tests.cli_helpers import ROOT, outreach, write


def _ties(folder: Path, n: int) -> list[str]:
    ids = [f"p{i}" for i in range(n)]
    rows = [f"{ids[i]},{ids[(i + 1) % n]}" for i in range(n)]
    rows += [f"{ids[i]},{ids[(i + 5) % n]}" for i in range(0, n, 2)]
    write(folder / "ties.csv", "source,target\n" + "\n".join(rows) + "\n")
    return ids


def _scenario(folder: Path, gender: tuple[str, str], weeks: int = 2) -> Path:
    # A closed population (no [turnover]): everyone in the file is surveyed and the truth is
    # the file's own shares (tests/rds/test_open_population.py surveys an open one).
    names = json.dumps(list(gender), ensure_ascii=False)
    return write(
        folder / "net.toml",
        f"""
name = "labels"
[run]
weeks = {weeks}
[turnover]
stop_per_year = 0.0
deaths_per_year = 0.0
prison_per_year = 0.0
move_away_per_year = 0.0
[population.subgroups.gender]
names = {names}
shares = [0.5, 0.5]
[network]
generator = "file"
file = "ties.csv"
nodes_file = "nodes.csv"
[close_peers]
count = 2
[distant_peers]
count = 2
""",
    )


def _nodes(folder: Path, header: list[str], rows: list[list]) -> None:
    with (folder / "nodes.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_LABEL = st.text(st.sampled_from("abcXYZäöé019 -_."), min_size=1, max_size=7).filter(
    lambda s: s == s.strip()
)


@st.composite
def _labelled_files(draw):
    n = draw(st.integers(30, 60))
    gender = tuple(draw(st.lists(_LABEL, min_size=2, max_size=2, unique=True)))
    labels = draw(st.lists(_LABEL, min_size=2, max_size=4, unique=True))
    # At least one word, so the column is labels (a column of numbers stays numbers).
    word = draw(_LABEL.filter(lambda s: not _is_number(s) and s not in labels))
    labels = [word, *labels]
    group = [labels[draw(st.integers(0, len(labels) - 1))] for _ in range(n)]
    group[0] = word
    score = draw(st.lists(st.integers(-5, 50), min_size=n, max_size=n))
    sex = [gender[draw(st.integers(0, 1))] for _ in range(n)]
    return n, gender, group, score, sex


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_labelled_files())
def test_what_goes_in_by_label_comes_out_by_the_same_label(files):
    n, gender, group, score, sex = files
    folder = Path(tempfile.mkdtemp(prefix="labels-"))
    try:
        ids = _ties(folder, n)
        _nodes(
            folder,
            ["id", "group", "score", "gender"],
            [[ids[i], group[i], score[i], sex[i]] for i in range(n)],
        )
        scenario = load_scenario(_scenario(folder, gender))
        world = build_world(scenario, 0)
        attributes = world.person_attributes(scenario)
        pop = Population(
            world.graph.indptr,
            world.graph.indices,
            attributes,
            list(world.ids),
            np.zeros(n, bool),
            np.zeros(n, bool),
        )
        written = dict(zip(ids, zip(group, score, sex, strict=True), strict=True))
        person = {node: i for i, node in enumerate(world.ids)}

        sample = survey(pop, SurveyDesign(n_seeds=2, p_redeem=1.0, sample_size=n), 1, 0)
        (folder / "sample.csv").write_text(
            F.sample_csv(pop, sample, 0, header=True), encoding="utf-8"
        )
        (folder / "truth.json").write_text(
            json.dumps(F.truth_document(pop, "labels")), encoding="utf-8"
        )
        (folder / "survey.json").write_text(
            json.dumps({"seed": 1, "replicates": 1, "respondents": [sample.size]}), encoding="utf-8"
        )
        data = F.read_survey(folder)
        # sample.csv: each respondent's label and number as the nodes file wrote them.
        for node, g, s, x in zip(
            data.column("id", 0),
            data.column("group", 0),
            data.column("score", 0),
            data.column("gender", 0),
            strict=True,
        ):
            assert (g, float(s), x) == (written[node][0], float(written[node][1]), written[node][2])
        # truth.json: a category with the file's labels; the number a number.
        truth = data.truth["attributes"]
        assert truth["group"]["kind"] == "category"
        assert truth["group"]["shares"] == {k: v / n for k, v in Counter(group).items()}
        assert truth["score"]["kind"] == "number"
        assert truth["score"]["mean"] == np.mean(score)
        assert truth["gender"]["shares"] == {g: sex.count(g) / n for g in gender}
        for label in set(group):
            has = np.array([g == label for g in group])
            members = {person[ids[i]] for i in np.flatnonzero(has)}
            # --trait group=LABEL: its truth and each respondent's code.
            trait = trait_of(data, f"group={label}")
            (code,) = trait.report
            assert trait.truth[code] == np.mean(has)
            y = sample_arrays(data, 0, trait)["y"]
            assert [bool(v == code) for v in y] == [g == label for g in data.column("group", 0)]
            # --recruit-by group=LABEL: the weight falls on exactly those people.
            weights, _ = recruit_weights(
                pop, SurveyDesign(recruit_by=f"group={label}", recruit_strength=3.0)
            )
            assert set(np.flatnonzero(weights == 3.0).tolist()) == members
            # An influence pool group=LABEL: the same people.
            pool = _attribute_pool(
                f"group={label}", SimpleNamespace(world=world, scenario=scenario), "pool"
            )
            assert set(pool.tolist()) == members
        trait = trait_of(data, f"gender={gender[1]}")
        assert trait.truth[trait.report[0]] == sex.count(gender[1]) / n
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_group_column_of_a_and_b_is_surveyed_estimated_and_recruited_by_its_labels(tmp_path):
    # The case: a 'group' column with A/B came back as 0/1, truth.json called it a
    # number, and --trait group=A and --recruit-by group=A were refused.
    n = 200
    ids = _ties(tmp_path, n)
    group = ["A" if i % 4 else "B" for i in range(n)]  # 150 A, 50 B
    _nodes(tmp_path, ["id", "group"], [[ids[i], group[i]] for i in range(n)])
    scenario = _scenario(tmp_path, ("man", "woman"))
    proc = outreach(
        "survey",
        scenario,
        "--out",
        tmp_path / "out",
        "--sample-size",
        "80",
        "--n-seeds",
        "4",
        "--p-redeem",
        "0.8",
        "--recruit-by",
        "group=A",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    written = dict(zip(ids, group, strict=True))
    assert rows and all(r["group"] == written[r["id"]] for r in rows)
    truth = json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))
    assert truth["attributes"]["group"] == {"kind": "category", "shares": {"A": 0.75, "B": 0.25}}
    est = outreach("estimate", tmp_path / "out", "--trait", "group=A", "--bootstrap", "50")
    assert est.returncode == 0, est.stderr
    assert "group = A: truth 0.750" in est.stdout, est.stdout


def test_a_nodes_files_in_orbit_comes_back_in_its_own_words(tmp_path):
    # A nodes file gives in_orbit as no/yes: the survey writes no/yes, truth.json names them
    # so and --trait in_orbit=yes asks for it (it was refused: the survey spoke of "in orbit").
    n = 200
    ids = _ties(tmp_path, n)
    orbit = ["yes" if i % 5 else "no" for i in range(n)]  # 160 yes, 40 no
    _nodes(tmp_path, ["id", "in_orbit"], [[ids[i], orbit[i]] for i in range(n)])
    scenario = _scenario(tmp_path, ("man", "woman"))
    proc = outreach(
        "survey", scenario, "--out", tmp_path / "out", "--sample-size", "60", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    written = dict(zip(ids, orbit, strict=True))
    assert rows and all(r["in_orbit"] == written[r["id"]] for r in rows)
    truth = json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))
    assert truth["attributes"]["in_orbit"]["shares"] == {"no": 0.2, "yes": 0.8}
    est = outreach("estimate", tmp_path / "out", "--trait", "in_orbit=yes", "--bootstrap", "50")
    assert est.returncode == 0, est.stderr
    assert "in_orbit = yes: truth 0.800" in est.stdout, est.stdout


def test_a_generated_worlds_in_orbit_keeps_the_models_names():
    scenario = load_scenario(ROOT / "sim" / "scenarios" / "baseline.toml")
    world = build_world(scenario, 0)
    assert world.person_attributes(scenario)["in_orbit"][1] == ("outside orbit", "in orbit")

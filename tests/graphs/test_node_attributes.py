"""A user's node attributes (a ``nodes_file`` or GraphML) mapped exactly to the scenario's names.

Gender, age band and locality labels are matched to ``population.subgroups.*.names`` and the
localities' names, whatever order the labels appear in; a label the scenario does not name, or a
column named like a known attribute, is one line naming the file and what is allowed.
"""

from __future__ import annotations

import itertools
from collections import Counter

import networkx as nx
import numpy as np
import pytest

from sim.errors import UserInputError
from sim.model.scenario import load_scenario
from sim.model.world import build_world
from tests.cli_helpers import outreach

AGE_BANDS = ("under 30", "30-44", "45 and over")
# Unequal counts, so a permutation of the bands changes the count per band.
BAND_COUNTS = {"under 30": 23, "30-44": 41, "45 and over": 66}


def _toml_list(names) -> str:
    return "[" + ", ".join(f'"{x}"' for x in names) + "]"


def _scenario(
    tmp_path,
    name: str,
    *,
    graph: str = "ties.csv",
    nodes: str = "",
    gender=("man", "woman"),
    age_band=AGE_BANDS,
    localities=("city",),
):
    """A scenario file on a graph file, with the given names; returns its path."""
    shares = [round(1 / len(localities), 6)] * len(localities)
    shares[-1] = round(1 - sum(shares[:-1]), 6)
    locs = "".join(
        f'[[population.localities]]\nname = "{loc}"\nshare = {share}\n\n'
        for loc, share in zip(localities, shares, strict=True)
    )
    g_shares = [1 / len(gender)] * len(gender)
    a_shares = [1 / len(age_band)] * len(age_band)
    text = (
        "[run]\nweeks = 4\nreplicates = 2\n\n"
        f"[population.subgroups.gender]\nnames = {_toml_list(gender)}\nshares = {g_shares}\n\n"
        f"[population.subgroups.age_band]\nnames = {_toml_list(age_band)}\n"
        f"shares = {a_shares}\n\n"
        f"{locs}"
        f'[network]\ngenerator = "file"\nfile = "{graph}"\n'
        + (f'nodes_file = "{nodes}"\n' if nodes else "")
        + "\n[close_peers]\ncount = 2\n\n[distant_peers]\ncount = 2\n"
    )
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _ties(tmp_path, n: int, name: str = "ties.csv") -> list[str]:
    """A ring with chords over people ``p0 .. p{n-1}``; returns the ids."""
    ids = [f"p{i}" for i in range(n)]
    lines = ["source,target"]
    lines += [f"{ids[i]},{ids[(i + 1) % n]}" for i in range(n)]
    lines += [f"{ids[i]},{ids[(i + 7) % n]}" for i in range(0, n, 3)]
    (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def _nodes(tmp_path, name: str, header: str, rows) -> None:
    text = header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)
    (tmp_path / name).write_text(text, encoding="utf-8")


def _world(path):
    return build_world(load_scenario(path), 0)


def _by_id(world) -> dict[str, int]:
    return {node: i for i, node in enumerate(world.ids)}


def test_every_age_band_order_maps_exactly(tmp_path):
    labels = [band for band, count in BAND_COUNTS.items() for _ in range(count)]
    n = len(labels)
    ids = _ties(tmp_path, n)
    rng = np.random.default_rng(5)
    for k, names in enumerate(itertools.permutations(AGE_BANDS)):
        # The file's rows in a fresh order each time, so labels first appear in varied orders.
        file_labels = [labels[i] for i in rng.permutation(n)]
        _nodes(tmp_path, f"people{k}.csv", "id,age_band", zip(ids, file_labels, strict=True))
        world = _world(_scenario(tmp_path, f"s{k}.toml", nodes=f"people{k}.csv", age_band=names))
        counts = np.bincount(world.age_band, minlength=3)
        want = Counter(file_labels)
        assert {names[code]: int(c) for code, c in enumerate(counts)} == want, names
        pos = _by_id(world)
        got = [names[world.age_band[pos[node]]] for node in ids]
        assert got == file_labels, names


def test_m_and_f_keep_their_meaning(tmp_path):
    n = 90
    ids = _ties(tmp_path, n)
    genders = ["M" if i % 3 else "F" for i in range(n)]  # 60 M, 30 F
    _nodes(tmp_path, "people.csv", "id,gender", zip(ids, genders, strict=True))
    world = _world(_scenario(tmp_path, "mf.toml", nodes="people.csv", gender=("M", "F")))
    pos = _by_id(world)
    assert [("M", "F")[world.gender[pos[node]]] for node in ids] == genders
    assert np.bincount(world.gender).tolist() == [60, 30]


def test_localities_by_name_and_extra_columns_ignored(tmp_path):
    n = 60
    ids = _ties(tmp_path, n)
    towns = ["harbour", "mill", "station"]
    rows = [(node, towns[(i * 7) % 3], f"site{i % 4}", i % 2) for i, node in enumerate(ids)]
    # 'site' and 'hiv_status' are unrelated extra columns: read, and ignored by the model.
    _nodes(tmp_path, "people.csv", "id,locality,site,hiv_status", rows)
    world = _world(
        _scenario(
            tmp_path, "loc.toml", nodes="people.csv", localities=("station", "harbour", "mill")
        )
    )
    pos = _by_id(world)
    names = ("station", "harbour", "mill")
    assert [names[world.locality[pos[node]]] for node in ids] == [r[1] for r in rows]
    # The extras keep the file's words and numbers: 'site' a category of its own labels.
    scenario = load_scenario(tmp_path / "loc.toml")
    attrs = world.person_attributes(scenario)
    codes, labels = attrs["site"]
    assert labels == ("site0", "site1", "site2", "site3")
    assert [labels[codes[pos[node]]] for node in ids] == [r[2] for r in rows]
    values, none = attrs["hiv_status"]
    assert none is None and [int(values[pos[node]]) for node in ids] == [r[3] for r in rows]


def test_graphml_text_attributes_come_back_as_their_labels(tmp_path):
    n = 24
    sites = ["north side" if i % 3 else "Old Mill" for i in range(n)]
    ids = _graphml(tmp_path, "net.graphml", {"site": sites})
    scenario = _scenario(tmp_path, "g.toml", graph="net.graphml")
    world = _world(scenario)
    codes, labels = world.person_attributes(load_scenario(scenario))["site"]
    pos = _by_id(world)
    assert [labels[codes[pos[node]]] for node in ids] == sites


def test_a_mistrust_column_of_words_is_one_line(tmp_path):
    ids = _ties(tmp_path, 30)
    _nodes(
        tmp_path,
        "people.csv",
        "id,mistrust",
        [(node, "high" if i == 4 else 0.5) for i, node in enumerate(ids)],
    )
    with pytest.raises(
        UserInputError,
        match=r"people\.csv: column 'mistrust' must hold "
        r"numbers from 0 to 1 \(found 'high'\)",
    ):
        _world(_scenario(tmp_path, "m.toml", nodes="people.csv"))


def test_integer_codes_index_the_scenario_names(tmp_path):
    n = 40
    ids = _ties(tmp_path, n)
    _nodes(
        tmp_path,
        "codes.csv",
        "id,gender,age_band",
        [(node, i % 2, i % 3) for i, node in enumerate(ids)],
    )
    world = _world(_scenario(tmp_path, "codes.toml", nodes="codes.csv", gender=("woman", "man")))
    pos = _by_id(world)
    assert [int(world.gender[pos[node]]) for node in ids] == [i % 2 for i in range(n)]
    assert [int(world.age_band[pos[node]]) for node in ids] == [i % 3 for i in range(n)]
    # A code beyond the scenario's names is refused, not passed on as a group of its own.
    _nodes(tmp_path, "big.csv", "id,age_band", [(node, i % 4) for i, node in enumerate(ids)])
    with pytest.raises(UserInputError) as info:
        _world(_scenario(tmp_path, "big.toml", nodes="big.csv"))
    message = str(info.value)
    assert "big.csv: line 5: column 'age_band': code 3" in message
    assert "codes 0-2" in message and "'under 30', '30-44', '45 and over'" in message


def test_names_that_are_numbers_match_as_labels(tmp_path):
    n = 30
    ids = _ties(tmp_path, n)
    bands = ["3", "1", "2"]
    _nodes(
        tmp_path, "people.csv", "id,age_band", [(node, bands[i % 3]) for i, node in enumerate(ids)]
    )
    world = _world(_scenario(tmp_path, "num.toml", nodes="people.csv", age_band=("1", "2", "3")))
    pos = _by_id(world)
    assert [("1", "2", "3")[world.age_band[pos[node]]] for node in ids] == [
        bands[i % 3] for i in range(n)
    ]


@pytest.mark.parametrize(
    ("label", "needle"),
    [
        ("nonbinary", "label 'nonbinary' is not among the scenario's names 'man', 'woman'"),
        (
            "Woman",
            "label 'Woman' is not among the scenario's names 'man', 'woman' "
            "(population.subgroups.gender.names); did you mean 'woman'?",
        ),
        ("1", "label '1' is not among"),  # a code among labels: neither reading is safe
    ],
)
def test_a_label_the_scenario_does_not_name_is_one_line(tmp_path, label, needle):
    n = 20
    ids = _ties(tmp_path, n)
    genders = ["man" if i % 2 else "woman" for i in range(n)]
    genders[6] = label  # on line 8 of the file (header is line 1)
    _nodes(tmp_path, "people.csv", "id,gender", zip(ids, genders, strict=True))
    with pytest.raises(UserInputError) as info:
        _world(_scenario(tmp_path, "bad.toml", nodes="people.csv"))
    message = str(info.value)
    assert "people.csv: line 8: column 'gender': " in message
    assert needle in message
    assert "\n" not in message


def test_a_name_given_to_two_localities_is_refused_when_used(tmp_path):
    ids = _ties(tmp_path, 10)
    _nodes(tmp_path, "people.csv", "id,locality", [(node, "city") for node in ids])
    with pytest.raises(
        UserInputError,
        match=r"people\.csv: line 2: column 'locality': label "
        r"'city' names more than one entry \(0, 1\)",
    ):
        _world(_scenario(tmp_path, "dup.toml", nodes="people.csv", localities=("city", "city")))


@pytest.mark.parametrize(
    ("column", "like"),
    [
        ("gendr", "gender"),
        ("Gender", "gender"),
        ("sex", "gender"),
        ("age", "age_band"),
        ("ageband", "age_band"),
        ("Age Band", "age_band"),
        ("locality_name", "locality"),
        ("city", "locality"),
    ],
)
def test_a_column_named_like_a_known_attribute_is_refused(tmp_path, column, like):
    ids = _ties(tmp_path, 12)
    _nodes(tmp_path, "people.csv", f"id,{column}", [(node, "x") for node in ids])
    with pytest.raises(UserInputError) as info:
        _world(_scenario(tmp_path, "near.toml", nodes="people.csv"))
    message = str(info.value)
    assert f"people.csv: line 1: column {column!r} looks like {like!r}" in message
    assert "'gender', 'age_band', 'locality'" in message and "\n" not in message


def test_a_look_alike_beside_its_attribute_is_an_ignored_extra(tmp_path):
    n = 24
    ids = _ties(tmp_path, n)
    rows = [(node, "woman" if i % 4 == 0 else "man", f"note {i}") for i, node in enumerate(ids)]
    _nodes(tmp_path, "people.csv", "id,gender,gender_note", rows)
    world = _world(_scenario(tmp_path, "note.toml", nodes="people.csv", gender=("woman", "man")))
    pos = _by_id(world)
    assert [("woman", "man")[world.gender[pos[node]]] for node, *_ in rows] == [r[1] for r in rows]


def _graphml(tmp_path, name: str, attrs: dict[str, list]) -> list[str]:
    n = len(next(iter(attrs.values())))
    h = nx.Graph()
    ids = [f"n{i}" for i in range(n)]
    for i, node in enumerate(ids):
        h.add_node(node, **{key: values[i] for key, values in attrs.items()})
    h.add_edges_from((ids[i], ids[(i + 1) % n]) for i in range(n))
    nx.write_graphml(h, tmp_path / name)
    return ids


def test_graphml_attributes_map_by_name(tmp_path):
    n = 36
    genders = ["M" if i % 4 else "F" for i in range(n)]
    bands = [AGE_BANDS[(i * 5) % 3] for i in range(n)]
    ids = _graphml(tmp_path, "net.graphml", {"gender": genders, "age_band": bands})
    names = ("45 and over", "under 30", "30-44")
    world = _world(
        _scenario(tmp_path, "g.toml", graph="net.graphml", gender=("M", "F"), age_band=names)
    )
    pos = _by_id(world)
    assert [("M", "F")[world.gender[pos[node]]] for node in ids] == genders
    assert [names[world.age_band[pos[node]]] for node in ids] == bands


def test_graphml_unknown_label_and_look_alike_are_one_line(tmp_path):
    genders = ["man", "woman", "other", "man"]
    _graphml(tmp_path, "odd.graphml", {"gender": genders})
    with pytest.raises(UserInputError) as info:
        _world(_scenario(tmp_path, "odd.toml", graph="odd.graphml"))
    assert (
        "odd.graphml: node 'n2': attribute 'gender': label 'other' is not among the "
        "scenario's names 'man', 'woman'"
    ) in str(info.value)
    _graphml(tmp_path, "typo.graphml", {"Gender": genders})
    with pytest.raises(
        UserInputError,
        match=r"typo\.graphml: node attribute 'Gender' looks "
        r"like 'gender'",
    ):
        _world(_scenario(tmp_path, "typo.toml", graph="typo.graphml"))


def test_outreach_run_refuses_an_unknown_label_with_one_line(tmp_path):
    n = 40
    ids = _ties(tmp_path, n)
    genders = ["M" if i % 2 else "F" for i in range(n)]
    genders[10] = "nonbinary"
    _nodes(tmp_path, "people.csv", "id,gender", zip(ids, genders, strict=True))
    scenario = _scenario(tmp_path, "cli.toml", nodes="people.csv", gender=("M", "F"))
    proc = outreach("run", scenario, "--replicates", "2")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "people.csv: line 12: column 'gender': label 'nonbinary'" in lines[0]
    assert "'M', 'F'" in lines[0]

"""A survey folder as ``estimate`` reads and writes it: damaged samples refused in one line,
nothing overwritten silently, and seeds-only samples reported without invented numbers.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from tests.cli_helpers import one_line_error, outreach, write


def _scenario(folder):
    """A scenario on a 200-person graph file with a 0/1 column ``hiv`` in its nodes."""
    n = 200
    rows = [f"p{i},p{(i + 1) % n}" for i in range(n)]
    rows += [f"p{i},p{(i + 7) % n}" for i in range(0, n, 2)]
    write(folder / "ties.csv", "source,target\n" + "\n".join(rows) + "\n")
    write(
        folder / "nodes.csv",
        "id,hiv\n" + "".join(f"p{i},{1 if i % 5 == 0 else 0}\n" for i in range(n)),
    )
    return write(
        folder / "net.toml",
        """
name = "net"
[run]
weeks = 2
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


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rdsfiles")
    scenario = _scenario(folder)
    proc = outreach(
        "survey",
        scenario,
        "--out",
        folder / "out",
        "--sample-size",
        "60",
        "--n-seeds",
        "4",
        "--p-redeem",
        "0.8",
        "--replicates",
        "3",
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stderr
    return folder


def _copy(surveyed, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(surveyed / "out", copy)
    return copy


def test_survey_json_counts_each_replicates_respondents(surveyed):
    settings = json.loads((surveyed / "out" / "survey.json").read_text(encoding="utf-8"))
    with (surveyed / "out" / "sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert settings["respondents"] == [
        sum(r["replicate"] == str(k) for r in rows) for k in range(3)
    ]


def test_a_sample_cut_mid_line_is_one_line(surveyed, tmp_path):
    # It was an IndexError (exit 1).
    copy = _copy(surveyed, tmp_path)
    data = (copy / "sample.csv").read_bytes()
    (copy / "sample.csv").write_bytes(data[:-7])
    one_line_error(
        outreach("estimate", copy, "--trait", "hiv"),
        "sample.csv",
        "cut short",
        "run the same outreach survey command again",
    )
    # Cut inside a field of a middle line, the last line whole: too few fields.
    lines = data.decode().splitlines(keepends=True)
    lines[5] = lines[5][:6] + "\n"
    (copy / "sample.csv").write_text("".join(lines), encoding="utf-8")
    one_line_error(outreach("estimate", copy, "--trait", "hiv"), "sample.csv: line 6", "fields")


def test_a_sample_cut_at_a_line_boundary_is_refused(surveyed, tmp_path):
    # It was used silently (a replicate kept 99 of 500 respondents).
    copy = _copy(surveyed, tmp_path)
    lines = (copy / "sample.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    want = json.loads((copy / "survey.json").read_text(encoding="utf-8"))["respondents"]
    (copy / "sample.csv").write_text("".join(lines[:-5]), encoding="utf-8")
    one_line_error(
        outreach("estimate", copy, "--trait", "hiv"),
        f"replicate 2 has {want[2] - 5} respondents where survey.json says {want[2]}",
    )
    # The whole last replicate gone.
    (copy / "sample.csv").write_text("".join(lines[: 1 + want[0] + want[1]]), encoding="utf-8")
    one_line_error(
        outreach("estimate", copy, "--trait", "hiv"), "2 replicates", "survey.json says 3"
    )


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("wave", "x", "column 'wave' is 'x'"),
        ("degree_reported", "-3", "column 'degree_reported' is '-3'"),
        ("recruiter", "nobody", "column 'recruiter' names 'nobody'"),
    ],
)
def test_a_damaged_field_is_one_line(surveyed, tmp_path, column, value, fragment):
    copy = _copy(surveyed, tmp_path)
    with (copy / "sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[10][rows[0].index(column)] = value
    with (copy / "sample.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    one_line_error(outreach("estimate", copy, "--trait", "hiv"), fragment)


def test_one_replicates_estimates_keep_the_all_replicates_file(surveyed, tmp_path):
    # --replicate R wrote over estimates-TRAIT.csv, throwing away the run over every
    # replicate while the plot still showed it.
    copy = _copy(surveyed, tmp_path)
    every = outreach("estimate", copy, "--trait", "hiv", "--bootstrap", "50")
    assert every.returncode == 0, every.stderr
    table = (copy / "estimates-hiv.csv").read_bytes()
    one = outreach("estimate", copy, "--trait", "hiv", "--bootstrap", "50", "--replicate", "1")
    assert one.returncode == 0, one.stderr
    assert (copy / "estimates-hiv.csv").read_bytes() == table
    with (copy / "estimates-hiv-replicate1.csv").open(encoding="utf-8", newline="") as fh:
        assert {r["replicate"] for r in csv.DictReader(fh)} == {"1"}
    assert "estimates-hiv-replicate1.csv" in one.stdout


def test_an_unwritable_estimate_names_no_out_option(surveyed, tmp_path):
    copy = _copy(surveyed, tmp_path)
    (copy / "estimates-hiv-replicate0.csv").mkdir()
    line = one_line_error(
        outreach("estimate", copy, "--trait", "hiv", "--bootstrap", "50", "--replicate", "0"),
        "estimates-hiv-replicate0.csv",
    )
    assert "--out" not in line


def test_a_seeds_only_sample_reports_no_equilibrium_and_no_infinite_size(tmp_path):
    # Printed "recruitment equilibrium 0.500" and a multiplier "inf (inf - inf)".
    scenario = _scenario(tmp_path)
    proc = outreach(
        "survey",
        scenario,
        "--out",
        tmp_path / "out",
        "--sample-size",
        "20",
        "--n-seeds",
        "4",
        "--p-redeem",
        "0",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    sample = tmp_path / "out" / "sample.csv"
    with sample.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and all(r["recruiter"] == "" for r in rows)
    for r in rows:  # no seed among the service's records, whatever the run did
        r["linked"] = "0"
    with sample.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    # The service holds records (this short run linked no one), none of them a respondent.
    truth = json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))
    truth["service_records"] = 12
    (tmp_path / "out" / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    est = outreach(
        "estimate", tmp_path / "out", "--trait", "hiv", "--bootstrap", "50", "--diagnostics"
    )
    assert est.returncode == 0, est.stderr
    assert "recruitment equilibrium: none (the sample is its seeds only" in est.stdout
    assert "inf" not in est.stdout, est.stdout
    assert "undefined: no respondent is among the" in est.stdout


@pytest.mark.parametrize("column", ["wave", "linked"])
def test_a_nodes_column_named_like_the_surveys_own_is_one_line(tmp_path, column):
    # sample.csv has one column per name: a file's 'wave' was read back as the waves, a
    # file's 'linked' as the service's records.
    scenario = _scenario(tmp_path)
    write(tmp_path / "nodes.csv", f"id,{column}\n" + "".join(f"p{i},{i % 2}\n" for i in range(200)))
    proc = outreach(
        "survey", scenario, "--out", tmp_path / "out", "--sample-size", "20", cwd=tmp_path
    )
    one_line_error(proc, f"nodes.csv: node attribute {column!r} has the name of", "rename it")
    assert not (tmp_path / "out").exists()


def test_estimate_says_one_labels_chain_is_over_all_labels(surveyed):
    proc = outreach(
        "estimate",
        surveyed / "out",
        "--trait",
        "depth=deep",
        "--bootstrap",
        "50",
        "--replicate",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert "RDS-I's recruitment chain: every label of depth (edge, middle, deep)" in proc.stdout

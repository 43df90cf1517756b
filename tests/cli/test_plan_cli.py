"""End-to-end tests of ``outreach report``, ``validate``, ``scenarios`` and ``new``, and of bad
input to the planner commands: one line on stderr, exit status 2, nothing left behind."""

from __future__ import annotations

import html
import os
import re
import textwrap
from pathlib import Path

import pytest

from sim.cli.options import scenarios_folder, shipped_scenarios
from sim.cli.plan import file_problems
from tests.cli_helpers import OnDemand, outreach

SMALL = textwrap.dedent("""\
    name = "town"
    description = "a small town"

    [run]
    weeks = 8
    replicates = 3
    seed = 3

    [population]
    size = 300

    [close_peers]
    count = 3

    [distant_peers]
    count = 3
""")
ONLINE = SMALL.replace('name = "town"', 'name = "town_online"') + textwrap.dedent("""
    [outreach]
    online_contacts_per_peer_week = 3
""")
# Three problems in one file, all of which validate must print.
THREE_PROBLEMS = SMALL.replace("size = 300", "size = 5").replace(
    "count = 3\n\n[distant", "count = -1\nkind = 2\n\n[distant"
)

LIBRARY = (
    "big_city",
    "small_town_stigma",
    "small_town_online",
    "close_peers_only",
    "distant_peers_only",
    "mixed_team",
    "supervision_weekly",
    "supervision_monthly",
    "caseload_cap",
    "peers_from_clients",
    "budget_more_peers",
    "budget_more_support",
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plan")
    (folder / "town.toml").write_text(SMALL, encoding="utf-8")
    (folder / "online.toml").write_text(ONLINE, encoding="utf-8")
    (folder / "three.toml").write_text(THREE_PROBLEMS, encoding="utf-8")
    (folder / "unknown.toml").write_text(SMALL + "\n[wellbeing]\nstamina = 3\n", encoding="utf-8")
    (folder / "bad.toml").write_text("[run\nweeks = 3\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def reports(workdir):
    """An HTML report into a new folder and a Markdown one into an existing folder."""
    (workdir / "md").mkdir()
    calls = {
        "html": [
            "report",
            workdir / "town.toml",
            workdir / "online.toml",
            "--out",
            workdir / "html",
            "--question",
            "Does online work help the town?",
        ],
        "markdown": [
            "report",
            workdir / "town.toml",
            workdir / "online.toml",
            "--out",
            workdir / "md",
            "--format",
            "markdown",
            "--replicates",
            "4",
        ],
    }
    return {name: outreach(*call) for name, call in calls.items()}


# --------------------------------------------------------------------------- report


def test_html_report_is_self_contained(reports, workdir):
    proc = reports["html"]
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in (workdir / "html").iterdir())
    assert files == ["report.html", "results.csv"]
    text = (workdir / "html" / "report.html").read_text(encoding="utf-8")
    assert "Does online work help the town?" in text
    assert "outreach.online_contacts_per_peer_week" in text  # the setting that differs
    assert "Assumptions in plain words" in text and "95% interval" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 2 and all(len(i) > 10_000 for i in images)
    assert not re.search(r'(src|href)="https?:', text)  # opens without the internet
    assert html.unescape(text).count("town_online") >= 3


def test_markdown_report_has_its_images(reports, workdir):
    proc = reports["markdown"]
    assert proc.returncode == 0, proc.stderr
    folder = workdir / "md"
    assert sorted(p.name for p in folder.iterdir()) == [
        "metrics.png",
        "reach.png",
        "report.md",
        "results.csv",
    ]
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "![" in text and "(reach.png)" in text and "(metrics.png)" in text
    assert "4 times for 8 weeks" in text
    for png in ("metrics.png", "reach.png"):
        assert (folder / png).stat().st_size > 10_000


# --------------------------------------------------------------------------- validate


def test_every_shipped_scenario_validates():
    names = {p.stem for p, _, _ in shipped_scenarios()}
    assert set(LIBRARY) | {"baseline"} <= names
    for path, name, description in shipped_scenarios():
        assert file_problems(str(path)) == [], path
        assert description and len(description) < 110, path
        assert name == path.stem, path


@pytest.mark.parametrize("stem", sorted(p.stem for p in scenarios_folder().glob("*.toml")))
def test_every_shipped_scenario_validates_by_name_from_any_folder(tmp_path, stem):
    proc = outreach("validate", stem, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{stem}: ok\n", proc.stdout
    assert proc.stderr == "" and list(tmp_path.iterdir()) == []


def test_shipped_scenarios_comment_their_changes():
    for stem in LIBRARY:
        text = (scenarios_folder() / f"{stem}.toml").read_text(encoding="utf-8")
        assert text.startswith("# "), stem
        assert "# changed:" in text, stem


def test_validate_ok_and_every_problem(workdir):
    proc = outreach(
        "validate",
        workdir / "town.toml",
        workdir / "three.toml",
        workdir / "bad.toml",
        workdir / "missing.toml",
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{workdir / 'town.toml'}: ok" in proc.stdout
    err = proc.stderr
    assert "population.size = 5: must be an integer in [10," in err
    assert "close_peers.count = -1: must be an integer in [0," in err
    assert "close_peers.kind: unknown key; allowed here:" in err
    assert "bad.toml: not valid TOML" in err
    assert "missing.toml: no such scenario file" in err
    assert err.splitlines()[-1] == "outreach: 3 of 4 files have problems"


def test_validate_all_good_exits_0(workdir):
    proc = outreach("validate", workdir / "town.toml", workdir / "online.toml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok") == 2


# --------------------------------------------------------------------------- scenarios, new


def test_scenarios_lists_the_library_with_paths_to_copy(tmp_path):
    proc = outreach("scenarios", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for stem in LIBRARY:
        at = next(i for i, x in enumerate(lines) if x.split() and x.split()[0] == stem)
        assert len(lines[at].split(stem, 1)[1].strip()) > 10, lines[at]
        path = Path(lines[at + 1].strip())
        assert path.is_absolute() and path.name == f"{stem}.toml", lines[at + 1]
        assert path.read_bytes() == (scenarios_folder() / f"{stem}.toml").read_bytes()


def test_planner_commands_take_shipped_names(tmp_path):
    checked = outreach("validate", "baseline", "mixed_team", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == ["baseline: ok", "mixed_team: ok"]
    # A folder of the same name (an earlier report's --out) does not hide the shipped one.
    (tmp_path / "baseline").mkdir()
    proc = outreach(
        "compare",
        "baseline",
        "mixed_team",
        "--replicates",
        "2",
        "--weeks",
        "3",
        "--set",
        "population.size=400",
        "--json",
        tmp_path / "c.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    import json

    document = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert "baseline" in proc.stdout and "mixed_team" in proc.stdout
    assert "baseline" in json.dumps(document) and "mixed_team" in json.dumps(document)


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "mixed_tem"],
        ["compare", "baseline", "mixed_tem"],
        ["report", "mixed_tem", "--out", "r"],
    ],
    ids=["validate", "compare", "report"],
)
def test_unknown_scenario_name_lists_the_library(tmp_path, args):
    proc = outreach(*args, cwd=tmp_path)
    assert proc.returncode == 2, (args, proc.stderr)
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    line = lines[0] if args[0] != "validate" else "\n".join(lines)
    assert "mixed_tem: no such scenario file, and no shipped scenario" in line, args
    assert "did you mean mixed_team?" in line
    assert all(stem in line for stem in LIBRARY), line
    assert args[0] == "validate" or len(lines) == 1, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_writes_a_valid_commented_copy(tmp_path):
    proc = outreach("new", "my_town", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "my_town.toml").read_text(encoding="utf-8")
    assert 'name = "my_town"' in text and "# " in text
    assert file_problems(str(tmp_path / "my_town.toml")) == []
    again = outreach("new", "my_town", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    assert (tmp_path / "my_town.toml").read_text(encoding="utf-8") == text
    forced = outreach(
        "new", "sub/other.toml", "--from", "small_town_online", "--force", cwd=tmp_path
    )
    assert forced.returncode == 2 and "does not exist" in forced.stderr
    (tmp_path / "sub").mkdir()
    forced = outreach("new", "sub/other.toml", "--from", "small_town_online", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    text = (tmp_path / "sub" / "other.toml").read_text(encoding="utf-8")
    assert 'name = "other"' in text and "online_contacts_per_peer_week = 3" in text


def test_new_from_a_shipped_scenario_writes_here(tmp_path):
    proc = outreach("new", "prog", "--from", "big_city", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "prog.toml").read_text(encoding="utf-8")
    shipped = (scenarios_folder() / "big_city.toml").read_text(encoding="utf-8")
    # The header says how to compare it with its source, by the name that works anywhere.
    assert "# outreach compare big_city prog.toml\n" in text
    assert 'name = "prog"' in text and 'name = "big_city"' not in text
    body = text.split("#\n", 1)[1]
    assert body == shipped.replace('name = "big_city"', 'name = "prog"')
    assert file_problems(str(tmp_path / "prog.toml")) == []
    # A file of one's own is a template too, by path.
    again = outreach("new", "prog2", "--from", "prog.toml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "# outreach compare prog.toml prog2.toml\n" in (tmp_path / "prog2.toml").read_text(
        encoding="utf-8"
    )


# --------------------------------------------------------------------------- bad input

BAD = {
    # name: (arguments with {w} for the work folder and {t} for a fresh folder, error text)
    "missing_file": (
        ["compare", "{w}/town.toml", "{w}/nope.toml", "--json", "{t}/o.json"],
        "nope.toml: no such scenario file",
    ),
    "bad_toml": (
        ["compare", "{w}/town.toml", "{w}/bad.toml", "--csv", "{t}/o.csv"],
        "not valid TOML",
    ),
    "three_problems": (
        ["compare", "{w}/town.toml", "{w}/three.toml", "--plot", "{t}/o.png"],
        "(and 2 more problems); `outreach validate",
    ),
    "unknown_key": (
        ["compare", "{w}/town.toml", "{w}/unknown.toml", "--json", "{t}/o.json"],
        "unknown.toml: wellbeing.stamina: unknown key; allowed here:",
    ),
    "json_unwritable": (
        ["compare", "{w}/town.toml", "{w}/town.toml", "--json", "/proc/o.json"],
        "cannot write there",
    ),
    "out_of_range": (
        [
            "compare",
            "{w}/town.toml",
            "{w}/town.toml",
            "--set",
            "outreach.hop_trust=3",
            "--json",
            "{t}/o.json",
        ],
        "--set outreach.hop_trust=3: must be a number in [0, 1]",
    ),
    "bad_set": (
        ["compare", "{w}/town.toml", "{w}/town.toml", "--set", "noequals"],
        "dotted.key=value",
    ),
    "one_scenario": (["compare", "{w}/town.toml"], "at least 2 scenario files"),
    "json_missing_folder": (
        [
            "compare",
            "{w}/town.toml",
            "{w}/town.toml",
            "--json",
            "{t}/no/o.json",
            "--plot",
            "{t}/o.png",
        ],
        "does not exist",
    ),
    "plot_bad_suffix": (
        [
            "compare",
            "{w}/town.toml",
            "{w}/town.toml",
            "--plot",
            "{t}/o.gif",
            "--json",
            "{t}/o.json",
        ],
        "must end in .png",
    ),
    "same_output_twice": (
        ["compare", "{w}/town.toml", "{w}/town.toml", "--json", "{t}/o.x", "--csv", "{t}/o.x"],
        "different files",
    ),
    "replicates_zero": (
        ["compare", "{w}/town.toml", "{w}/town.toml", "--replicates", "0"],
        "--replicates",
    ),
    "report_out_is_file": (["report", "{w}/town.toml", "--out", "{w}/town.toml"], "is a file"),
    "report_parent_missing": (["report", "{w}/town.toml", "--out", "{t}/a/b"], "does not exist"),
    "report_bad_format": (
        ["report", "{w}/town.toml", "--out", "{t}/r", "--format", "pdf"],
        "--format",
    ),
    "report_bad_scenario": (["report", "{w}/three.toml", "--out", "{t}/r"], "population.size = 5"),
    "new_bad_template": (["new", "{t}/x", "--from", "no_such_thing"], "no shipped scenario"),
}


@pytest.fixture(scope="module")
def bad_runs(workdir, tmp_path_factory):
    def one(name: str):
        folder = tmp_path_factory.mktemp(name)
        args = [a.replace("{w}", str(workdir)).replace("{t}", str(folder)) for a in BAD[name][0]]
        proc = outreach(*args)
        return proc, sorted(p.name for p in folder.iterdir())

    return OnDemand(one)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_status_2_and_leaves_nothing(bad_runs, name):
    proc, left = bad_runs[name]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("outreach"), lines[0]
    assert BAD[name][1] in lines[0], lines[0]
    assert left == [], f"a failed command left {left} behind"


def test_unwritable_report_folder_leaves_nothing(workdir, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = outreach("report", workdir / "town.toml", "--out", locked / "r")
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 2 and "cannot write there" in proc.stderr
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("command", ["compare", "report", "validate", "scenarios", "new"])
def test_help_of_every_planner_command(command):
    top = outreach("--help")
    assert top.returncode == 0
    assert command in top.stdout
    proc = outreach(command, "--help")
    assert proc.returncode == 0, (command, proc.stderr)
    assert len(proc.stdout) > 250, command

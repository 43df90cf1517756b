"""Inputs a user can get wrong that `validate` once passed: each is one line and exit status 2.

Every case goes through the real command line (a fresh interpreter, as a user runs it) and
checks the whole of stderr: one line, no traceback. `validate` and `run` must agree: what one
refuses the other refuses with the same line. A property test draws small scenarios within
the keys' declared ranges and asks the same of each: a result, or one line and exit 2.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.cli_helpers import one_line_error, outreach, write

pytestmark = pytest.mark.timeout(600)


#: Numbers for fresh file names: the graph cache knows a file by path, time and size.
_drawn = itertools.count()


def file_scenario(
    folder: Path,
    edges: str,
    *,
    close: int = 1,
    distant: int = 1,
    nodes: str | None = None,
    name: str = "net",
) -> Path:
    """A scenario on a graph file written beside it (and a nodes file, if given)."""
    write(folder / f"{name}.csv", edges)
    nodes_line = ""
    if nodes is not None:
        write(folder / f"{name}_nodes.csv", nodes)
        nodes_line = f'nodes_file = "{name}_nodes.csv"\n'
    return write(
        folder / f"{name}.toml",
        f"""
name = "{name}"
[run]
replicates = 2
weeks = 3
[network]
generator = "file"
file = "{name}.csv"
{nodes_line}
[close_peers]
count = {close}
[distant_peers]
count = {distant}
""",
    )


def ring_edges(n: int) -> str:
    """A ring of ``n`` people with chords, as an edge list: connected, no repeats."""
    rows = [f"p{i},p{(i + 1) % n}" for i in range(n)] + [
        f"p{i},p{(i + 7) % n}" for i in range(0, n, 3)
    ]
    return "source,target\n" + "\n".join(rows) + "\n"


# ----------------------------------------------------------------- the world cannot be built


def test_more_ties_than_people_is_one_line_in_validate_and_run(tmp_path):
    scenario = write(
        tmp_path / "tiny.toml",
        """
name = "tiny"
[run]
replicates = 2
weeks = 3
[population]
size = 10
[close_peers]
count = 2
[distant_peers]
count = 2
""",
    )
    ran = one_line_error(
        outreach("run", scenario), "network.mean_degree = 13.8", "population.size - 1 = 9"
    )
    checked = outreach("validate", scenario)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert checked.stderr.splitlines()[0] == ran.removeprefix("outreach: error: ")
    # The ring of the small-world generator rounds the degree to an even number of ties.
    ring = one_line_error(
        outreach(
            "run",
            scenario,
            "--set",
            "network.generator=small_world",
            "--set",
            "population.size=12",
            "--set",
            "network.mean_degree=11",
        ),
        "network.mean_degree = 11",
        "small-world ring",
        "12 ties",
        "population.size - 2 = 10",
    )
    assert "lower network.mean_degree to 10 or less" in ring
    # Within the bound it runs.
    fine = outreach("run", scenario, "--set", "network.mean_degree=9", "--workers", "1")
    assert fine.returncode == 0, fine.stderr
    assert ", 10 people" in fine.stdout.splitlines()[0]


def test_generator_settings_each_within_range_but_not_together(tmp_path):
    args = ("run", "baseline", "--replicates", "1", "--weeks", "2", "--workers", "1")
    line = one_line_error(
        outreach(
            *args, "--set", "network.p_cross_community=0.8", "--set", "network.p_cross_locality=0.5"
        ),
        "network.p_cross_community + network.p_cross_locality",
        "= 1.3",
        "at most 1",
    )
    checked = outreach("validate", "baseline", cwd=tmp_path)
    assert checked.returncode == 0  # the shipped file itself is fine
    # A category no one falls in is allowed by the scenario, so the generator takes it.
    only_men = write(
        tmp_path / "men.toml",
        """
name = "men"
[population]
size = 300
[population.subgroups.gender]
names = ["man", "woman"]
shares = [1.0, 0.0]
""",
    )
    ran = outreach(*args[:1], only_men, *args[2:])
    assert ran.returncode == 0, (line, ran.stderr)


def test_more_peers_than_a_graph_file_holds_names_file_counts_and_size(tmp_path):
    scenario = file_scenario(tmp_path, "source,target\na,b\n", close=5, distant=5)
    line = one_line_error(
        outreach("run", scenario), "net.csv", "= 5 + 5 = 10", "has 2 people", "at most 1"
    )
    checked = outreach("validate", scenario)
    assert checked.returncode == 2
    assert checked.stderr.splitlines()[0] == line.removeprefix("outreach: error: ")


@pytest.mark.parametrize(
    ("edges", "nodes", "expected"),
    [
        ("source,target\na,b\nb,b\n", None, "self-loop on 'b'"),
        ("source,target\n", None, "no ties below the header"),
        ("source,target\na,\n", None, "column 'target' is empty"),
        ("source,target\na,b\nb,c\n", "id,gender\na,man\nb,man\n", "no row for node 'c'"),
        ("source,target\na,b\nb,c\n", "id,gender\na,man\nb,man\nc,\n", "column 'gender' is empty"),
        ("source,target\na,b\nb,c\n", "id,gender\na,man\nb,man\nc,x\n", "label 'x'"),
    ],
    ids=[
        "self-loop",
        "header-only",
        "empty-value",
        "nodes-missing-row",
        "nodes-empty-value",
        "nodes-unknown-label",
    ],
)
def test_validate_reads_the_graph_files_and_agrees_with_run(tmp_path, edges, nodes, expected):
    scenario = file_scenario(tmp_path, edges, nodes=nodes)
    checked = outreach("validate", scenario)
    assert checked.returncode == 2, checked.stdout
    assert "Traceback" not in checked.stderr and "ok" not in checked.stdout
    problem = checked.stderr.splitlines()[0]
    assert expected in problem
    ran = one_line_error(outreach("run", scenario), expected)
    assert ran == f"outreach: error: {problem}"


def test_runs_on_a_graph_file_print_the_graphs_size(tmp_path):
    # population.size keeps its default (5,000); the graph has 60 people.
    scenario = file_scenario(tmp_path, ring_edges(60), close=3, distant=3)
    checked = outreach("validate", scenario)
    assert checked.returncode == 0 and checked.stdout.strip().endswith("ok"), checked.stderr
    ran = outreach("run", scenario, "--workers", "1")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0].endswith(", 60 people"), ran.stdout
    compared = outreach("compare", scenario, scenario, "--workers", "1")
    assert compared.returncode == 0, compared.stderr
    assert f"{scenario}, 60 people" in compared.stdout
    assert "5,000 people" not in compared.stdout


# ----------------------------------------------------------------- a damaged sweep chunk


SPEC = """
name = "tiny"
base = "{base}"
design = "grid"
replicates = 2
seed = 3
metrics = ["clients_contacted", "clients_linked"]

[set]
"population.size" = 200
"run.weeks" = 3
"close_peers.count" = 3
"distant_peers.count" = 3

[parameters]
"services.p_attend" = {{ levels = [0.2, 0.6] }}
"""


def test_a_truncated_parquet_chunk_is_named_with_what_to_do_and_its_runs_redone(tmp_path):
    import pyarrow.parquet as pq

    base = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
    spec = write(tmp_path / "spec.toml", SPEC.format(base=base))
    out = tmp_path / "sweep"
    made = outreach("sweep", spec, "--out", out, "--workers", "1", "--chunk-rows", "2")
    assert made.returncode == 0, made.stderr
    chunks = sorted((out / "runs").glob("part-*.parquet"))
    # Two chunks of two runs, or more where a slow machine's ten seconds flushed a run alone.
    assert len(chunks) >= 2
    damaged = chunks[-1]
    lost = pq.read_metadata(damaged).num_rows
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])  # a copy cut short
    for args in (
        ("sweep", "status", out),
        ("sweep", "analyze", out),
        ("sweep", spec, "--out", out, "--workers", "1"),
    ):
        line = one_line_error(
            outreach(*args),
            str(damaged),
            "damaged chunk",
            f"mv {damaged} {damaged}.damaged",
            "to redo its runs",
        )
        assert f"outreach sweep {spec}" in line or "outreach sweep spec.toml" in line
    # Doing what the line says redoes exactly the runs of the damaged chunk.
    shutil.move(damaged, f"{damaged}.damaged")
    resumed = outreach("sweep", spec, "--out", out, "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{4 - lost} of 4 runs already stored" in resumed.stdout
    status = outreach("sweep", "status", out)
    assert status.returncode == 0 and "4 of 4 done" in status.stdout, status.stdout


def test_a_chunk_of_another_shape_is_refused_not_counted(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
    spec = write(tmp_path / "spec.toml", SPEC.format(base=base))
    out = tmp_path / "sweep"
    assert outreach("sweep", spec, "--out", out, "--workers", "1").returncode == 0
    # Read as this sweep's schema, the missing columns would come back as nulls: a run
    # counted that holds nothing.
    stray = out / "runs" / "part-00007.parquet"
    pq.write_table(pa.table({"point": [0], "other": ["x"]}), stray)
    one_line_error(outreach("sweep", "status", out), str(stray), "no column 'replicate'")


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    """A finished 4-run sweep in one chunk, to damage copies of."""
    from sim.cli import main

    folder = tmp_path_factory.mktemp("sweep")
    base = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
    spec = write(folder / "spec.toml", SPEC.format(base=base))
    assert main(["sweep", str(spec), "--out", str(folder / "out"), "--workers", "1"]) == 0
    return folder / "out"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keep=st.floats(0.0, 1.0, exclude_max=True))
def test_a_chunk_cut_anywhere_is_one_line_in_status(tmp_path, capsys, finished_sweep, keep):
    from sim.cli import main

    folder = tmp_path / f"cut{next(_drawn)}"
    shutil.copytree(finished_sweep, folder)
    (chunk,) = (folder / "runs").glob("part-*.parquet")
    whole = chunk.read_bytes()
    chunk.write_bytes(whole[: int(keep * len(whole))])
    capsys.readouterr()
    assert main(["sweep", "status", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(chunk) in err and "to redo its runs" in err, err


# ----------------------------------------------------------------- animate


def test_animate_dpi_beyond_what_the_output_holds_is_refused_at_once(tmp_path):
    out = tmp_path / "a.gif"
    start = time.monotonic()
    line = one_line_error(
        outreach("animate", "baseline", "--out", out, "--dpi", "2000"),
        "--dpi",
        "'2000'",
        "at most 300",
        "36000 x 17500",
    )
    assert time.monotonic() - start < 30 and not out.exists(), line
    one_line_error(outreach("animate", "baseline", "--out", out, "--dpi", "0"), "--dpi")


# ----------------------------------------------------------------- property: never a traceback


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(10, 40),
    close=st.integers(0, 12),
    distant=st.integers(0, 12),
    mean_degree=st.floats(1.0, 50.0).map(lambda x: round(x, 1)),
    generator=st.sampled_from(["community", "configuration", "small_world"]),
    community_size=st.integers(2, 100),
    degree_sigma=st.sampled_from([0.0, 0.8, 3.0]),
    p_cross=st.tuples(*[st.sampled_from([0.0, 0.02, 0.5, 1.0])] * 2),
    men=st.sampled_from([0.0, 0.7, 1.0]),
    recruitment=st.sampled_from(
        ["random", "degree", "nomination", "from_engaged", "cover_subgroups"]
    ),
)
def test_small_scenarios_within_declared_ranges_give_a_result_or_one_line(
    tmp_path,
    capsys,
    size,
    close,
    distant,
    mean_degree,
    generator,
    community_size,
    degree_sigma,
    p_cross,
    men,
    recruitment,
):
    from sim.cli import main

    scenario = write(
        tmp_path / "drawn.toml",
        f"""
name = "drawn"
[run]
replicates = 1
weeks = 2
[population]
size = {size}
[network]
generator = "{generator}"
mean_degree = {mean_degree}
community_size = {community_size}
degree_sigma = {degree_sigma}
p_cross_community = {p_cross[0]}
p_cross_locality = {p_cross[1]}
[population.subgroups.gender]
names = ["man", "woman"]
shares = [{men}, {1.0 - men}]
[close_peers]
count = {close}
recruitment = "{recruitment}"
[distant_peers]
count = {distant}
recruitment = "{recruitment}"
""",
    )
    capsys.readouterr()
    valid = main(["validate", str(scenario)])
    checked = capsys.readouterr()
    code = main(["run", str(scenario), "--workers", "1"])
    ran = capsys.readouterr()
    assert code in (0, 2), ran.err
    assert "Traceback" not in ran.err
    # validate and run agree, on the verdict and on the first problem's words.
    assert (valid == 0) == (code == 0), (checked.err, ran.err)
    event("refused" if code else "ran")
    if code == 2:
        assert len(ran.err.splitlines()) == 1, ran.err
        assert ran.err.splitlines()[0] == f"outreach: error: {checked.err.splitlines()[0]}"
    else:
        assert f", {size} people" in ran.out.splitlines()[0]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_people=st.integers(2, 30),
    extra_ties=st.integers(0, 40),
    close=st.integers(0, 8),
    distant=st.integers(0, 8),
    data=st.data(),
)
def test_graph_files_of_awkward_shapes_give_a_result_or_one_line(
    tmp_path, capsys, n_people, extra_ties, close, distant, data
):
    from sim.cli import main

    # A path through everyone (so every person is in the file), then random extra ties:
    # repeats, reversed repeats and self-loops included.
    ids = [f"v{i}" for i in range(n_people)]
    ties = [(ids[i], ids[i + 1]) for i in range(n_people - 1)]
    pick = st.sampled_from(ids)
    ties += [(data.draw(pick), data.draw(pick)) for _ in range(extra_ties)]
    edges = "source,target\n" + "".join(f"{a},{b}\n" for a, b in ties)
    # A new name each time: the graph cache knows a file by path, time and size.
    scenario = file_scenario(
        tmp_path, edges, close=close, distant=distant, name=f"net{next(_drawn)}"
    )
    capsys.readouterr()
    valid = main(["validate", str(scenario)])
    checked = capsys.readouterr()
    code = main(["run", str(scenario), "--workers", "1", "--weeks", "2"])
    ran = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in ran.err, ran.err
    assert (valid == 0) == (code == 0), (checked.err, ran.err)
    event("refused" if code else "ran")
    if code == 2:
        assert len(ran.err.splitlines()) == 1, ran.err
    else:
        assert f", {n_people} people" in ran.out.splitlines()[0]

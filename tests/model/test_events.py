"""The event history of a run (``OutreachModel(..., events=True)``, ``outreach run --events``).

The history is checked against the model's own tallies by replaying it: starting from everyone
hidden, each person where :func:`~sim.model.outreach.initial_presence` puts them, and the peers
not yet recruited, applying each row in order must be a valid step of the client's path (or of
the peer's status, or of where the person is), must give, week by week, exactly the weekly
series the model records (unique contacted, engaged, linked, retained; engaged and linked now;
peers working, resting, withdrawn; the population), and must end in the model's final state,
person by person. Every
coupon redeemed must come from a client who holds a coupon and is engaged, and the referred
friend's wave must be the recruiter's plus one. These are exact relations (counts of a
deterministic replay), so there is no tolerance: any difference is a missing, extra or
misplaced event. Recording must change no random draw: the same seed gives identical metrics
and series with and without events.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model import state as S
from sim.model.events import EVENT_NAMES, TEAM_PEER, EventRecorder, read_events
from sim.model.outreach import OutreachModel, initial_presence
from sim.model.scenario import load_scenario
from tests.cli_helpers import one_line_error, outreach

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "sim" / "scenarios" / "baseline.toml"
WEEKS = 30
CLI_SETS = ("--set", "population.size=800", "--weeks", "8")


def _scenario(**extra):
    # Every event type happens within WEEKS: many referrers, outreach workers, scarce
    # appointments and house calls, quick retention, drop-outs, exhaustion and withdrawal.
    return load_scenario(
        BASELINE,
        {
            "population.size": 1500,
            "run.seed": 4242,
            "run.weeks": WEEKS,
            "close_peers.count": 8,
            "distant_peers.count": 8,
            "outreach.p_referrer": 0.7,
            "outreach.online_contacts_per_peer_week": 2.0,
            "outreach_workers.count": 1,
            "outreach_workers.hours_per_week": 10.0,
            "services.weeks_to_retained": 4,
            "services.p_dropout_linked_per_week": 0.1,
            "wellbeing.demand_per_client_week": 0.05,
            "wellbeing.exhaustion_threshold": 0.45,
            "wellbeing.p_withdraw_per_rest_week": 0.1,
            "wellbeing.rest_recovery_per_week": 0.3,
            "policy.replacement_delay_weeks": 1,
            # every career event, often enough to happen in one run: some 6-9 expected of
            # each kind of leaving among 16 peers in 30 weeks
            "careers.relapse_per_year": 0.9,
            "careers.p_leave_after_relapse": 0.5,
            "careers.leave_moving_per_year": 0.5,
            "careers.leave_other_work_per_year": 0.5,
            "careers.leave_health_per_year": 0.5,
            **extra,
        },
    )


@pytest.fixture(scope="module")
def run():
    model = OutreachModel(_scenario(), 3, events=True)
    model.run()
    return model, model.events()


def test_every_event_type_happens(run):
    _, ev = run
    counts = ev["event"].value_counts()
    assert all(counts[name] > 0 for name in EVENT_NAMES), counts
    assert list(ev.columns) == ["replicate", "week", "event", "person", "peer", "recruiter", "wave"]
    assert (ev["replicate"] == 3).all()
    assert ev["week"].is_monotonic_increasing and ev["week"].max() == WEEKS - 1
    assert (ev["peer"] == TEAM_PEER).any()  # the outreach workers' clients


def test_recording_changes_no_draw(run):
    model, _ = run
    plain = OutreachModel(_scenario(), 3)
    plain.run()
    assert plain.metrics() == model.metrics()
    assert plain.weekly == model.weekly
    assert np.array_equal(plain.cstate, model.cstate)


def test_counts_match_the_models_totals(run):
    model, ev = run
    kind = ev["event"]
    referred = ev[kind == "referred"]
    assert len(referred) == model.totals["referrals"]
    contacts = ev[kind == "contact"]
    # Every coupon redeemed is followed by the friend's contact, which names the recruiter.
    assert contacts["recruiter"].notna().sum() == len(referred)
    after = ev.iloc[referred.index + 1]
    assert (after["event"] == "contact").all()
    for col in ("person", "peer", "recruiter", "wave", "week"):
        assert np.array_equal(after[col].to_numpy(), referred[col].to_numpy()), col
    recruited = ev[kind == "peer_recruited"]
    assert len(recruited) == model.metrics()["peers_recruited"] == model.n_peers
    assert recruited["person"].is_unique
    assert np.array_equal(np.sort(recruited["person"]), np.sort(model.p_node[: model.n_peers]))
    exhausted = ev[kind == "peer_exhausted"]
    assert exhausted["person"].nunique() == model.totals["exhausted_ever"]
    # Each peer who left has one row saying why: withdrawn (after exhaustion) or a reason.
    left = ev[(kind == "peer_withdrawn") | kind.str.startswith("peer_left_")]
    rows = np.arange(model.n_peers)
    gone = rows[model.p_status[: model.n_peers] == S.WITHDRAWN]
    assert len(left) == gone.size and left["person"].is_unique
    assert set(left["person"]) == set(model.p_node[gone].tolist())
    names = {code: f"peer_left_{name}" for code, name in S.LEAVING_REASONS.items()}
    names[S.LEFT_EXHAUSTION] = "peer_withdrawn"
    why = dict(zip(left["person"], left["event"], strict=True))
    for i in gone:
        assert why[int(model.p_node[i])] == names[int(model.p_left_reason[i])]
    assert (model.p_left_reason[rows[model.p_status[: model.n_peers] != S.WITHDRAWN]] == 0).all()
    # First events of each kind per person, by week: the weekly series of unique persons.
    for event, series in (
        ("contact", "contacted"),
        ("engaged", "engaged"),
        ("linked", "linked"),
        ("retained", "retained"),
    ):
        first = ev[kind == event].drop_duplicates("person")
        per_week = np.bincount(first["week"], minlength=WEEKS)
        assert np.array_equal(per_week, np.diff(model.weekly[series])), event


# The client states a row may find a person in, and the state it leaves them in.
_STEPS = {
    "contact": ({S.HIDDEN}, S.CONTACTED),
    "referred": ({S.HIDDEN}, S.HIDDEN),  # the contact row follows
    "engaged": ({S.CONTACTED}, S.ENGAGED),
    "coupons_given": ({S.ENGAGED}, S.ENGAGED),
    "linked": ({S.ENGAGED}, S.LINKED),
    "retained": ({S.LINKED}, S.RETAINED),
    "dropout_engaged": ({S.ENGAGED}, S.HIDDEN),
    "dropout_linked": ({S.LINKED, S.RETAINED}, S.HIDDEN),
    "lost_contact": ({S.CONTACTED}, S.HIDDEN),
    "handed_off": ({S.ENGAGED}, S.ENGAGED),  # the row names the new peer
    "lost_with_peer": ({S.ENGAGED}, S.HIDDEN),
}
_ENROLLED = {S.ACTIVE, S.RESTING, S.BREAK}
# Where a row may find a person, and where it leaves them (the population's flows).
_PLACES = {
    "entered": ({S.DORMANT}, S.PRESENT),
    "released": ({S.AWAY}, S.PRESENT),
    "stopped": ({S.PRESENT}, S.DORMANT),
    "died": ({S.PRESENT}, S.DEAD),
    "imprisoned": ({S.PRESENT}, S.AWAY),
    "moved_away": ({S.PRESENT}, S.DORMANT),
}
_PEER_STEPS = {
    "peer_recruited": ({None}, S.ACTIVE),
    "peer_exhausted": ({S.ACTIVE}, S.RESTING),
    "peer_returned": ({S.RESTING}, S.ACTIVE),
    "peer_withdrawn": ({S.ACTIVE, S.RESTING}, S.WITHDRAWN),
    "peer_break": ({S.ACTIVE}, S.BREAK),
    "peer_back": ({S.BREAK}, S.ACTIVE),
    "peer_left_relapse": ({S.ACTIVE}, S.WITHDRAWN),
    "peer_left_other_work": (_ENROLLED, S.WITHDRAWN),
    "peer_left_health_or_prison": (_ENROLLED, S.WITHDRAWN),
    "peer_left_moving": (_ENROLLED, S.WITHDRAWN),
}


def test_replay_gives_the_models_path_week_by_week(run):
    model, ev = run
    coupons_each = model.scenario.outreach.referral_coupons
    n = model.world.n
    state = np.full(n, S.HIDDEN)
    peer = np.full(n, -99)  # the client's peer as the history names it
    wave = np.zeros(n, int)
    coupons = np.zeros(n, int)
    is_peer = np.zeros(n, bool)
    status: dict[int, int] = {}
    here = initial_presence(model.scenario, model.replicate, n)[0].copy()
    rows = ev.astype(object).where(ev.notna(), None).itertuples(index=False)
    by_week = {w: [] for w in range(WEEKS)}
    for row in rows:
        by_week[row.week].append(row)
    for w in range(WEEKS):
        for row in by_week[w]:
            v = row.person
            if row.event in _PLACES:
                allowed, after = _PLACES[row.event]
                assert here[v] in allowed, (w, row, here[v])
                assert row.peer is None and row.recruiter is None and row.wave is None
                here[v] = after
                if after != S.PRESENT and not is_peer[v]:  # a client leaves: out of contact
                    state[v] = S.HIDDEN
                    coupons[v] = 0
                continue
            assert here[v] == S.PRESENT or is_peer[v], (w, row)
            if row.event in _PEER_STEPS:
                allowed, after = _PEER_STEPS[row.event]
                assert status.get(v) in allowed, (w, row)
                assert row.peer == v and row.recruiter is None and row.wave is None
                status[v] = after
                is_peer[v] = True
                coupons[v] = 0
                continue
            assert not is_peer[v], (w, row)
            allowed, after = _STEPS[row.event]
            assert state[v] in allowed, (w, row, state[v])
            if row.event == "referred":
                r = row.recruiter
                # The recruiter holds a coupon, is engaged (or linked), and sends the friend
                # to their own peer, one wave further.
                assert coupons[r] > 0 and state[r] >= S.ENGAGED and not is_peer[r], (w, row)
                assert row.peer == peer[r] and row.wave == wave[r] + 1, (w, row)
                coupons[r] -= 1
            elif row.event == "contact":
                peer[v] = row.peer
                wave[v] = row.wave
                assert (row.recruiter is None) == (row.wave == 0), (w, row)
            elif row.event == "handed_off":
                # A new peer, who is a working peer; the old one is the peer of the row before.
                assert row.peer != peer[v] and status.get(row.peer) == S.ACTIVE, (w, row)
                assert row.wave == wave[v], (w, row)
                peer[v] = row.peer
            else:
                assert row.peer == peer[v] and row.wave == wave[v], (w, row)
                if row.event == "coupons_given":
                    coupons[v] = coupons_each
                elif after == S.HIDDEN:
                    coupons[v] = 0
            state[v] = after
        clients = ~is_peer
        assert np.sum(state[clients] == S.ENGAGED) == model.weekly["engaged_now"][w + 1], w
        assert (
            np.sum((state[clients] == S.LINKED) | (state[clients] == S.RETAINED))
            == model.weekly["linked_now"][w + 1]
        ), w
        statuses = np.array(list(status.values()))
        for code, series in (
            (S.ACTIVE, "peers_active"),
            (S.RESTING, "peers_resting"),
            (S.BREAK, "peers_on_break"),
            (S.WITHDRAWN, "peers_withdrawn"),
        ):
            assert np.sum(statuses == code) == model.weekly[series][w + 1], (w, series)
        assert np.sum(here == S.PRESENT) == model.weekly["population"][w + 1], w
    assert np.array_equal(here, model.here)
    clients = model.role == S.CLIENT
    assert np.array_equal(state[clients], model.cstate[clients])
    assert np.array_equal(is_peer, (model.role == S.CLOSE) | (model.role == S.DISTANT))
    assert np.array_equal(model.role == S.ABSENT, ~is_peer & (here != S.PRESENT))
    reached = clients & (model.cstate != S.HIDDEN)
    rows_of = model.peer_of[reached]
    expected = np.where(rows_of >= 0, model.p_node[np.maximum(rows_of, 0)], TEAM_PEER)
    assert np.array_equal(peer[reached], expected)
    assert np.array_equal(wave[reached], model.wave[reached])
    assert {v: status[v] for v in status} == {
        int(model.p_node[i]): int(model.p_status[i]) for i in range(model.n_peers)
    }


def test_policy_change_logs_withdrawals():
    model = OutreachModel(_scenario(), 0, events=True)
    model.run(3)
    n = model.n_peers
    before = set(model.p_node[:n][model.p_status[:n] == S.WITHDRAWN])
    # Three posts fewer: open posts of the kind (a peer who left, not yet replaced) go first,
    # then the newest close peers are let go.
    open_posts = sum(v.kind == S.CLOSE for v in model.vacancies)
    model.set_policy({"close_peers.count": 5})
    now = set(model.p_node[:n][model.p_status[:n] == S.WITHDRAWN])
    model.run(1)
    ev = model.events()
    gone = ev[(ev["event"] == "peer_withdrawn") & (ev["week"] == 3)]
    assert len(now - before) == 3 - min(3, open_posts) > 0
    assert now - before <= set(gone["person"])


def test_table_frame_and_streamed_file_agree(run, tmp_path):
    model, ev = run
    table = model.event_table()
    assert table.num_rows == len(ev)
    assert table.column("event").to_pylist() == list(ev["event"].astype(str))
    assert table.column("peer").to_pylist() == [None if pd.isna(x) else int(x) for x in ev["peer"]]
    # Streaming in small row groups: whole weeks per group, the same rows.
    path = tmp_path / "one.parquet"
    recorder = EventRecorder(3, path, rows_per_group=300)
    streamed = OutreachModel(_scenario(), 3, events=recorder)
    streamed.run()
    recorder.close()
    with pytest.raises(ValueError, match="read that file"):
        streamed.events()
    f = pq.ParquetFile(path)
    assert f.num_row_groups > 3
    weeks = [set(f.read_row_group(g).column("week").to_pylist()) for g in range(f.num_row_groups)]
    for a, b in zip(weeks, weeks[1:], strict=False):
        assert max(a) < min(b)  # a week never spans two groups
    assert pq.read_table(path).equals(table)
    pd.testing.assert_frame_equal(read_events(path), ev)


def test_model_without_events_says_how_to_record():
    model = OutreachModel(_scenario(), 0)
    with pytest.raises(ValueError, match="events=True"):
        model.events()


# --------------------------------------------------------------------------- command line


def _python_table(replicates: int):
    scenario = load_scenario(BASELINE, {"population.size": 800, "run.weeks": 8})
    tables = []
    for r in range(replicates):
        model = OutreachModel(scenario, r, events=True)
        model.run()
        tables.append(model.event_table())
    return pa.concat_tables(tables)


@pytest.mark.slow  # several seconds; run by .ci/run with the other slow tests
def test_cli_file_is_the_python_table_whatever_the_workers(tmp_path):
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    for path, workers in ((one, "1"), (two, "2")):
        proc = outreach(
            "run",
            "baseline",
            *CLI_SETS,
            "--replicates",
            "3",
            "--workers",
            workers,
            "--events",
            path,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"events written to {path}" in proc.stdout
    assert one.read_bytes() == two.read_bytes()  # same seed, same file
    table = pq.read_table(one)
    assert sorted(set(table.column("replicate").to_pylist())) == [0, 1, 2]
    assert table.equals(_python_table(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.parquet", "two.parquet"]


@pytest.mark.parametrize(
    ("where", "says"), [("missing/ev.parquet", "does not exist"), (".", "is a folder")]
)
def test_cli_bad_events_path(tmp_path, where, says):
    proc = outreach(
        "run", "baseline", *CLI_SETS, "--replicates", "1", "--events", where, cwd=tmp_path
    )
    one_line_error(proc, "--events", where, says)
    assert list(tmp_path.iterdir()) == []


def test_events_without_pyarrow_is_one_line(tmp_path, monkeypatch, capsys):
    import importlib.util

    from sim.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    status = main(
        [
            "run",
            "baseline",
            *CLI_SETS,
            "--replicates",
            "1",
            "--events",
            str(tmp_path / "ev.parquet"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "needs pyarrow" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_leaves_no_file(tmp_path):
    from sim.ensemble.replicates import RunCancelled, run_ensemble
    from sim.output.events import EventsFile

    target = tmp_path / "ev.parquet"
    stop = threading.Event()
    scenario = load_scenario(BASELINE, {"population.size": 800, "run.weeks": 8})
    with pytest.raises(RunCancelled), EventsFile(target) as events:
        run_ensemble(
            scenario,
            6,
            workers=2,
            stop=stop,
            events=events.recorder,
            progress=lambda done, total: stop.set(),
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_ctrl_c_leaves_no_file(tmp_path):
    """A real SIGINT in the command: exit 130, neither the file nor its parts left."""
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "run",
            "baseline",
            "--replicates",
            "2000",
            "--events",
            "ev.parquet",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not any(tmp_path.glob(".ev.parquet.parts.*/*.parquet")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "never started writing"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "outreach: interrupted"
    assert list(tmp_path.iterdir()) == []

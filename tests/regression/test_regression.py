"""The regression baseline: key metrics of two scenarios at a fixed seed, against the recorded file.

The numbers live in :mod:`tests.regression.baseline`, the update command in
``experiments/regression.py``; the file is
``tests/regression/key_metrics.json``. A deliberate change of the model or of a shipped scenario
fails the first test with a table of what moved; ``python experiments/regression.py --update``
rewrites the file, to be committed with the change.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.model.metrics import METRICS
from tests.regression import baseline as reg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def current():
    return reg.compute()


def _moved(record, scenario="peers_from_clients", metric="clients_linked", replicate=2, by=1):
    out = copy.deepcopy(record)
    out["scenarios"][scenario]["metrics"][metric][replicate] += by
    return out


def test_key_metrics_match_the_recorded_file(current):
    recorded = reg.read_record(reg.BASELINE_FILE)
    message = reg.check_report(recorded, current, reg.BASELINE_FILE)
    if message is not None:
        pytest.fail(message, pytrace=False)


def test_the_recorded_file_is_canonical_and_complete():
    text = reg.BASELINE_FILE.read_text(encoding="utf-8")
    record = json.loads(text)
    # Written by the script: sorted keys, each metric with all its replicates on one line.
    assert text == reg.dumps(record)
    assert record["settings"] == reg.settings()
    for name in reg.SCENARIOS:
        metrics = record["scenarios"][name]["metrics"]
        assert set(metrics) == set(METRICS)
        assert all(len(values) == reg.REPLICATES for values in metrics.values())
    lines = text.splitlines()
    for metric in METRICS:
        assert sum(f'"{metric}": [' in line for line in lines) == len(reg.SCENARIOS)


def test_the_file_round_trips_exactly(current):
    back = json.loads(reg.dumps(current))
    assert reg.compare(back, current) == ([], [])
    for name, entry in current["scenarios"].items():
        for metric, values in entry["metrics"].items():
            for old, new in zip(back["scenarios"][name]["metrics"][metric], values, strict=True):
                # Floats are written as their shortest exact text: no rounding on the way.
                assert (old is None and new != new) or old == new


def test_a_moved_value_is_named_with_its_replicate_and_the_update_command(current):
    recorded = _moved(current, by=-3)
    diffs, problems = reg.compare(recorded, current)
    assert problems == []
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.scenario, d.metric, d.replicate) == ("peers_from_clients", "clients_linked", 2)
    assert d.new - d.old == 3
    message = reg.check_report(recorded, current, reg.BASELINE_FILE)
    row = next(line for line in message.splitlines() if "clients_linked" in line)
    assert row.split()[:5] == [
        "peers_from_clients",
        "clients_linked",
        "2",
        reg._shown(d.old),
        reg._shown(d.new),
    ]
    assert message.rstrip().endswith(reg.UPDATE_COMMAND)


def test_the_tolerance_forgives_rounding_but_not_a_change():
    assert reg.same(1234.5, 1234.5 * (1 + 1e-12))
    assert not reg.same(1234.5, 1234.5 * (1 + 1e-7))
    assert reg.same(0, 0.0)
    assert not reg.same(0, 1e-6)
    assert reg.same(None, float("nan"))  # an undefined share, recorded as null
    assert not reg.same(None, 0.5)
    assert not reg.same(0.5, None)


def test_other_settings_or_a_missing_metric_fail_the_check(current):
    recorded = copy.deepcopy(current)
    recorded["settings"]["weeks"] = 26
    del recorded["scenarios"]["small_town_online"]["metrics"]["clients_retained"]
    recorded["scenarios"]["peers_from_clients"]["metrics"]["cost_total"].pop()
    diffs, problems = reg.compare(recorded, current)
    assert diffs == []
    assert len(problems) == 3
    assert any("settings differ" in p for p in problems)
    assert any("small_town_online clients_retained: new, not recorded" in p for p in problems)
    assert any("cost_total: 3 replicates recorded, 4 now" in p for p in problems)
    # A new version or changed parameters alone are notes, not failures.
    recorded = copy.deepcopy(current)
    recorded["package_version"] = "0.0.1"
    recorded["scenarios"]["small_town_online"]["parameters"] = "0" * 16
    assert reg.check_report(recorded, current, reg.BASELINE_FILE) is None
    assert len(reg.notes(recorded, current)) == 2


def test_check_fails_then_update_rewrites_and_shows_what_moved(
    current, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(reg, "compute", lambda: copy.deepcopy(current))
    path = tmp_path / "key_metrics.json"
    path.write_text(reg.dumps(_moved(current, metric="cost_total", replicate=0, by=-100.0)))

    assert reg.main(["--file", str(path)]) == 1
    out = capsys.readouterr().out
    assert "cost_total" in out and f"--update --file {path}" in out

    assert reg.main(["--update", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "old mean" in out and "new mean" in out
    moved = [line for line in out.splitlines() if "cost_total" in line]
    assert len(moved) == 1 and "+25" in moved[0]  # 100 over 4 replicates
    assert path.read_text() == reg.dumps(current)

    assert reg.main(["--file", str(path)]) == 0
    assert "agree" in capsys.readouterr().out


def test_the_command_from_the_repository_root(current, tmp_path):
    # A fresh interpreter, as a developer runs it: the same numbers as this process's.
    path = tmp_path / "key_metrics.json"
    done = subprocess.run(
        [sys.executable, "experiments/regression.py", "--update", "--file", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert reg.compare(json.loads(path.read_text()), current) == ([], [])

    missing = subprocess.run(
        [sys.executable, "experiments/regression.py", "--file", str(tmp_path / "none.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert "none.json: no such file" in missing.stderr and "--update" in missing.stderr

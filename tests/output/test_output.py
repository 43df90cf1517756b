"""The one place files are written (atomic writes), the metric table and the one TOML reader."""

from __future__ import annotations

import os

import pytest

from sim.errors import UserInputError
from sim.model.metrics import KEY_METRICS, METRICS, SHARE_METRICS, Metric, summarise
from sim.model.scenario import read_toml
from sim.output import atomic


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- atomic writes


def test_write_text_atomic_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    atomic.write_text_atomic(target, "first", "--json")
    atomic.write_text_atomic(target, "second ü", "--json")
    assert target.read_text(encoding="utf-8") == "second ü"
    assert _names(tmp_path) == ["out.json"]


def test_failed_rename_keeps_old_file_and_removes_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(UserInputError) as err:
        atomic.write_bytes_atomic(target, b"new", "--csv")
    assert str(err.value) == f"--csv {target}: cannot write there (No space left on device)"
    assert target.read_text(encoding="utf-8") == "old"
    assert _names(tmp_path) == ["out.csv"]


@pytest.mark.parametrize("case", ["missing_folder", "is_folder"])
def test_bad_targets_are_one_line_naming_option_and_path(tmp_path, case):
    target = tmp_path / "nowhere" / "x.json" if case == "missing_folder" else tmp_path
    with pytest.raises(UserInputError) as err:
        atomic.check_writable(target, "--json")
    message = str(err.value)
    assert message.startswith(f"--json {target}: ") and "\n" not in message
    assert ("does not exist" in message) if case == "missing_folder" else ("is a folder" in message)
    with pytest.raises(UserInputError):
        atomic.write_text_atomic(target, "x", "--json")
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_folder_atomic_new_and_existing_folder(tmp_path):
    out = tmp_path / "report"
    written = atomic.write_folder_atomic(out, {"a.txt": b"1", "b.png": b"\x89PNG"})
    assert written == [out / "a.txt", out / "b.png"]
    assert _names(out) == ["a.txt", "b.png"] and oct(out.stat().st_mode & 0o777) == "0o755"
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    atomic.write_folder_atomic(out, {"a.txt": b"2"})
    assert (out / "a.txt").read_bytes() == b"2" and (out / "keep.txt").exists()
    assert _names(out) == ["a.txt", "b.png", "keep.txt"]  # no temporary folder left behind
    assert _names(tmp_path) == ["report"]


def test_write_folder_atomic_failure_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "report"

    def broken(src, dst):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "rename", broken)
    with pytest.raises(UserInputError, match=r"^--out .*report: cannot write there"):
        atomic.write_folder_atomic(out, {"a.txt": b"1"})
    assert _names(tmp_path) == []


def test_check_folder_writable_refuses_a_file_and_a_missing_parent(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("", encoding="utf-8")
    with pytest.raises(UserInputError, match="is a file, not a folder"):
        atomic.check_folder_writable(a_file)
    with pytest.raises(UserInputError, match="does not exist"):
        atomic.check_folder_writable(tmp_path / "no" / "report")
    atomic.check_folder_writable(tmp_path / "new")  # a folder to be made: fine, and not made
    assert _names(tmp_path) == ["f"]


def test_no_other_module_writes_files_itself():
    """Writes go through sim.output.atomic, so none can leave a half-written file."""
    import sim

    root = os.path.dirname(sim.__file__)
    offenders = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or path.endswith(os.path.join("output", "atomic.py")):
                continue
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            if "os.replace(" in text or "mkstemp(" in text or "mkdtemp(" in text:
                offenders.append(os.path.relpath(path, root))
    assert offenders == []


# --------------------------------------------------------------------------- the metric table


def test_metric_table_is_consistent():
    assert all(isinstance(m, Metric) and m.name == name for name, m in METRICS.items())
    assert KEY_METRICS == (
        "clients_contacted",
        "clients_engaged",
        "clients_linked",
        "outside_orbit_contacted_share",
        "peers_exhausted_fraction",
        "cost_per_linked_client",
    )
    assert SHARE_METRICS == {name for name, m in METRICS.items() if m.unit == "share"}
    for m in METRICS.values():
        assert m.title and m.long_title and m.unit and m.meaning
    assert METRICS["cost_per_linked_client"].axis_label == (
        "Cost per linked client (currency per client)"
    )


def test_share_intervals_are_clipped_to_one_and_counts_only_at_zero():
    runs = [{"peers_exhausted_fraction": v, "clients_linked": v} for v in (0.0, 1.0, 1.0)]
    s = summarise(runs)
    assert s["peers_exhausted_fraction"]["ci_high"] == 1.0
    assert s["clients_linked"]["ci_high"] > 1.0
    assert s["clients_linked"]["ci_low"] == s["peers_exhausted_fraction"]["ci_low"] == 0.0


# --------------------------------------------------------------------------- the TOML reader


def test_read_toml_names_the_file_and_what_it_is(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('name = "a"\n[run]\nweeks = 3\n', encoding="utf-8")
    assert read_toml(good) == {"name": "a", "run": {"weeks": 3}}
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    cases = {
        tmp_path / "missing.toml": "no such sweep spec file",
        tmp_path: "is a folder, not a sweep spec file",
        bad: "not valid TOML",
    }
    for path, expected in cases.items():
        with pytest.raises(UserInputError) as err:
            read_toml(path, "sweep spec file")
        assert str(err.value).startswith(f"{path}: {expected}")
        assert "\n" not in str(err.value)
    with pytest.raises(UserInputError, match="no such scenario file"):
        read_toml(tmp_path / "missing.toml")

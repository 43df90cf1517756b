"""The package as a user gets it: a wheel of the checkout, installed in a fresh virtual
environment, its ``outreach`` command run from an empty folder outside the checkout.

This is what catches a scenario library that is found beside the source tree but not installed,
or a module left out of the wheel. The venv sees the site-packages of the interpreter running
the tests (a venv of its own, a conda-like prefix, or the system's), so numpy, numba and mesa
need no download; building the wheel fetches only setuptools from the package index.
It takes about half a minute, most of it numba compiling the kernels in the new environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sim.model.metrics import METRICS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
#: What a fresh clone does not have: build leftovers that could slip stale files into a wheel.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".venv",
    "*.nbi",
    "*.nbc",
    "test-artifacts",
    "out",
)


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A wheel of the checkout installed in a new venv; returns its paths and environment."""
    base = tmp_path_factory.mktemp("install")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    # Build from a copy, so the checkout gets no build/ folder and the wheel no stale files.
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_NOT_SOURCE)
    dist = base / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, src],
        cwd=base,
        env=env,
    )
    wheels = list(dist.glob("peer_outreach-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base, env=env)
    python = venv / "bin" / "python"
    _see_running_packages(python, base, env)
    # The outer pip installs into the venv: no pip bootstrap in the venv, no network.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            wheels[0],
        ],
        cwd=base,
        env=env,
    )
    env = dict(
        env,
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        PYTHONNOUSERSITE="1",
    )
    work = base / "work"  # empty, and outside the checkout
    work.mkdir()
    return {
        "wheel": wheels[0],
        "venv": venv,
        "python": python,
        "outreach": venv / "bin" / "outreach",
        "env": env,
        "work": work,
    }


def running_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests, in its order.

    ``venv --system-site-packages`` would give the new venv the *base* interpreter's folders:
    inside an active venv (``pip install -e ".[test]"`` there, the usual way) mesa and the
    rest live in that venv's folder, which the base interpreter does not see.
    """
    import site
    import sysconfig

    found = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    found += site.getsitepackages()
    found += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    out: list[str] = []
    for p in found:
        if Path(p).is_dir() and p not in out:
            out.append(p)
    return out


def _see_running_packages(python: Path, base: Path, env: dict[str, str]) -> None:
    """Let the new venv import what the running interpreter has installed.

    The folders go into a ``.pth`` file as plain lines, so they come after the venv's own
    site-packages (the wheel's ``sim`` wins) and their own ``.pth`` files are not run: an
    editable install of the checkout there would otherwise put the checkout's ``sim`` first.
    """
    proc = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=base,
        env=env,
    )
    site_packages = Path(proc.stdout.strip())
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "_running_interpreter.pth").write_text(
        "".join(f"{p}\n" for p in running_site_dirs()), encoding="utf-8"
    )


def test_the_venv_imports_the_running_interpreters_packages(installed):
    import mesa

    proc = _run(
        [installed["python"], "-c", "import mesa; print(mesa.__file__)"],
        cwd=installed["work"],
        env=installed["env"],
    )
    assert Path(proc.stdout.strip()).resolve() == Path(mesa.__file__).resolve()


def test_wheel_holds_the_scenario_library_and_no_stray_packages(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    shipped = {
        Path(n).stem for n in names if n.startswith("sim/scenarios/") and n.endswith(".toml")
    }
    in_checkout = {p.stem for p in (ROOT / "sim" / "scenarios").glob("*.toml")}
    assert shipped == in_checkout
    assert "sim/viz/app.py" in names
    # The top-level scenarios symlink, tests and experiments stay out of the wheel.
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"sim"}, tops


def test_sim_comes_from_the_wheel_not_the_checkout(installed):
    proc = _run(
        [installed["python"], "-c", "import sim; print(sim.__file__)"],
        cwd=installed["work"],
        env=installed["env"],
    )
    where = Path(proc.stdout.strip()).resolve()
    assert where.is_relative_to(installed["venv"].resolve()), where
    assert not where.is_relative_to(ROOT), where


def test_scenarios_lists_the_installed_library(installed):
    proc = _run([installed["outreach"], "scenarios"], cwd=installed["work"], env=installed["env"])
    library = installed["venv"].resolve()
    names = sorted(p.stem for p in (ROOT / "sim" / "scenarios").glob("*.toml"))
    for name in names:
        assert any(line.split() and line.split()[0] == name for line in proc.stdout.splitlines()), (
            name
        )
    paths = [
        Path(line.strip()) for line in proc.stdout.splitlines() if line.strip().endswith(".toml")
    ]
    assert len(paths) == len(names)
    for path in paths:  # paths a user can copy: real files of the installed package
        assert path.is_file() and path.resolve().is_relative_to(library), path


def test_run_a_shipped_scenario_by_name(installed):
    proc = _run(
        [installed["outreach"], "run", "baseline", "--replicates", "2", "--weeks", "4"],
        cwd=installed["work"],
        env=installed["env"],
    )
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("baseline: 2 replicates of 4 weeks"), proc.stdout
    assert lines[1].startswith("worlds: one per replicate (2 built"), proc.stdout
    assert lines[2].split()[:2] == ["metric", "mean"], proc.stdout
    table = lines[4 : lines.index("")]  # the metrics, then a blank line and who is reached
    rows = {line.split()[0]: line.split()[1:] for line in table}
    assert set(rows) == set(METRICS), proc.stdout
    assert any(line.startswith("service orbit: outside orbit") for line in lines), proc.stdout
    assert float(rows["clients_contacted"][0].replace(",", "")) > 0  # the peers reached someone
    # No progress bar when stderr is not a terminal; the fresh install's empty numba cache is
    # announced in one line, and that is all.
    assert [
        line
        for line in proc.stderr.splitlines()
        if not line.startswith("outreach: compiling the model once")
    ] == [], proc.stderr


def test_new_copies_a_shipped_scenario_here(installed):
    work, env = installed["work"], installed["env"]
    proc = _run([installed["outreach"], "new", "prog", "--from", "big_city"], cwd=work, env=env)
    assert "wrote prog.toml" in proc.stdout
    text = (work / "prog.toml").read_text(encoding="utf-8")
    assert 'name = "prog"' in text
    assert "# outreach compare big_city prog.toml" in text
    checked = _run([installed["outreach"], "validate", "prog.toml"], cwd=work, env=env)
    assert checked.stdout.strip() == "prog.toml: ok"
    assert sorted(p.name for p in work.iterdir()) == ["prog.toml"]


def test_wheel_ships_the_examples(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    shipped = {Path(n).stem for n in names if n.startswith("sim/examples/") and n.endswith(".toml")}
    assert shipped == {p.stem for p in (ROOT / "sim" / "examples").glob("*.toml")}
    assert {"sensitivity", "burnout", "helsinki", "budget"} <= shipped


def test_shipped_examples_work_outside_a_checkout(installed):
    work, env = installed["work"], installed["env"]
    proc = _run(
        [
            installed["outreach"],
            "calibrate",
            "baseline",
            "burnout",
            "--out",
            "fit",
            "--trials",
            "1",
            "--replicates",
            "1",
            "--workers",
            "1",
        ],
        cwd=work,
        env=env,
    )
    assert "best of 1 trials" in proc.stdout, proc.stdout
    # The sweep's spec and its base = "baseline" load; an unreachable scheduler then stops it
    # before any run, and it leaves no folder.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [
            str(installed["outreach"]),
            "sweep",
            "sensitivity",
            "--out",
            "sw",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.stdout.startswith("sensitivity: Sobol/Saltelli"), proc.stdout + proc.stderr
    assert proc.returncode == 2 and "cannot connect" in proc.stderr, proc.stderr
    assert not (work / "sw").exists()
    shutil.rmtree(work / "fit")

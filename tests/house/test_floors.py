"""The floors of the package hold: its import contracts, and no circle of imports.

``lint-imports`` (import-linter) checks the contracts of ``[tool.importlinter]`` in
pyproject.toml: each room imports only the rooms below it, the model imports no output,
command, ensemble, sweep, fit, survey or page, and no two sibling files or rooms import each
other. A circle through a package's own ``__init__`` (a package and one of its modules
importing each other) is not between siblings, so the circle test looks at every module.
Imports inside functions count as much as those at the top of a file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def _circles(graph: grimp.ImportGraph) -> list[str]:
    """Every import ``a -> b`` where ``b`` leads back to ``a``, as the circle's modules."""
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                found.append(" -> ".join((module, *back)))
    return found


def test_import_contracts_are_kept():
    # In a fresh interpreter started in the project's root, as `lint-imports` in .ci/run runs,
    # so the package checked is this checkout's.
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, "
        "no_logo=True))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 broken." in done.stdout


def test_no_module_imports_one_that_imports_it():
    graph = grimp.build_graph("sim", cache_dir=None)
    assert _circles(graph) == []


def test_a_circle_is_found():
    graph = grimp.build_graph("sim", cache_dir=None)
    # The graph generators draw from the random streams; streams that imported a generator
    # would close a circle.
    graph.add_import(importer="sim.streams", imported="sim.graphs.generators")
    assert "sim.streams -> sim.graphs.generators -> sim.streams" in _circles(graph)


def test_lazy_names_resolve():
    # The packages' lazy tables name modules in strings, which no import contract sees.
    import importlib

    for package in ("sim", "sim.model", "sim.model.recruitment", "sim.cascade"):
        module = importlib.import_module(package)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"

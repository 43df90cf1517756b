"""The examples in the public API's docstrings run, as the documentation shows them.

Each example is quick (a 300-person scenario, four weeks, two replicates) and prints shapes,
types and bounded values, not model numbers, so a change of the model's numbers leaves them
true.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

#: The modules whose public entry points carry examples (the API page shows them).
MODULES = [
    "sim.model.scenario",
    "sim.model.outreach",
    "sim.ensemble.replicates",
    "sim.cascade.core",
    "sim.rds.survey",
    "sim.rds.estimators",
]

#: Names that must carry at least one example.
DOCUMENTED = {
    "sim.model.scenario": ["load_scenario"],
    "sim.model.outreach": ["OutreachModel"],
    "sim.ensemble.replicates": ["run_ensemble"],
    "sim.cascade.core": ["cascade_sizes"],
    "sim.rds.survey": ["survey"],
    "sim.rds.estimators": ["naive", "vh", "rds1", "multiplier", "chapman"],
}


@pytest.mark.parametrize("name", MODULES)
def test_examples_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


@pytest.mark.parametrize("name", MODULES)
def test_named_entry_points_have_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    with_examples = {t.name.rsplit(".", 1)[-1] for t in finder.find(module) if t.examples}
    missing = [n for n in DOCUMENTED[name] if n not in with_examples]
    assert not missing, f"{name}: no example in the docstring of {missing}"

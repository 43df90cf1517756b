"""peer-outreach: a simulator of peer outreach networks in harm reduction.

The package has one folder a question:

- :mod:`sim.model`: the outreach model (scenario, world, weekly kernel, plain-Python reference,
  recruitment, metrics);
- :mod:`sim.graphs`: the social graph (CSR form, generators, a user's graph files);
- :mod:`sim.cascade`: the contact-propagation core (independent cascade) and its reference;
- :mod:`sim.ensemble`: replicate ensembles, paired comparisons and the reach screen;
- :mod:`sim.sweep`: parameter sweeps; :mod:`sim.fit`: calibration and policy search;
- :mod:`sim.rds`: respondent-driven surveys on a world; :mod:`sim.viz`: the workshop page;
- :mod:`sim.output`: text tables, plots, reports and every file write;
- :mod:`sim.cli`: the ``outreach`` command, one module per command group;
- :mod:`sim.streams`: random streams; ``sim/scenarios/``: the scenario library.

Each folder imports only from the folders below it (``cli``; ``viz``, ``fit``, ``rds``;
``sweep``; ``output``; ``ensemble``; ``model``; ``cascade``; ``graphs``; ``streams``, ``errors``),
and no two files or folders import each other: ``[tool.importlinter]`` in pyproject.toml.

The public entry points are imported lazily, so ``import sim`` (and the CLI's start) does no
numba compilation or heavy import work.
"""

from __future__ import annotations

__version__ = "0.3.0"

_LAZY = {
    "CSRGraph": "sim.graphs.csr",
    "OutreachModel": "sim.model.outreach",
    "Scenario": "sim.model.scenario",
    "cascade_sizes": "sim.cascade.core",
    "load_scenario": "sim.model.scenario",
    "run_ensemble": "sim.ensemble.replicates",
}

__all__ = ["__version__", *_LAZY]


def lazy_attributes(package: str, table: dict[str, str]):
    """A module ``__getattr__`` that imports each name of ``table`` from its module on first use.

    Args:
        package: the package's name, for the error on an unknown name.
        table: public name -> the module that defines it.
    """

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(module), name)

    return __getattr__


__getattr__ = lazy_attributes("sim", _LAZY)

"""peer-outreach: a simulator of peer outreach networks in harm reduction.

The public entry points are imported lazily, so ``import sim`` (and the CLI's start) does no
numba compilation or heavy import work.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "CSRGraph": "sim.graph",
    "cascade_sizes": "sim.propagation",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

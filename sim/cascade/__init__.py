"""The contact-propagation core: an independent cascade in numba (:mod:`~sim.cascade.core`)
and its plain-Python reference (:mod:`~sim.cascade.reference`).

``from sim.cascade import cascade_sizes`` imports the core on first use.
"""

from __future__ import annotations

__all__ = ["cascade_sizes"]


def __getattr__(name: str):
    if name != "cascade_sizes":
        raise AttributeError(f"module 'sim.cascade' has no attribute {name!r}")
    from sim.cascade.core import cascade_sizes

    return cascade_sizes

"""The contact-propagation core and its plain-Python reference.

:mod:`~sim.cascade.core` runs the independent cascade in numba; :mod:`~sim.cascade.reference`
is the same cascade in plain Python, the yardstick of the core.

``from sim.cascade import cascade_sizes`` imports the core on first use.
"""

from __future__ import annotations

from sim import lazy_attributes

__all__ = ["cascade_sizes"]

__getattr__ = lazy_attributes("sim.cascade", {"cascade_sizes": "sim.cascade.core"})

"""The outreach model: who is reached, engaged and linked, and at what cost to the peers.

- :mod:`~sim.model.scenario`: every parameter, declared once with its default, range and unit;
- :mod:`~sim.model.world`: the social graph and each person's attributes for a replicate;
- :mod:`~sim.model.outreach`: :class:`OutreachModel`, the Mesa model owning the state arrays;
- :mod:`~sim.model.agents`: peers, professionals and clients as Mesa views over those arrays;
- :mod:`~sim.model.recruitment`: who becomes a peer;
- :mod:`~sim.model.state`: state codes and the named structures the kernel is handed;
- :mod:`~sim.model.kernel`: the week as numba phase functions;
- :mod:`~sim.model.events`: the event history of a run (codes, the kernel's log, recorders);
- :mod:`~sim.model.reference`: the same week in plain Python, the yardstick of the kernel;
- :mod:`~sim.model.metrics`: outcome measures, with one table of names, titles and units.

Names are imported lazily, so reading a scenario does not import numba or Mesa.
"""

from __future__ import annotations

from sim import lazy_attributes

_LAZY = {
    "OutreachModel": "sim.model.outreach",
    "WEEKLY_SERIES": "sim.model.outreach",
    "ReferenceModel": "sim.model.reference",
    "Scenario": "sim.model.scenario",
    "load_scenario": "sim.model.scenario",
    "World": "sim.model.world",
    "build_world": "sim.model.world",
}

__all__ = list(_LAZY)

__getattr__ = lazy_attributes("sim.model", _LAZY)

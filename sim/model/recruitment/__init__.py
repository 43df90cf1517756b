"""Recruitment: who in the population becomes a peer.

Each module imports only those listed before it, so none imports one that imports it:

- :mod:`~sim.model.recruitment.draws`: a peer kind's random streams, each person's priority
  and a new peer's start energy;
- :mod:`~sim.model.recruitment.queues`: the fixed-order policies' queues and the walk along
  them;
- :mod:`~sim.model.recruitment.influence`: the ``influence`` policy (tie probabilities, who
  may be chosen, the greedy queue);
- :mod:`~sim.model.recruitment.policies`: :func:`recruit`, every policy by name.

Names are imported lazily, so reading the package does not import numba.
"""

from __future__ import annotations

from sim import lazy_attributes

_LAZY = {
    "KindStreams": "sim.model.recruitment.draws",
    "kind_streams": "sim.model.recruitment.draws",
    "priorities": "sim.model.recruitment.draws",
    "start_energies": "sim.model.recruitment.draws",
    "start_energy": "sim.model.recruitment.draws",
    "first": "sim.model.recruitment.queues",
    "take_next": "sim.model.recruitment.queues",
    "walk": "sim.model.recruitment.queues",
    "choose": "sim.model.recruitment.influence",
    "eligible_pool": "sim.model.recruitment.influence",
    "slot_bands": "sim.model.recruitment.influence",
    "take": "sim.model.recruitment.influence",
    "tie_probabilities": "sim.model.recruitment.influence",
    "recruit": "sim.model.recruitment.policies",
}

__all__ = list(_LAZY)

__getattr__ = lazy_attributes("sim.model.recruitment", _LAZY)

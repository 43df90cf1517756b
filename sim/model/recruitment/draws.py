"""The random draws of one peer kind's recruitment: its streams, priorities and start energies.

Every person holds a fixed random *priority* for each kind, a counter-based draw keyed by the
person (:func:`sim.streams.uniform`), and a new peer's energy is a draw keyed by the person too,
so who one kind recruits, and how fresh they start, does not depend on the other kind.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model import state as S
from sim.streams import stream, subkey, uint64_seeds, uniform

__all__ = [
    "KindStreams",
    "kind_streams",
    "normal",
    "priorities",
    "start_energies",
    "start_energy",
    "vulnerabilities",
    "vulnerability",
]


class KindStreams:
    """The random streams of one peer kind's recruitment in one replicate.

    Attributes:
        rng: draws made in sequence (age bands of recruits, nomination attempts).
        priority_key: key of each person's priority for this kind.
        energy_key: key of each recruit's start-energy draw.
        influence_key: key of the propagation samples of the ``influence`` policy.
        influence_cache: what the ``influence`` policy computes once per replicate.
        queues: the fixed-order policies' queues, by (policy, age band).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        priority_key: np.uint64,
        energy_key: np.uint64,
        influence_key: np.uint64 | None = None,
    ):
        self.rng = rng
        self.priority_key = priority_key
        self.energy_key = energy_key
        self.influence_key = np.uint64(0) if influence_key is None else influence_key
        self.influence_cache: dict = {}
        self.kind = -1  # CLOSE or DISTANT, set by kind_streams
        self._priority: np.ndarray | None = None
        self.queues: dict[tuple[str, int], list] = {}

    def priority(self, nodes: np.ndarray, n: int) -> np.ndarray:
        """The priorities of ``nodes`` among ``n`` persons (all drawn once, then looked up)."""
        if self._priority is None or self._priority.size != n:
            self._priority = priorities(self.priority_key, np.arange(n))
        return self._priority[nodes]

    def queue(self, policy: str, band: int, model) -> list:
        """A fixed-order policy's queue for one age band (-1: everyone): ``[persons, cursor]``.

        ``persons`` are in the order the policy takes them, and the cursor says how far down
        the taken or ineligible persons reach. ``random`` takes the lowest priority first and
        ``degree`` the best-connected (ties by priority): orders fixed for a replicate, so
        they are sorted once and a vacancy walks on from the cursor. A person stops being
        eligible only by becoming a peer, for good, so no one before the cursor is ever
        eligible again.
        """
        key = (policy, band)
        if key not in self.queues:
            if (policy, -1) not in self.queues:
                n = model.role.size
                prio = self.priority(np.arange(n), n)
                order = prio - model.world.graph.degree() if policy == "degree" else prio
                # Priorities are 53-bit uniform draws: ties (which ``queues.first`` breaks by
                # position) have a chance of about n^2 / 2^54, so an unstable sort gives the
                # same order.
                self.queues[policy, -1] = [np.argsort(order), 0]
            persons = self.queues[policy, -1][0]
            if band >= 0:
                self.queues[key] = [persons[model.world.age_band[persons] == band], 0]
        return self.queues[key]


def kind_streams(seed: int, replicate: int, kind: int) -> KindStreams:
    """The recruitment streams of peer kind ``kind`` (``CLOSE`` or ``DISTANT``)."""
    name = S.KIND_SECTIONS[kind]
    keys = uint64_seeds(stream(seed, replicate, f"recruitment-keys/{name}"), 2)
    # A stream of its own, so the other policies' draws are as they were without it.
    influence = uint64_seeds(stream(seed, replicate, f"influence/{name}"), 1)[0]
    streams = KindStreams(
        stream(seed, replicate, f"recruitment/{name}"), keys[0], keys[1], influence
    )
    streams.kind = kind
    return streams


@njit(cache=True)
def _uniforms(key, nodes):
    out = np.empty(nodes.shape[0])
    for j in range(nodes.shape[0]):
        out[j] = uniform(key, nodes[j])
    return out


def priorities(key: np.uint64, nodes: np.ndarray) -> np.ndarray:
    """Each person's uniform draw under ``key``: the same for a person whatever the pool."""
    return _uniforms(np.uint64(key), np.asarray(nodes, np.int64))


@njit(cache=True, _nrt=False)
def start_energy(key, node, mean, spread):
    """A new peer's energy: ``mean`` plus a uniform draw within ``+/- spread``, within [0, 1].

    The draw is keyed by the person (``node``) under the kind's energy ``key``.
    """
    return min(1.0, max(0.0, mean + spread * (2.0 * uniform(key, node) - 1.0)))


@njit(cache=True, _nrt=False, inline="always")
def normal(key, counter):
    """A standard normal draw from the uniforms ``counter`` and ``counter + 1`` of ``key``.

    Box & Muller (1958): ``sqrt(-2 ln u1) cos(2 pi u2)``.
    """
    u1 = max(uniform(key, counter), 1e-300)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * uniform(key, counter + 1))


@njit(cache=True, _nrt=False)
def vulnerability(key, node, sd):
    """A new peer's lasting vulnerability: lognormal with mean 1 and log-sd ``sd``.

    A factor on every demand the peer meets, drawn once per person (keyed by ``node`` under
    ``key``, the kind's energy key): the same person is as vulnerable in every run of a
    scenario, whatever the other recruits.
    """
    z = normal(subkey(key, 0x5EED), 2 * node)
    return math.exp(sd * z - 0.5 * sd * sd)


@njit(cache=True)
def _vulnerabilities(key, nodes, sd):
    out = np.empty(nodes.shape[0])
    for j in range(nodes.shape[0]):
        out[j] = vulnerability(key, nodes[j], sd)
    return out


def vulnerabilities(streams: KindStreams, nodes: np.ndarray, sd: float) -> np.ndarray:
    """New peers' vulnerabilities, each by :func:`vulnerability`."""
    return _vulnerabilities(np.uint64(streams.energy_key), np.asarray(nodes, np.int64), float(sd))


@njit(cache=True)
def _start_energies(key, nodes, mean, spread):
    out = np.empty(nodes.shape[0])
    for j in range(nodes.shape[0]):
        out[j] = start_energy(key, nodes[j], mean, spread)
    return out


def start_energies(
    streams: KindStreams, nodes: np.ndarray, mean: float, spread: float
) -> np.ndarray:
    """New peers' energies, each by :func:`start_energy`."""
    return _start_energies(
        np.uint64(streams.energy_key), np.asarray(nodes, np.int64), float(mean), float(spread)
    )

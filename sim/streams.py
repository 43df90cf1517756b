"""Random numbers: named numpy streams for Python-side processes, counter-based draws for kernels.

Numpy streams. One root seed gives one :class:`numpy.random.SeedSequence`; each replicate is a
child of it, and each stochastic process of a replicate (recruitment of each peer kind, kernel
keys, the world) draws from its own stream keyed by the process name. Two scenarios run with
the same root seed therefore share random numbers wherever their policies agree (common random
numbers), and no result depends on the number of threads or workers. Nothing here touches
numpy's or Python's global state.

Counter-based draws. A numba kernel is handed 64-bit keys (one per process, from
:func:`uint64_seeds`) and derives every uniform number it needs as output number ``counter`` of
the SplitMix64 stream seeded with the key (Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators"). The number drawn for an event depends only on the key and the
event's counter (a person, a week, an arc), never on which thread ran it or in what order, so
parallel kernels give the same results for any thread count.
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit, uint64

__all__ = [
    "as_generator",
    "mix",
    "process_key",
    "splitmix64",
    "stream",
    "subkey",
    "uint64_seeds",
    "uniform",
]


def process_key(name: str) -> int:
    """A stable 32-bit key for a process name (the same on every machine and run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, replicate: int, process: str) -> np.random.Generator:
    """The random stream of one named process in one replicate.

    Args:
        seed: the root seed (a non-negative integer).
        replicate: the replicate index (0, 1, ...).
        process: the process name, such as ``"contact"``.

    Returns:
        A fresh PCG64 generator, the same for the same arguments.
    """
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(replicate), process_key(process)))
    return np.random.Generator(np.random.PCG64(ss))


def as_generator(seed) -> np.random.Generator:
    """Normalise ``seed`` (None, an int, a SeedSequence or a Generator) to a Generator.

    A Generator is returned as it is, so callers share the caller's stream; None draws fresh
    OS entropy, never the global state.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)):
        raise ValueError(f"seed: must be None, an int or a numpy Generator, got {seed!r}")
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        if isinstance(seed, (int, np.integer)) and seed < 0:
            raise ValueError(f"seed: must be a non-negative int, got {seed}")
        return np.random.default_rng(seed)
    raise ValueError(f"seed: must be None, an int or a numpy Generator, got {seed!r}")


def uint64_seeds(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` independent 64-bit seeds for the counter-based generators of the kernels."""
    return rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)


# --------------------------------------------------------------------------- counter-based draws

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(uint64(uint64), cache=True, inline="always")
def splitmix64(x):
    """The SplitMix64 finaliser of ``x + golden gamma``: a bijective 64-bit mix."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def mix(key, counter):
    """A 64-bit hash of ``(key, counter)``.

    It is output number ``counter`` of the SplitMix64 stream seeded with ``key``; ``counter``
    may be any non-negative integer.
    """
    return splitmix64(uint64(key) + uint64(counter) * _GOLDEN)


@njit(cache=True, inline="always")
def uniform(key, counter):
    """A uniform number in ``[0, 1)`` determined by ``(key, counter)``."""
    return (mix(key, counter) >> _S11) * _INV53


@njit(cache=True, inline="always")
def subkey(key, tag):
    """A key for a sub-stream (for example one week, or one replicate) of ``key``."""
    return mix(key, uint64(tag) + uint64(0x632BE59BD9B4E019))

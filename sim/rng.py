"""Named, reproducible random streams.

One root seed gives one :class:`numpy.random.SeedSequence`; each replicate is a child of it, and
each stochastic process of a replicate (recruitment, contact, engagement, ...) draws from its
own stream keyed by the process name. Two scenarios run with the same root seed therefore share
random numbers wherever their policies agree (common random numbers), and no result depends on
the number of threads or workers. Nothing here touches numpy's or Python's global state.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["as_generator", "process_key", "stream", "uint64_seeds"]


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

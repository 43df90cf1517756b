"""Counter-based random numbers for numba kernels.

A kernel is handed 64-bit keys (one per replicate or per process) and derives every uniform
number it needs as output number ``counter`` of the SplitMix64 stream seeded with the key
(Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators"). The number drawn
for an event depends only on the key and the event's counter (an arc index, a node index, a
week), never on which thread ran it or in what order, so parallel kernels give the same
results for any thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

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

"""DirectCall: a kernel called past numba's dispatch once its one compiled version is known."""

import numpy as np
from numba import njit

from sim.model.direct import DirectCall


def _fresh_kernel():
    @njit
    def scaled_sum(values, factor):
        total = 0.0
        for x in values:
            total += x * factor
        return total

    return scaled_sum


def test_one_version_is_called_straight_with_the_same_result():
    kernel = _fresh_kernel()
    call = DirectCall(kernel)
    values = np.arange(5.0)
    assert call(values, 2.0) == 20.0  # through the dispatcher, which compiles it
    assert call.entry is not None
    assert call(values, 3.0) == kernel(values, 3.0) == 30.0  # straight to the entry point
    call.forget()
    assert call.entry is None
    assert call(values, 1.0) == 10.0


def test_with_several_versions_every_call_goes_through_the_dispatcher():
    kernel = _fresh_kernel()
    kernel(np.arange(3, dtype=np.int64), 2)  # another signature compiled first
    call = DirectCall(kernel)
    assert call(np.arange(5.0), 2.0) == 20.0
    assert call.entry is None  # two versions: it cannot know which one the next call needs
    assert call(np.arange(4, dtype=np.int64), 1) == 6

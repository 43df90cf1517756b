"""DirectCall: a kernel called past numba's dispatch once its one compiled version is known."""

import warnings

import numpy as np
import pytest
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


class _Version:
    """A compiled version as a numba without entry points would hold it."""


class _Dispatcher:
    """Calls ``func``; its table of versions as ``overloads`` gives it (or no table at all)."""

    def __init__(self, func, overloads):
        self.py_func = func
        if overloads is not None:
            self.overloads = overloads

    def __call__(self, *args):
        return self.py_func(*args)


def _twice(x):
    return 2 * x


def test_the_models_kernels_are_called_through_their_entry_points():
    # The model's own kernels, with the numba pyproject.toml allows: the private attributes
    # DirectCall reads are there, so the week and the recruitment skip the dispatcher.
    from sim.model.outreach import OutreachModel
    from sim.model.scenario import Scenario
    from sim.model.world import build_world

    s = Scenario().replace(
        {
            "population.size": 1000,
            "close_peers.count": 3,
            "distant_peers.count": 3,
            "run.weeks": 2,
            "run.seed": 5,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = OutreachModel(s, 0, build_world(s, 0))
        model.step()
        model.step()
    assert model._week.entry is not None
    assert model._admit.entry is not None


def test_a_numba_without_entry_points_warns_once_and_calls_the_dispatcher(monkeypatch):
    from sim.model import direct

    monkeypatch.setattr(direct, "_warned", False)
    call = DirectCall(_Dispatcher(_twice, {"sig": _Version()}))
    with pytest.warns(RuntimeWarning, match="entry point on its compiled version for _twice"):
        assert call(4) == 8
    assert call.entry is None  # every call goes through the dispatcher: slower, same result
    assert call(5) == 10
    other = DirectCall(_Dispatcher(_twice, None))  # no table of versions at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert other(6) == 12  # said once per process: no second warning


def test_a_numba_without_a_table_of_versions_warns(monkeypatch):
    from sim.model import direct

    monkeypatch.setattr(direct, "_warned", False)
    call = DirectCall(_Dispatcher(_twice, None))
    with pytest.warns(RuntimeWarning, match=r"Dispatcher\.overloads"):
        assert call(3) == 6
    assert call.entry is None

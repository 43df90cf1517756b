"""Calling a compiled kernel without numba's per-call type dispatch.

A call of a numba function goes through its dispatcher, which works out the numba type of
every argument to choose the compiled version. For the model's named tuples of arrays
(:mod:`sim.model.state`) that takes about 16 microseconds a call, four times the cost of
handing the arrays over: most of a 10k-person week's overhead, paid 52 times a run, and again
at every recruitment. The types of a model's arguments are fixed by the model (every dtype is
set in code, every view is contiguous), so once the dispatcher has chosen the version for them
it would choose it again: :class:`DirectCall` remembers that version's entry point and calls it
straight away, which gives the same numbers (the same machine code runs).

It remembers a version only when the dispatcher holds exactly one, the one it has just used;
with several (say, a test that compiled another signature) every call goes through the
dispatcher as usual. Whoever may change an argument's type calls :meth:`DirectCall.forget`.
The version is read from the dispatcher's table as a plain dict: going through its
``OrderedDict`` interface hashes the signature's numba types, 30 to 70 microseconds.

Both the table (``Dispatcher.overloads``) and the version's ``entry_point`` are numba's private
attributes, so ``pyproject.toml`` holds numba to the releases tested with them, and
``tests/test_direct.py`` checks that they are found. Should a numba lack them, every call goes
through the dispatcher (the same results, slower) and a :class:`RuntimeWarning` says so once.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["DirectCall"]

#: Whether the fallback to numba's dispatcher has been reported (once per process).
_warned = False


class DirectCall:
    """A numba function, called through its one compiled version once it is known.

    Args:
        dispatcher: the ``@njit`` function.

    The arguments of every call between two :meth:`forget` calls must have the types of the
    first one (the caller guarantees it; the entry point does not check them).
    """

    __slots__ = ("dispatcher", "entry")

    def __init__(self, dispatcher: Any):
        self.dispatcher = dispatcher
        self.entry: Any = None

    def __call__(self, *args: Any) -> Any:
        """Call the function with ``args``; its result."""
        if self.entry is not None:
            return self.entry(*args)
        out = self.dispatcher(*args)
        table = getattr(self.dispatcher, "overloads", None)
        if not isinstance(table, dict):
            _fallback(self.dispatcher, "a table of compiled versions (Dispatcher.overloads)")
            return out
        compiled = tuple(dict.values(table))  # one snapshot, threads or not
        if len(compiled) == 1:  # the version just used, and no other to confuse it with
            self.entry = getattr(compiled[0], "entry_point", None)
            if self.entry is None:
                _fallback(self.dispatcher, "an entry point on its compiled version")
        return out

    def forget(self) -> None:
        """Go through the dispatcher at the next call (an argument's type may have changed)."""
        self.entry = None


def _fallback(dispatcher: Any, missing: str) -> None:
    """Warn, once, that kernels go through numba's dispatcher: this numba lacks ``missing``."""
    global _warned
    if _warned:
        return
    _warned = True
    import numba

    name = getattr(getattr(dispatcher, "py_func", None), "__qualname__", repr(dispatcher))
    warnings.warn(
        f"numba {numba.__version__} has no {missing} for {name}: kernels are called "
        "through numba's dispatcher, with the same results but slower (sim.model."
        "direct is tested with the numba versions pyproject.toml allows)",
        RuntimeWarning,
        stacklevel=3,
    )

"""Experiment designs: the table of points a sweep runs, and each run's seed.

- **grid**: every combination of the parameters' levels (full factorial).
- **lhs**: Latin hypercube sampling of the parameters' ranges (McKay, Beckman & Conover 1979,
  Technometrics 21:239), from ``scipy.stats.qmc.LatinHypercube``.
- **sobol**: Saltelli's extension of the Sobol' sequence (Sobol' 2001, Math. Comput. Simul.
  55:271; Saltelli et al. 2010, Comput. Phys. Commun. 181:259), from ``SALib.sample.sobol``:
  ``N * (D + 2)`` points, or ``N * (2D + 2)`` with second-order indices, in the order SALib's
  analysis expects.

Whole-number parameters are sampled on ``[lo - 0.5, hi + 0.5]`` and rounded, so each whole
value in ``[lo, hi]`` is equally likely. Every random choice derives from the spec's root seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Design", "make_design", "point_seed", "sobol_problem"]

#: Spawn key of the stream that samples a design, apart from every run's (point) stream.
_DESIGN_KEY = 0x5EED_DE51


def point_seed(root: int, point: int) -> int:
    """The ``run.seed`` of every replicate at design point ``point``.

    Derived from ``(root, point)`` with ``numpy.random.SeedSequence``, so it does not depend on
    which executor or worker runs the point, nor on what else the sweep runs.
    """
    state = np.random.SeedSequence(root, spawn_key=(point,)).generate_state(1, np.uint64)[0]
    return int(state % np.uint64(2**63))


@dataclass(frozen=True)
class Design:
    """The points of a sweep.

    Attributes:
        kind: ``grid``, ``lhs`` or ``sobol``.
        keys: the varied dotted keys, in column order.
        points: one row per point, one value per key (Python ints, floats, strings, bools).
        n_base: Sobol base samples N (0 for other designs).
        second_order: Sobol points allow second-order indices.
        bounds: each key's sampling bounds (ranges), or None for a grid.
    """

    kind: str
    keys: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]
    n_base: int = 0
    second_order: bool = False
    bounds: tuple[tuple[float, float], ...] | None = None

    def __len__(self) -> int:
        return len(self.points)

    def overrides(self, point: int) -> dict[str, Any]:
        """The dotted-key overrides of one point."""
        return dict(zip(self.keys, self.points[point], strict=True))

    def describe(self, replicates: int) -> str:
        """One line: the design, its size and the number of runs."""
        n, d = len(self.points), len(self.keys)
        how = {
            "grid": "full grid",
            "lhs": "Latin hypercube",
            "sobol": f"Sobol/Saltelli, N = {self.n_base}"
            + (", with second order" if self.second_order else ""),
        }[self.kind]
        return (
            f"{how} over {d} parameters: {n:,} points x {replicates} replicates = "
            f"{n * replicates:,} runs"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, for the store's manifest."""
        return {
            "kind": self.kind,
            "keys": list(self.keys),
            "points": [list(p) for p in self.points],
            "n_base": self.n_base,
            "second_order": self.second_order,
            "bounds": None if self.bounds is None else [list(b) for b in self.bounds],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        """The inverse of :meth:`to_dict`."""
        bounds = data.get("bounds")
        return cls(
            kind=data["kind"],
            keys=tuple(data["keys"]),
            points=tuple(tuple(p) for p in data["points"]),
            n_base=data.get("n_base", 0),
            second_order=data.get("second_order", False),
            bounds=None if bounds is None else tuple(tuple(b) for b in bounds),
        )


def sobol_problem(keys, bounds) -> dict[str, Any]:
    """A SALib problem definition for the given keys and sampling bounds."""
    return {"num_vars": len(keys), "names": list(keys), "bounds": [list(b) for b in bounds]}


def _design_rng_seed(root: int) -> int:
    state = np.random.SeedSequence(root, spawn_key=(_DESIGN_KEY,)).generate_state(1, np.uint32)
    return int(state[0])


def _sampling_bounds(parameters) -> list[tuple[float, float]]:
    return [(p.lo - 0.5, p.hi + 0.5) if p.integer else (p.lo, p.hi) for p in parameters]


def _to_values(unit_or_scaled: np.ndarray, parameters) -> list[tuple[Any, ...]]:
    """Rows of sampled values, whole-number parameters rounded into their range."""
    cols = []
    for j, p in enumerate(parameters):
        x = unit_or_scaled[:, j]
        if p.integer:
            cols.append([int(v) for v in np.clip(np.rint(x), p.lo, p.hi)])
        else:
            cols.append([float(v) for v in np.clip(x, p.lo, p.hi)])
    return list(zip(*cols, strict=True))


def make_design(
    kind: str, parameters, *, samples: int = 0, seed: int = 0, second_order: bool = False
) -> Design:
    """Build a design's points.

    Args:
        kind: ``grid``, ``lhs`` or ``sobol``.
        parameters: :class:`sim.sweep.spec.Parameter` objects (levels for a grid, ranges
            otherwise), or any objects with ``key``, ``levels``, ``lo``, ``hi``, ``integer``.
        samples: Latin-hypercube points, or Sobol base samples N (a power of 2).
        seed: the root seed; the sampling stream derives from it.
        second_order: Sobol only: points for second-order indices too.

    Returns:
        The design.
    """
    keys = tuple(p.key for p in parameters)
    if kind == "grid":
        points = tuple(itertools.product(*(p.levels for p in parameters)))
        return Design("grid", keys, points)
    bounds = _sampling_bounds(parameters)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(
            d=len(keys), rng=np.random.default_rng(_design_rng_seed(seed))
        ).random(samples)
        scaled = lo + unit * (hi - lo)
        return Design("lhs", keys, tuple(_to_values(scaled, parameters)), bounds=tuple(bounds))
    if kind == "sobol":
        from SALib.sample import sobol

        problem = sobol_problem(keys, bounds)
        scaled = sobol.sample(
            problem, samples, calc_second_order=second_order, seed=_design_rng_seed(seed)
        )
        return Design(
            "sobol",
            keys,
            tuple(_to_values(scaled, parameters)),
            n_base=samples,
            second_order=second_order,
            bounds=tuple(bounds),
        )
    raise ValueError(f"unknown design {kind!r}")

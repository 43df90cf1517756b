"""What the checks of a mechanism share: a metric's values, their summary, a paired effect.

Each check runs a shipped scenario and its variants with the same seed and replicates, so
replicate r of each shares its random numbers (common random numbers; Law 2015, Simulation
Modeling and Analysis, ch. 11) and a difference is measured replicate by replicate. The
scripts beside this one (``burnout_levers.py``, ``sites_checks.py``,
``professionals_checks.py``, ``handoff_checks.py``, ``years_checks.py``) import it.
"""

from __future__ import annotations

import json

import numpy as np

from sim.model.metrics import interval


def values(result, metric: str) -> np.ndarray:
    """One metric of each replicate of an ensemble's result."""
    return np.asarray(result.metric_values(metric), float)


def summary(x, digits: int = 4) -> dict:
    """Mean and 95% Student-t interval of ``x``, rounded to ``digits``."""
    d = interval(np.asarray(x, float))
    return {
        "mean": round(d["mean"], digits),
        "ci": [round(d["ci_low"], digits), round(d["ci_high"], digits)],
    }


def paired(a, b, metric: str, digits: int = 4) -> dict:
    """``b - a`` replicate by replicate: mean, interval, and whether it lies above 0."""
    out = summary(values(b, metric) - values(a, metric), digits)
    out["above_0"] = bool(out["ci"][0] > 0)
    return out


def emit(out: dict, path: str | None) -> int:
    """Print a check's results as JSON and, given ``path``, write them there too; exit 0."""
    text = json.dumps(out, indent=2)
    print(text)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0

"""Paired runs on common random numbers, for directional tests of a mechanism.

A test changes one lever and compares two scenarios replicate by replicate: where their
policies agree they share their random numbers, so the difference of a metric is measured run
by run. :func:`z` is the mean paired difference over its standard error; a test asserts it is
beyond ``Z`` in the direction the mechanism names (``Z = 3``: a one-sided level of about 0.001
per assertion, with ``REPS`` replicates).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sim.ensemble.replicates import run_ensemble
from sim.model.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
REPS = 24
Z = 3.0

#: No random strain, judging error, life event, break or leaving: a peer's week is then
#: deterministic given their hours (their lasting vulnerability is one draw, by person).
NO_CHANCE_IN_A_PEERS_LIFE = {
    "wellbeing.strain_sd": 0.0,
    "wellbeing.assessment_error_sd": 0.0,
    "careers.overdose_deaths_per_year": 0.0,
    "careers.relapse_per_year": 0.0,
    "careers.housing_loss_per_year": 0.0,
    "careers.arrest_per_year": 0.0,
    "careers.breaks_per_year": 0.0,
    "careers.leave_other_work_per_year": 0.0,
    "careers.leave_health_per_year": 0.0,
    "careers.leave_moving_per_year": 0.0,
}


def small_baseline(seed: int, **overrides):
    """The baseline at 2,000 people for 26 weeks on ``seed``, with dotted-key overrides."""
    settings = {"population.size": 2000, "run.weeks": 26, "run.seed": seed}
    settings.update(overrides)
    return load_scenario(BASELINE, settings)


def values(scenario, metric: str, reps: int = REPS) -> np.ndarray:
    """One metric of each of ``reps`` replicates."""
    return run_ensemble(scenario, reps).metric_values(metric)


def z(diff: np.ndarray) -> float:
    """Mean over standard error of a paired difference (inf when it never varies)."""
    diff = diff[np.isfinite(diff)]
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    if se == 0.0:
        return math.copysign(math.inf, diff.mean()) if diff.mean() != 0 else 0.0
    return float(diff.mean() / se)


def more(a, b, metric: str, reps: int = REPS) -> float:
    """z of ``metric(b) - metric(a)``: positive when b gives more."""
    return z(values(b, metric, reps) - values(a, metric, reps))

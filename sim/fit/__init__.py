"""Fitting the model to a programme's figures, and searching for the best policy.

``outreach calibrate`` (:mod:`sim.fit.calibrate`) fits the ``[parameters]`` of a targets file
so that a scenario gives a programme's observed figures, and weighs prior draws into an
approximate-Bayesian posterior (:mod:`sim.fit.abc`). ``outreach optimize``
(:mod:`sim.fit.optimize`) searches decision parameters for the policies that do best within
constraints. Both use Optuna with its storage in the run's folder (:mod:`sim.fit.study`), run
their trials on the sweep's executors (:mod:`sim.fit.runs`) on common random numbers, and read
files validated by :mod:`sim.fit.spec`, whose ``[parameters]`` are a sweep spec's.

Nothing heavy (numba, optuna, matplotlib) is imported here.
"""

"""Parameter sweeps: experiment designs, executors, a resumable Parquet store and analysis.

A sweep spec (TOML, :mod:`sim.sweep.spec`) names a base scenario, the parameters to vary and a
design (:mod:`sim.sweep.design`: full grid, Latin hypercube, Sobol/Saltelli). Each run is a pure
function of (base scenario, point, replicate) (:func:`sim.sweep.executors.run_batch`), executed
by local worker processes or a Dask cluster (:mod:`sim.sweep.executors`), written to a Parquet
dataset as runs finish (:mod:`sim.sweep.store`) and summarised with intervals and sensitivity
indices (:mod:`sim.sweep.analyze`). ``outreach sweep`` is in :mod:`sim.cli.sweep`.

Nothing heavy (numba, dask, pyarrow, matplotlib) is imported here.
"""

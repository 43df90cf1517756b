"""Ensembles: many runs of the model and what they say together.

- :mod:`~sim.ensemble.replicates`: a scenario's replicates on their own random streams, run on
  threads, with summaries and 95% intervals (:func:`~sim.ensemble.replicates.run_ensemble`);
- :mod:`~sim.ensemble.compare`: scenarios run on common random numbers and their paired
  differences (:func:`~sim.ensemble.compare.run_comparison`);
- :mod:`~sim.ensemble.reach`: recruitment policies screened on the contact-propagation core,
  before the full model.

Each module imports only those listed before it. The text, tables and documents of a
comparison are :mod:`sim.output.comparison`'s: output reads ensembles, never the reverse.
Nothing heavy (numba, Mesa) is imported here.
"""

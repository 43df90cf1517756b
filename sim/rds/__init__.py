"""Respondent-driven sampling (RDS) on a scenario's world, and estimators tested against the truth.

- :mod:`sim.rds.survey`: a coupon-referral survey simulated on the world's graph (seeds, coupons,
  redemption, differential recruitment, degree misreporting), and the population's truth.
- :mod:`sim.rds.estimators`: prevalence by the naive share, RDS-I, RDS-II (Volz-Heckathorn) and
  Gile's successive sampling, with bootstrap intervals; population size by the multiplier
  method and Chapman's capture-recapture.
- :mod:`sim.rds.diagnostics`: wave-by-wave composition, recruitment homophily, convergence and
  bottleneck plots.
- :mod:`sim.rds.survey_files`: the survey folder (``sample.csv``, ``truth.json``, ``survey.json``).
"""

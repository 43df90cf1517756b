"""What the package writes, and how.

Text tables (:mod:`~sim.output.tables`), a comparison's tables and documents
(:mod:`~sim.output.comparison`), plots (:mod:`~sim.output.plots`), HTML and Markdown reports
(:mod:`~sim.output.reports`), and every file write, atomic, in one place
(:mod:`~sim.output.atomic`).
"""

"""The social graph: CSR form (:mod:`~sim.graphs.csr`), generators
(:mod:`~sim.graphs.generators`) and a user's own graph files (:mod:`~sim.graphs.files`)."""

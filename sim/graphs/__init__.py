"""The social graph of the hidden population.

:mod:`~sim.graphs.csr` holds a graph in compressed sparse rows; :mod:`~sim.graphs.generators` makes
one (community, configuration, small world); :mod:`~sim.graphs.graph_files` reads a user's own.
"""

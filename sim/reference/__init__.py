"""Plain-Python reference implementations: small, readable yardsticks for the numba engine."""

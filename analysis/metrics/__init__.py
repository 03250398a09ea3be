"""Metrics over a run's operations: each a small function whose name or docstring states its units."""

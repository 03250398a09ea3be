"""tier7: the chaos-and-load verification harness for plan 45-04 (Tier 7, hyperscale)."""

__version__ = "0.1.0"

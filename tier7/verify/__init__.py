"""`tier7 verify`: plan 45-04 end to end — phases of load, faults and analysis, then the plan's outputs."""

"""Plan 45-04's numbers and criteria: owned by the verdict engine (``analysis.plan``, ``analysis/plan.toml``);
re-exported here for the orchestration."""

from analysis.plan import CRITERIA, CRITERIA_BY_ID, PLAN_FILE, Criterion, load_plan, write_plan_copy

__all__ = ["CRITERIA", "CRITERIA_BY_ID", "PLAN_FILE", "Criterion", "load_plan", "write_plan_copy"]

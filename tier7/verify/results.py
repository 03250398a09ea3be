"""A criterion's outcome and the exit status: the verdict engine's (``analysis.criteria.result``,
``analysis.judge``), re-exported for the orchestration."""

from analysis.criteria.result import CriterionResult, phase_outcome
from analysis.judge import exit_status

__all__ = ["CriterionResult", "exit_status", "phase_outcome"]

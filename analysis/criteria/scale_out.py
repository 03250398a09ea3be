"""Auto-scaling: add 3 nodes, data rebalances within 5 minutes, cluster healthy.

Facts: facts/scaling.json (tier7/verify/criteria/scaling.py), its ``add`` operation: the rings and node
lists before and after, the driver call and admin call times, every distinct ``GET /v1/rebalance`` answer
until ``finished``, the placement reads (in the history) and the health check. Judged by
``analysis.criteria.scaling_op`` (rules there): +[scaling] nodes as one new group under load, every key
on the group the harness's own ring names for the new epoch, rebalance <= [scaling] rebalance_max_s,
healthy. The figure reported: seconds from the admin call to ``finished`` and to placement agreement.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from .result import CriterionResult
from .scaling_op import judge_operation


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    return judge_operation("scale-out", "add", facts, analysis)

"""Auto-scaling: remove 3 nodes gracefully, no data loss, cluster healthy.

Facts: facts/scaling.json, its ``remove`` operation (one of the original groups, drawn with the run's
seed, drained under load): rings and node lists before and after, the rebalance answers until
``finished``, the driver's stop of the group's nodes (``finish_error``, ``still_answering``), the placement
reads of every key on its final owner group (in the history) and the health check. Judged by
``analysis.criteria.scaling_op``: -[scaling] nodes (the drained group's), none still answering, every key
present on the group the harness's ring names (no loss), rebalance <= [scaling] rebalance_max_s, healthy.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from .result import CriterionResult
from .scaling_op import judge_operation


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    return judge_operation("scale-in", "remove", facts, analysis)

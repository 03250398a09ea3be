"""The judges of plan 45-04's criteria: one module per criterion, each ``judge(facts, analysis) ->
CriterionResult`` over a run folder's recorded facts (``analysis.facts.RunFacts``) and its analysis
(``analysis.run.Analysis``, or None when it could not run). ``analysis.judge.judge_run`` runs them."""

from collections.abc import Callable
from typing import Any

from ..facts import RunFacts
from . import contract, crdt, failover, federation, multi_raft, multi_region_write, preset, tenants, whole_run
from .result import CriterionResult

JudgeFn = Callable[[RunFacts, Any], CriterionResult]

JUDGES: dict[str, JudgeFn] = {
    "preset": preset.judge,
    "multi-raft": multi_raft.judge,
    "federation": federation.judge,
    "crdt": crdt.judge,
    "multi-region-write": multi_region_write.judge,
    "tenants": tenants.judge,
    "failover": failover.judge,
    "logs": whole_run.judge_logs,
    "linearizable": whole_run.judge_linearizable,
    "no-lost-writes": whole_run.judge_no_lost_writes,
    "contract": contract.judge,
}

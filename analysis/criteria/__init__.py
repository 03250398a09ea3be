"""The judges of plan 45-04's criteria: one module per criterion, each ``judge(facts, analysis) ->
CriterionResult`` over a run folder's recorded facts (``analysis.facts.RunFacts``) and its analysis
(``analysis.run.Analysis``, or None when it could not run). ``analysis.judge.judge_run`` runs them."""

from collections.abc import Callable
from typing import Any

from ..facts import RunFacts
from . import (
    cloud,
    contract,
    crdt,
    failover,
    federation,
    multi_raft,
    multi_region_write,
    preset,
    scale_in,
    scale_out,
    scaling_data_loss,
    sql,
    tenants,
    transport,
    whole_run,
)
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
    "sql": sql.judge,
    "cloud": cloud.judge,
    "scale-out": scale_out.judge,
    "scale-in": scale_in.judge,
    "scaling-data-loss": scaling_data_loss.judge,
    "transport": transport.judge,
}

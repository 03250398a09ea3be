"""End to end on the shared testbed: the verify phase "scaling" (seed keys, the recorded Locust load, +3 nodes
as a new group, the rebalance watched to ``finished``, placement read back with the harness's ring, then that
group drained again so the shared cluster ends with its own three groups), the final reads, the analysis and
the three judges: PASS on the healthy testbed. (Their FAIL cases: tests/test_scaling_judges.py on hand-made
facts; the testbed mutants rebalance-skips-last-batch / rebalance-routes-early in `tier7 selftest`.)"""

from __future__ import annotations

import io

from analysis.criteria import JUDGES
from analysis.facts import RunFacts
from analysis.plan import load_plan, write_plan_copy
from analysis.run import analyze
from analysis.verdict import Status
from tier7.verify import final_read, setup
from tier7.verify.context import RunContext
from tier7.verify.criteria import scaling
from tier7.verify.progress import Progress


def test_the_scaling_phase_passes_on_the_healthy_testbed(cluster, tmp_path):
    groups = sorted({n.group for n in cluster.nodes()})
    plan = load_plan()
    # smaller than the default run (the shared cluster, a short test): still above every evidence floor (the seed
    # keys, never written again, alone exceed the placement floor of 100 judged keys whatever the load writes)
    plan["scaling"].update(drain="added", load_before_s=1.0, seed_keys=110, placement_keys=150)
    plan["load"].update(users=8, spawn_rate=8)
    run = tmp_path / "run"
    write_plan_copy(run, plan)
    ctx = RunContext(run, plan, False, 7, cluster, Progress(run, stream=io.StringIO()))
    setup.snapshot_target(ctx)
    try:
        scaling.run(ctx)
        final_read.run(ctx)
    finally:
        ctx.history.close()
    assert sorted({n.group for n in cluster.nodes()}) == groups  # the added group was drained and removed
    facts = RunFacts(run)
    recorded = facts.get("scaling")
    assert recorded and not recorded.get("error") and not recorded.get("stopped_early"), recorded
    analysis = analyze(run)
    for name in ("scale-out", "scale-in", "scaling-data-loss"):
        result = JUDGES[name](facts, analysis)
        assert result.status is Status.PASS, (name, result.verdict.reason, result.verdict.evidence[:3])
    out = JUDGES["scale-out"](facts, analysis).verdict.figures
    assert out["rebalance_s"] is not None and out["ideal_moves"] > 0 and out["placement"]["wrong"] == 0
    assert {v.name: v.status for v in analysis.verdicts}["placement"] is Status.PASS  # epochs followed

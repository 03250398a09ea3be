"""End to end on the shared testbed: `tier7 load --profile crdt` (real Locust users in 3 regions on shared
CRDT keys), then the verify phase's final reads of every key on every node until they agree, then the CRDT
checker over the recorded history: PASS on the healthy testbed. (The mutants that must FAIL it run in
`tier7 selftest`, tier7/selftest/catalogue.toml; the checker's FAIL cases on hand-made histories are in
tests/test_crdt_checker.py and tests/test_crdt_criteria.py.)"""

from __future__ import annotations

import json
import time

from analysis.checkers.crdt import check_crdt
from analysis.load import read_history
from analysis.ops import crdt_operations
from analysis.verdict import Status
from tests.load_support import run_load
from tier7.client import RecordingClient
from tier7.history import HistoryWriter, history_path
from tier7.verify.criteria.crdt import crdt_keys, read_until_converged


def test_crdt_load_converges_and_the_checker_passes(cluster, tmp_path):
    run = tmp_path / "run"
    done = run_load(["--profile", "crdt", "--users", "24", "--spawn-rate", "24", "--duration", "4",
                     "--tenants", "1", "--crdt-keys", "2", "--target-file", str(cluster.cluster_file),
                     "--run-dir", str(run), "--no-final-read", "--quiet", "--seed", "5"],
                    TIER7_ADMIN_TOKEN=cluster.admin_token())
    assert done.returncode == 0, done.stderr[-2000:]
    stopped = time.monotonic_ns()
    keys = crdt_keys(run)
    assert len(keys) == 6  # 2 keys per type, all written
    history = HistoryWriter(history_path(run, "test-final"))
    admin = RecordingClient(cluster.nodes()[0].url, cluster.admin_token(), history, "test-admin")
    tokens = {t: admin.create_tenant(t).body["token"] for t in {t for t, _, _ in keys}}
    admin.close()
    final = read_until_converged(keys, cluster.nodes(), history, tokens, 30.0)
    history.close()
    assert final["converged"], final
    ops = crdt_operations(read_history(run))
    nodes = json.loads((run / "target" / "nodes.json").read_text())
    verdict = check_crdt(ops, nodes, stopped).verdict
    assert verdict.status is Status.PASS, (verdict.reason, verdict.evidence[:3])
    f = verdict.figures
    assert f["writers"] >= 20 and len(f["acknowledged_per_region"]) == 3 and f["replicas"] == 9
    assert f["acknowledged_writes"] > 100 and f["convergence_s"] is not None

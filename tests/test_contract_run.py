"""Criterion `contract` for real: the phase fuzzes the shared healthy cluster (one node per group) and the
judge PASSes its facts; the lone-surrogate body that used to answer 500 is a 400 now; and `tier7 verify
--only contract` on the crash mutant (crash_on_value_prefix) FAILs with a curl reproduction, exit 1."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx

from analysis.criteria import contract as contract_judge
from analysis.facts import RunFacts
from analysis.plan import load_plan
from analysis.verdict import Status
from tests.conftest import new_tenant
from tier7.verify.context import RunContext
from tier7.verify.criteria import contract
from tier7.verify.progress import Progress

ROOT = Path(__file__).resolve().parents[1]


def test_lone_surrogate_and_deep_json_are_400_not_500(cluster, http):
    _, token = new_tenant(cluster, http, "fzs")
    url = cluster.nodes()[0].url
    for body in (b'{"value":"\\ud800"}', b'{"value":"x","n":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                 b'{"value": ' + b"9" * 5000 + b"}"):
        answer = http.put(f"{url}/v1/kv/a", content=body, headers={"authorization": f"Bearer {token}",
                                                                    "content-type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json", answer.text
    assert httpx.get(f"{url}/v1/health", timeout=5).status_code == 200


def test_tenant_name_with_a_trailing_newline_is_refused(cluster, http):
    answer = http.post(f"{cluster.nodes()[0].url}/v1/tenants", json={"name": "fzname\n"},
                       headers={"authorization": f"Bearer {cluster.admin_token()}"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_tenant"


def test_the_phase_passes_on_the_healthy_cluster(cluster, tmp_path):
    """The phase for real (the fixed table and some drawn cases), judged from the folder it wrote."""
    plan = copy.deepcopy(load_plan())
    plan["contract"].update(max_requests=1300, time_budget_s=240)
    run = tmp_path / "run"
    (run / "target").mkdir(parents=True)
    (run / "target" / "nodes.json").write_text(json.dumps(
        [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in cluster.nodes()]))
    (run / "thresholds.toml").write_text("[evidence]\ncontract_min_requests = 1300\n")
    ctx = RunContext(run, plan, False, 4242, cluster, Progress(run, stream=io.StringIO()))
    try:
        contract.run(ctx)
    finally:
        ctx.history.close()
    facts = json.loads((run / "facts" / "contract.json").read_text())
    assert "error" not in facts, facts.get("error")
    assert facts["findings"] == [], facts["findings"]
    assert len({n["group"] for n in facts["nodes"]}) == 3 and facts["requests"] == 1300
    result = contract_judge.judge(RunFacts(run))
    assert result.status is Status.PASS, (result.verdict.reason, result.verdict.evidence[:3])
    text = (run / "facts" / "contract.json").read_text()
    assert cluster.admin_token() not in text and not any(t in text for t in ctx.tokens.values())


def test_verify_fails_the_crash_mutant_with_a_reproduction(tmp_path):
    status = tmp_path / "STATUS.md"
    done = subprocess.run(
        [sys.executable, "-m", "tier7", "verify", "--only", "contract", "--seed", "7", "--out", str(tmp_path / "r"),
         "--status-file", str(status), "--testbed-faults", json.dumps({"crash_on_value_prefix": "\u202e"})],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    run = (tmp_path / "r" / "latest").resolve()
    verdicts = json.loads((run / "verdicts.json").read_text())
    entries = verdicts["criteria"] if isinstance(verdicts, dict) and "criteria" in verdicts else verdicts
    entry = next(v for v in entries if v["id"] == "contract")
    assert entry["status"] == "FAIL" and "server_error" in entry["reason"], entry
    evidence = json.loads((run / "evidence" / "contract.json").read_text())
    crash = [f for f in evidence["findings"] if f["problem"] == "server_error"]
    assert crash and crash[0]["minimal_curl"].startswith("curl ") and "<redacted" in crash[0]["minimal_curl"]
    assert "\\xe2\\x80\\xae" in crash[0]["minimal_curl"] or "\\u202e" in crash[0]["minimal_curl"]

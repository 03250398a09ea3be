"""The `contract` judge on hand-made facts folders, both ways: a clean fuzz of enough requests PASSes;
a 5xx, an undocumented status, a foreign token accepted, a node that stopped answering FAIL (the first
three even when the phase itself saw no problem: the judge re-derives them from raw statuses); too few
requests, an unfuzzed group or operation are UNKNOWN; no facts is NOT RUN."""

from __future__ import annotations

from analysis.criteria import contract
from analysis.verdict import Status
from tests.test_verify_criteria import make_run

OPS = {"kv_put": [200, 400, 401, 403, 404, 413, 503, 504], "health": [200]}
NODES = [{"name": f"{g}-us-east", "group": g, "url": "http://127.0.0.1:1"} for g in ("g0", "g1", "g2")]


def observation(i: int, op: str = "kv_put", status: int = 200, token: str = "own", problems=None, **extra) -> dict:
    return {"i": i, "node": NODES[i % 3]["name"], "op": op, "method": "PUT" if op == "kv_put" else "GET",
            "path": "/v1/kv/a", "token_kind": token, "label": "drawn", "expect": "ok", "status": status,
            "code": None, "ms": 1.0, "problems": problems or [], **extra}


def facts(count: int = 2000, **override) -> dict:
    observations = [observation(i, "health" if i % 2 else "kv_put") for i in range(count)]
    data = {"seed": 1, "nodes": NODES, "groups": ["g0", "g1", "g2"], "document_operations": sorted(OPS),
            "documented_statuses": OPS, "secured_operations": ["kv_put"], "observations": observations,
            "down": {}, "findings": [], "skipped": {"time": 0}}
    data.update(override)
    return data


def judge(tmp_path, data):
    return contract.judge(make_run(tmp_path, {"contract": data}))


def test_clean_fuzz_passes(tmp_path):
    result = judge(tmp_path, facts())
    assert result.status is Status.PASS, result.verdict.reason
    assert "2000 requests" in result.measured


def test_a_500_fails_even_when_the_phase_saw_nothing(tmp_path):
    data = facts()
    data["observations"][10] = observation(10, status=500)  # problems: [] -- the judge must see it alone
    data["findings"] = [{"problem": "server_error", "op": "kv_put", "status": 500,
                         "minimal_curl": "curl -X PUT http://n/v1/kv/a --data-binary '{\"value\":\"\\ud800\"}'"}]
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL
    assert "server_error" in result.verdict.reason
    assert result.verdict.evidence[0]["reproduce"].startswith("curl -X PUT")


def test_undocumented_status_fails(tmp_path):
    data = facts()
    data["observations"][0] = observation(0, status=418)
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL and "undocumented_status" in result.verdict.reason


def test_foreign_token_success_fails(tmp_path):
    data = facts()
    data["observations"][0] = observation(0, status=200, token="foreign")
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL and "foreign_token_accepted" in result.verdict.reason


def test_phase_problems_fail(tmp_path):
    data = facts()
    data["observations"][4] = observation(4, status=200, problems=["schema"])
    assert judge(tmp_path, data).status is Status.FAIL


def test_node_down_fails(tmp_path):
    result = judge(tmp_path, facts(down={"g1-us-east": "stopped answering after case 7"}))
    assert result.status is Status.FAIL and "node down" in result.verdict.reason


def test_too_few_requests_is_unknown(tmp_path):
    result = judge(tmp_path, facts(count=1999))
    assert result.status is Status.UNKNOWN and "evidence floor 2000" in result.verdict.reason


def test_unfuzzed_group_or_operation_is_unknown(tmp_path):
    assert judge(tmp_path, facts(nodes=NODES[:2])).status is Status.UNKNOWN
    data = facts(document_operations=[*sorted(OPS), "kv_delete"])
    result = judge(tmp_path, data)
    assert result.status is Status.UNKNOWN and "kv_delete" in result.verdict.reason


def test_no_facts_is_not_run_and_a_broken_phase_fails(tmp_path):
    assert contract.judge(make_run(tmp_path, {})).status is Status.NOT_RUN
    assert judge(tmp_path, {"error": "cannot create the fuzz tenant"}).status is Status.FAIL

"""The `sql` judge on hand-made facts folders, both ways: right answers PASS; a wrong row, an error on the
healthy cluster, a TLP union that does not add up, a wrong answer or a non-explicit failure during the leader
kill FAIL; an uncertain record or too little evidence is UNKNOWN; no facts is NOT RUN. Routing figures are
reported from the facts."""

from __future__ import annotations

import copy

from analysis.criteria import sql
from analysis.verdict import Status
from tests.test_verify_criteria import make_run


def query(i: int, expected, rows=None, kinds=("int",), ordered=False, status=200, error=None) -> dict:
    return {"name": f"q{i}", "sql": f"SELECT {i}", "entry": "g0-us-east", "touches": "all groups",
            "kinds": list(kinds), "ordered": ordered, "status": status, "seconds": 0.1, "expected": expected,
            "rows": expected if rows is None and status == 200 else rows, "sources": [], "error": error}


def tlp(predicate: str, parts=None) -> dict:
    parts = parts or [["whole", 10, 55], ["true", 4, 10], ["false", 5, 40], ["null", 1, 5]]
    return {"predicate": predicate, "entry": "g1-eu-west", "status": 200, "seconds": 0.1, "rows": parts,
            "sources": [], "error": None}


def healthy() -> dict:
    queries = [query(i, [[i]]) for i in range(9)]
    queries.append(query(9, [["a", "1.5", 0.25], ["b", None, None]], rows=[["b", None, None], ["a", "1.500000",
                                                                                                0.25000001]],
                         kinds=("str", "dec", "float")))
    answers = [{"entry": "g0-us-east", "started_s": 0.1 * i, "seconds": 0.2, "status": 200, "rows": [[3000, 7, 2]],
                "sources": [], "error": None} for i in range(3)]
    answers.append({"entry": "g1-us-east", "started_s": 0.5, "seconds": 0.2, "status": 503, "rows": None,
                    "sources": None, "error": {"code": "sql_incomplete", "message": "g2: deadline"}})
    return {"tenant": "sql1", "requested_rows": 3000, "rows_loaded": 3000, "ingest_unacknowledged": 0,
            "ingest": [], "queries": queries, "tlp": [tlp(f"p{i}") for i in range(7)],
            "kill": {"group": "g2", "victim": "g2-eu-west", "window_s": 4.0, "sql": "SELECT ...",
                     "expected": [[3000, 7, 2]], "kinds": ["int", "int", "int"], "answers": answers,
                     "healthy_after": True},
            "kv_writes": [{"key": "k", "group": "g0", "quorum": {"members": ["g0-us-east", "g0-eu-west"]}},
                          {"key": "j", "group": "g1", "quorum": {"members": ["g1-us-east"]}}],
            "local_reads": [{"status": 200, "entry_region": "us-east", "served_region": "us-east"},
                            {"status": 200, "entry_region": "us-east", "served_region": "eu-west"}]}


def judge(tmp_path, data):
    return sql.judge(make_run(tmp_path, {"sql": data}))


def test_right_answers_pass_and_routing_is_reported(tmp_path):
    result = judge(tmp_path, healthy())
    assert result.status is Status.PASS, result.verdict.reason
    assert "10/10 suite queries" in result.measured and "1 explicit errors" in result.measured
    routing = result.verdict.figures["routing"]
    assert routing["local_in_region_share"] == 0.5 and routing["writes_naming_majority_quorum"] == 1
    assert [q["verdict"] for q in result.evidence_doc["queries"]] == ["PASS"] * 10


def test_a_wrong_row_fails(tmp_path):
    data = healthy()
    data["queries"][3]["rows"] = [[4]]
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL and "q3" in str(result.verdict.evidence)


def test_an_error_on_the_healthy_cluster_fails(tmp_path):
    data = healthy()
    data["queries"][0] = query(0, [[0]], status=503, error={"code": "sql_incomplete", "message": "x"})
    assert judge(tmp_path, data).status is Status.FAIL


def test_a_tlp_union_that_does_not_add_up_fails(tmp_path):
    data = healthy()
    data["tlp"][2] = tlp("p2", [["whole", 10, 55], ["true", 4, 10], ["false", 5, 40], ["null", 0, None]])
    result = judge(tmp_path, data)
    assert result.status is Status.FAIL and "p2" in str(result.verdict.evidence)


def test_during_the_kill_a_wrong_result_or_a_silent_failure_fails(tmp_path):
    wrong = healthy()
    wrong["kill"]["answers"][1]["rows"] = [[2000, 5, 1]]  # a partial result answered 200
    assert judge(tmp_path, wrong).status is Status.FAIL
    silent = healthy()
    silent["kill"]["answers"][3] = {**silent["kill"]["answers"][3], "status": None, "error": "ReadTimeout"}
    assert judge(tmp_path, silent).status is Status.FAIL
    bare = healthy()
    bare["kill"]["answers"][3] = {**bare["kill"]["answers"][3], "status": 500, "error": "oops"}
    assert judge(tmp_path, bare).status is Status.FAIL


def test_uncertain_record_or_too_little_evidence_is_unknown(tmp_path):
    for change in (lambda d: d.update(ingest_unacknowledged=1), lambda d: d.update(rows_loaded=10),
                   lambda d: d.update(queries=d["queries"][:3]), lambda d: d.update(tlp=[]),
                   lambda d: d.update(kill={"not_applicable": "target cannot kill nodes"}),
                   lambda d: d["kill"].update(answers=[])):
        data = copy.deepcopy(healthy())
        change(data)
        result = judge(tmp_path, data)
        assert result.status is Status.UNKNOWN, (result.status, result.verdict.reason)


def test_no_facts_is_not_run_and_a_phase_error_fails(tmp_path):
    assert sql.judge(make_run(tmp_path)).status is Status.NOT_RUN
    assert judge(tmp_path, {"error": "cannot create tenant"}).status is Status.FAIL

"""The contract fuzzer's pure parts: the expectations it computes from the document (never asked of the
target), the answer checks both ways, seeded generation, the edge table's coverage of every limit, and
reproductions that never carry a token."""

from __future__ import annotations

import json

import pytest

from tier7.fuzz import cases, check, document, edges
from tier7.fuzz.cases import Case, World, json_body, kv_case
from tier7.fuzz.fuzzer import Budget, Fuzzer, Node, Tokens, draw_cases, shrink

WORLD = World("fzA", "fzB", 256, 65536, 1 << 20, 64)


@pytest.fixture(scope="module")
def doc():
    return document.load()


@pytest.fixture(scope="module")
def ops(doc):
    return {op.id: op for op in document.operations(doc)}


def problems(ops, doc, case, status, body, content_type="application/json"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return check.problems(case, ops.get(case.op), status, raw, content_type, document.schema(doc, "Error"))


PUT_OK = {"key": "k", "version": 3, "previous": None, "node": "g0-a", "group": "g0", "leader": "g0-a"}
ERROR = {"error": {"code": "invalid_json", "message": "x"}, "node": "g0-a"}


def test_expectations_follow_the_document(ops):
    put = ops["kv_put"]
    assert kv_case(put, WORLD, "k", json_body({"value": "x" * 65536})).expect == "ok"
    assert kv_case(put, WORLD, "k", json_body({"value": "x" * 65537})).expect == "reject"
    assert kv_case(put, WORLD, "k", json_body({"value": "\U0001f600" * 16384})).expect == "ok"
    assert kv_case(put, WORLD, "k", json_body({"value": "\ud800"})).expect == "reject"
    assert kv_case(put, WORLD, "k", b'{"value": "\\ud83d\\ude00"}').expect == "ok"  # a pair is one character
    assert kv_case(put, WORLD, "k", json_body({"value": 5})).expect == "reject"
    assert kv_case(put, WORLD, "\u00e9" * 128, json_body({"value": "v"})).expect == "ok"
    assert kv_case(put, WORLD, "\u00e9" * 128 + "k", json_body({"value": "v"})).expect == "reject"
    assert kv_case(put, WORLD, "", json_body({"value": "v"})).op == "no_such_path"
    good = kv_case(put, WORLD, "a/b", json_body({"value": "v"}))
    assert good.path == "/v1/kv/a%2Fb" and good.readback == "v"
    tenant_put = ops["tenant_kv_put"]
    foreign = kv_case(tenant_put, WORLD, "k", json_body({"value": "v"}), token="foreign")
    assert foreign.expect == "reject" and foreign.path.startswith("/v1/tenants/fzA/")
    assert kv_case(put, WORLD, "k", json_body({"value": "v"}), token="foreign").token == "other_own"
    assert kv_case(tenant_put, WORLD, "k", json_body({"value": "v"}), tenant="fzB").expect == "reject"
    for kind in set(cases.FOREIGN_KINDS) - {"foreign"}:  # B's token on /v1/kv is B's own space
        assert kv_case(put, WORLD, "k", json_body({"value": "v"}), token=kind).expect == "reject"


def test_checks_fail_what_the_contract_forbids(ops, doc):
    put = kv_case(ops["kv_put"], WORLD, "k", json_body({"value": "v"}))
    assert problems(ops, doc, put, 200, PUT_OK) == []
    assert "server_error" in problems(ops, doc, put, 500, {"error": {"code": "internal", "message": "boom"}})
    assert "undocumented_status" in problems(ops, doc, put, 418, ERROR)
    assert "schema" in problems(ops, doc, put, 200, {"key": "k"})  # no version, no previous...
    assert "schema" in problems(ops, doc, put, 400, {"error": "flat string"})
    assert "schema" in problems(ops, doc, put, 200, b"<html>", "text/html")
    assert "valid_refused" in problems(ops, doc, put, 400, ERROR)
    bad = kv_case(ops["kv_put"], WORLD, "k", json_body({"value": 5}))
    assert problems(ops, doc, bad, 400, {**ERROR, "error": {"code": "wrong_type", "message": "m"}}) == []
    assert "invalid_accepted" in problems(ops, doc, bad, 200, PUT_OK)
    foreign = kv_case(ops["tenant_kv_put"], WORLD, "k", json_body({"value": "v"}), token="foreign")
    assert "foreign_token_accepted" in problems(ops, doc, foreign, 200, PUT_OK)
    assert problems(ops, doc, foreign, 403, {**ERROR, "error": {"code": "forbidden", "message": "m"}}) == []
    get = kv_case(ops["kv_get"], WORLD, "k", None)
    assert problems(ops, doc, get, 404, {**ERROR, "error": {"code": "not_found", "message": "m"}}) == []
    assert check.problems(get, ops["kv_get"], None, b"", "", {}, "reset") == ["no_answer"]
    method = Case("no_such_method", "PATCH", "/v1/health", "own", expect="reject")
    assert problems(ops, doc, method, 405, {**ERROR, "error": {"code": "method_not_allowed", "message": "m"}}) == []
    assert "undocumented_status" in problems(ops, doc, method, 200, {"status": "ok"})


def test_generation_is_seeded(ops):
    operations = list(ops.values())
    first = [c.describe() for c in draw_cases(operations, WORLD, 60, seed=7)]
    again = [c.describe() for c in draw_cases(operations, WORLD, 60, seed=7)]
    other = [c.describe() for c in draw_cases(operations, WORLD, 60, seed=8)]
    assert first == again and first != other and len(first) == 60


def test_edge_table_covers_every_limit_and_edge(ops):
    table = edges.edge_cases(list(ops.values()), WORLD)
    labels = {(c.op, c.label) for c in table}
    for op in ("kv_put", "tenant_kv_put", "kv_cas", "tenant_kv_cas"):
        assert (op, "value of 65536 bytes ('x')") in labels and (op, "value of 65536 bytes ('x') + 1") in labels
        assert (op, f"body of {1 << 20} bytes + 1") in labels and (op, "lone surrogate '\\ud800'") in labels
    assert any(c.label == "key of 256 bytes ('\\U0001f600') + 1" for c in table)
    assert any(c.op == "no_such_method" for c in table) and any(c.label == "65536-byte header" for c in table)
    assert {c.token for c in table} >= set(cases.FOREIGN_KINDS)
    assert any(c.op == "crdt_write" for c in table) == ("crdt_write" in ops)


def test_reproductions_never_carry_the_token(doc):
    tokens = Tokens("tk.fzA.secretmac0001", "tk.fzB.othermac0002", "admin-secret-token")
    fuzzer = Fuzzer(doc, [Node("g0-a", "g0", "http://127.0.0.1:1")], tokens, WORLD, Budget(), seed=1)
    for kind in ("own", "foreign", "admin", "forged", "swapped", "basic", "none"):
        line = fuzzer.curl(fuzzer.nodes[0], Case("kv_put", "PUT", "/v1/kv/a", kind, b'{"value":"\\ud800"}'))
        assert "secretmac" not in line and "othermac" not in line and "admin-secret" not in line
        assert line.startswith("curl ") and "/v1/kv/a" in line
    assert "<redacted own token>" in fuzzer.curl(fuzzer.nodes[0], Case("kv_put", "PUT", "/v1/kv/a", "own"))


def test_shrink_offers_smaller_bodies():
    case = Case("kv_put", "PUT", "/v1/kv/a", "own", json_body({"value": "\u202e" + "x" * 40, "extra": 1}))
    smaller = shrink(case)
    assert smaller and all(len(c.body) < len(case.body) for c in smaller)
    assert any(json.loads(c.body) == {"value": "\u202e" + "x" * 40} for c in smaller)


def test_crash_switch_is_validated():
    from testbed.faults import FaultSwitchError, validate

    assert validate({"crash_on_value_prefix": "\u202e"}) == {"crash_on_value_prefix": "\u202e"}
    for bad in (5, "", None, True):
        with pytest.raises(FaultSwitchError, match="must be a non-empty string"):
            validate({"crash_on_value_prefix": bad})


def test_every_documented_client_operation_is_drawn_and_destructive_ones_only_with_refused_tokens():
    """A route documented later (SQL, blobs, rebalance...) is fuzzed without a hand-written strategy; an
    operation marked x-fuzz: foreign-tokens-only never gets a token that could make it act."""
    from tier7.fuzz.generic import FOREIGN_ONLY, generic_strategy

    ops = [op for op in document.operations(document.load()) if not op.internal]
    drawn = {c.op for c in draw_cases(ops, WORLD, 1500, seed=7)}
    assert {op.id for op in ops} <= drawn, sorted({op.id for op in ops} - drawn)
    for op in ops:
        if op.extra.get("x-fuzz") != FOREIGN_ONLY:
            continue
        seen = collect(generic_strategy(op, WORLD))
        assert seen and all(c.token in cases.FOREIGN_KINDS and c.expect == "reject" for c in seen), op.id


def collect(strategy, examples: int = 60) -> list:
    """``examples`` draws of ``strategy`` (Hypothesis, no database)."""
    from hypothesis import HealthCheck, given, settings

    seen: list = []

    @settings(max_examples=examples, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def draw(case):
        seen.append(case)

    draw()
    return seen

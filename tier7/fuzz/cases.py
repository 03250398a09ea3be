"""Requests made from the contract document: a fixed edge table (every limit at and over, every unicode
edge case, every bad token, every method a path does not list) and Hypothesis strategies that draw
more of the same kinds, seeded. Each request carries the harness's own expectation, computed from the
document's rules (never asked of the target):

- ``ok``: valid input with the right token, must succeed (2xx, or the operation's benign 404/409);
- ``reject``: bad input or a token that must not work, must get a 4xx;
- ``any``: only the contract's general rules apply (no 5xx, a documented status, the node keeps answering).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from .document import Operation

# Token kinds. ``own``: tenant A's token; ``admin``: the admin token; every other kind must never let a
# data call succeed ("foreign": tenant B's valid token on A's explicit path; "forged": A's name with a MAC
# this cluster never issued; "swapped": B's MAC under A's name; "garbage"; "basic": not a bearer scheme;
# "empty": "Bearer " and nothing; "none": no Authorization header).
FOREIGN_KINDS = ("foreign", "forged", "swapped", "garbage", "basic", "empty", "none")
TOKEN_KINDS = ("own", "admin", *FOREIGN_KINDS)

# One character of each awkward kind: NUL and C0/C1 controls, combining marks, bidi controls and RTL
# letters, 4-byte characters (astral plane, the last code point), BOM, non-characters, line separators.
EDGE_CHARS = ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\u0301", "e\u0301", "\u20dd", "\u202e", "\u200f",
              "\u05d0", "\u0627\u0644", "\U0001f600", "\U0001f469\u200d\U0001f4bb", "\U0010ffff", "\ufeff",
              "\ufffe", "\uffff", "\u2028", "\u2029", "\\", '"', "/", "%", "%2F", "?", "#", " ", "\t", "\n",
              "..", "\u0130", "\u00df", "\ufdd0", "\U000e0001"]
# Strings that are valid JSON escapes but not Unicode: must be refused (400), never stored, never a 500.
LONE_SURROGATES = ["\ud800", "a\udfff", "\udc00\ud800", "x\ud83d"]


@dataclass
class Case:
    """One request. ``path`` is raw (percent-encoded, with any query); ``token`` a kind of TOKEN_KINDS
    (the fuzzer puts the real token in when sending); ``body`` raw bytes or None."""

    op: str                     # operation id, or "no_such_method" / "no_such_path" / "transport"
    method: str
    path: str
    token: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    label: str = ""             # what it exercises, in words
    expect: str = "any"         # ok | reject | any
    readback: str | None = None  # a valid PUT's value, read back right after (stateful check)
    space: str | None = None     # "<tenant>/<key>" a KV call addresses: calls on one key go one at a time

    def describe(self) -> dict[str, Any]:
        return {"op": self.op, "method": self.method, "path": self.path[:300], "token_kind": self.token,
                "label": self.label, "expect": self.expect,
                "body_bytes": None if self.body is None else len(self.body)}


@dataclass(frozen=True)
class World:
    """What the cases address: tenant A (own) and B (foreign) and the document's limits (bytes)."""

    tenant: str
    other: str
    max_key: int
    max_value: int
    max_body: int
    max_tenant: int


def enc(segment: str) -> str:
    """A path segment percent-encoded as UTF-8 (everything but letters and digits, so ``/`` is %2F);
    lone surrogates are sent as their (invalid) UTF-8 bytes."""
    # "." too: a client or proxy may resolve a raw "/v1/kv/.." as a dot segment
    return quote(segment.encode("utf-8", "surrogatepass"), safe="").replace(".", "%2E")


def parsed(body: bytes | None) -> tuple[bool, Any]:
    """(is a JSON object of valid Unicode, the object) as the contract reads a body."""
    if body is None:
        return False, None
    try:
        data = json.loads(body)
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False, None
    return isinstance(data, dict), data


TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def key_valid(key: str, world: World) -> bool | None:
    """Is ``key`` a valid key (1..max bytes of UTF-8)? None for a key with a lone surrogate: it cannot be
    sent as UTF-8 and what a node makes of its bytes is its own business."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return None
    return 1 <= size <= world.max_key


def value_valid(value: Any, world: World) -> bool:
    return isinstance(value, str) and len(value.encode("utf-8")) <= world.max_value


def tenant_valid(name: Any, world: World) -> bool:
    return (isinstance(name, str) and TENANT_RE.fullmatch(name) is not None
            and len(name.encode("utf-8")) <= world.max_tenant)


def body_expect(op: Operation, body: bytes | None, world: World) -> tuple[str, str | None]:
    """(expectation, value a PUT stores) of a KV call's body alone."""
    if op.body is None:
        return "ok", None
    if body is not None and len(body) > world.max_body:
        return "reject", None
    is_object, data = parsed(body)
    if not is_object or not value_valid(data.get("value"), world):
        return "reject", None
    if op.id.endswith("kv_cas"):
        if "expected" not in data:
            return "reject", None
        expected = data["expected"]
        if expected is not None and not isinstance(expected, str):
            return "reject", None
        # an over-long `expected` can never match: 400 or 409, the contract does not say which
        return ("ok" if expected is None or value_valid(expected, world) else "any"), None
    return "ok", data["value"]


def kv_path(op: Operation, key: str, tenant: str | None) -> str:
    head = f"/v1/tenants/{enc(tenant)}/kv/" if tenant is not None else "/v1/kv/"
    return head + enc(key) + ("/cas" if op.template.endswith("/cas") else "")


def json_body(obj: Any, ascii_only: bool = True) -> bytes:
    text = json.dumps(obj, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


def kv_case(op: Operation, world: World, key: str, body: bytes | None, token: str = "own",
            tenant: str | None = None, query: str = "", label: str = "") -> Case:
    """A KV call by ``token`` on ``key`` (of ``tenant`` on the explicit path form, default A's); the
    expectation follows from the token, the tenant addressed, the key, the query and the body."""
    explicit = "{tenant}" in op.template
    addressed = (tenant if tenant is not None else world.tenant) if explicit else None
    if token == "foreign" and not explicit:
        token = "other_own"  # B's token on /v1/kv/...: B's own key space, a legitimate call
    if token == "foreign":
        addressed = world.tenant  # B's valid token on A's explicit path: must be refused
    expect, readback = body_expect(op, body, world)
    valid_key = key_valid(key, world)
    if valid_key is False:
        expect = "reject"
    elif valid_key is None and expect == "ok":
        expect = "any"
    if op.method == "GET" and query and expect == "ok":
        consistency = query.partition("consistency=")[2]
        if "consistency=" in query and consistency not in ("linearizable", "local"):
            expect = "reject"
    if token == "admin" or token in FOREIGN_KINDS:
        expect = "reject"
    elif explicit and addressed != (world.other if token == "other_own" else world.tenant):
        expect = "reject"
    path = kv_path(op, key, addressed) + query
    if not key:  # "/v1/kv/" names no key: a path the contract does not have
        return Case("no_such_path", op.method, path, token, body, label=label or "empty key", expect="reject")
    space = f"{addressed if explicit else (world.other if token == 'other_own' else world.tenant)}/{key}"
    return Case(op.id, op.method, path, token, body, label=label, expect=expect,
                readback=readback if op.method == "PUT" and expect == "ok" else None, space=space)


CRDT_OPS = {"counter": ("inc",), "set": ("add", "remove"), "register": ("set",)}
MAX_DELTA = 2 ** 53


def crdt_body_valid(kind: str, body: bytes | None, world: World) -> bool:
    """Is ``body`` a valid CRDT write of ``kind`` (docs/contract.md, CRDTs v2)?"""
    if body is None or len(body) > world.max_body:
        return False
    is_object, data = parsed(body)
    if not is_object or kind not in CRDT_OPS:
        return False
    op_id = data.get("op_id")
    if not isinstance(op_id, str) or not 1 <= len(op_id.encode("utf-8")) <= world.max_key:
        return False
    if data.get("op") not in CRDT_OPS[kind]:
        return False
    if kind == "counter":
        delta = data.get("delta")
        return isinstance(delta, int) and not isinstance(delta, bool) and abs(delta) <= MAX_DELTA
    return value_valid(data.get("element" if kind == "set" else "value"), world)


def crdt_case(op: Operation, world: World, kind: str, key: str, body: bytes | None, token: str = "own",
              label: str = "") -> Case:
    """A CRDT read or write (or the key list when ``op`` is crdt_list) by ``token``."""
    if op.id == "crdt_list":  # "foreign" here: B's token listing B's own keys, a legitimate call
        return Case(op.id, "GET", "/v1/crdt", "other_own" if token == "foreign" else token, label=label,
                    expect="ok" if token in ("own", "other_own", "foreign") else "reject")
    path = f"/v1/crdt/{enc(kind)}/{enc(key)}"
    if not key or not kind:
        return Case("no_such_path", op.method, path, token, body, label=label or "empty segment", expect="reject")
    valid_key = key_valid(key, world)
    good = kind in CRDT_OPS and valid_key is not False and (op.method == "GET" or crdt_body_valid(kind, body, world))
    expect = "ok" if good and valid_key else "any" if good else "reject"
    if token not in ("own", "other_own", "foreign"):  # "foreign" here: B's token on B's own CRDT keys
        expect = "reject"
    return Case(op.id, op.method, path, "other_own" if token == "foreign" else token, body, label=label,
                expect=expect)


# -- Hypothesis strategies ---------------------------------------------------------------------------


def texts(max_bytes: int) -> st.SearchStrategy[str]:
    """Strings of every awkward kind, including ones at and just over ``max_bytes`` of UTF-8."""
    small = st.text(alphabet=st.characters(codec="utf-8"), max_size=24)
    edged = st.builds(lambda a, e, b: a + e + b, st.text(max_size=6), st.sampled_from(EDGE_CHARS),
                      st.text(max_size=6))
    unit = st.sampled_from(["x", "\u00e9", "\u20ac", "\U0001f600"])
    sized = st.builds(lambda u, extra: u * (max_bytes // len(u.encode())) + "x" * extra, unit,
                      st.sampled_from([0, 0, 1]))
    return st.one_of(small, edged, st.sampled_from(EDGE_CHARS), sized, st.just(""))


def bodies(fields: dict[str, st.SearchStrategy[Any]], world: World) -> st.SearchStrategy[bytes]:
    """Request bodies: valid objects of ``fields``, and every kind of broken one."""
    valid = st.fixed_dictionaries(fields)
    extra = st.fixed_dictionaries(fields, optional={"extra": st.one_of(st.integers(), st.text(max_size=8)),
                                                    "\u202eodd key": st.none()})
    wrong_type = st.sampled_from([1, -1, 1.5, True, False, None, [], {}, ["x"], {"x": "y"}])
    broken = st.builds(lambda d, name, bad: {**d, name: bad}, valid, st.sampled_from(sorted(fields)), wrong_type)
    missing = st.builds(lambda d, name: {k: v for k, v in d.items() if k != name}, valid,
                        st.sampled_from(sorted(fields)))
    objects = st.one_of(valid, valid, extra, broken, missing)
    encoded = st.builds(json_body, objects, st.booleans())
    raw = st.sampled_from([b"", b" ", b"null", b"[]", b'"value"', b"1", b"{", b'{"value": "x"',
                           b'{"value": "\\ud800"}', b'{"value": "\\uZZZZ"}', b"\xff\xfe", b'{"value": "\xc3"}',
                           b'{"value": NaN}', b'{"value": 1e999999}', b'{"value": ' + b"9" * 5000 + b"}",
                           b"[" * 20000 + b"]" * 20000, b'{"value": "x", "value": 1}', b"\x00"])
    return st.one_of(encoded, encoded, encoded, raw)


def strategy(operations: list[Operation], world: World) -> st.SearchStrategy[Case]:
    """Cases of every documented operation, weighted towards the KV calls that write."""
    by_id = {op.id: op for op in operations}
    key = st.one_of(texts(world.max_key), st.sampled_from(["k", "a/b", "..", "\x00", "\u202ekey"]))
    value = texts(world.max_value)
    tenant_names = st.one_of(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,70}\Z"), texts(world.max_tenant))

    kv_ops = sorted(i for i in by_id if "kv_" in i)
    # strategies are built once (building them inside a draw costs Hypothesis a validation each time)
    body_of: dict[str, st.SearchStrategy[bytes]] = {}
    for op_id in kv_ops:
        op = by_id[op_id]
        if op.body is not None:
            fields: dict[str, Any] = {"value": value}
            if op.id.endswith("kv_cas"):
                fields["expected"] = st.one_of(st.none(), value)
            body_of[op_id] = bodies(fields, world)
    tenant_bodies = bodies({"name": tenant_names}, world)
    kv_tokens = st.sampled_from(["own"] * 6 + list(TOKEN_KINDS))
    kv_tenants = st.sampled_from([None, None, None, world.other, "nobody"])
    get_queries = st.sampled_from(["", "", "?consistency=local", "?consistency=linearizable",
                                   "?consistency=eventual", "?consistency=LOCAL", "?x=1"])

    @st.composite
    def kv(draw: Any) -> Case:
        op = by_id[draw(st.sampled_from(kv_ops))]
        body = draw(body_of[op.id]) if op.id in body_of else None
        query = draw(get_queries) if op.method == "GET" else ""
        return kv_case(op, world, draw(key), body, draw(kv_tokens), draw(kv_tenants), query, "drawn")

    @st.composite
    def tenants(draw: Any) -> Case:
        name = draw(tenant_names)
        token = draw(st.sampled_from(["admin", "admin", "admin", "own", "none", "garbage"]))
        body = json_body({"name": name}, draw(st.booleans()))
        if draw(st.integers(0, 3)) == 0:
            body = draw(tenant_bodies)
        is_object, data = parsed(body)
        good = token == "admin" and is_object and tenant_valid(data.get("name"), world)
        return Case("create_tenant", "POST", "/v1/tenants", token, body, label="drawn",
                    expect="ok" if good else "reject")

    @st.composite
    def placement(draw: Any) -> Case:
        tenant, k = draw(texts(world.max_tenant)), draw(key)
        parts = [f"tenant={enc(tenant)}"] * draw(st.integers(0, 1)) + [f"key={enc(k)}"] * draw(st.integers(0, 1))
        valid = key_valid(k, world)
        missing = len(parts) < 2 or not tenant  # an empty parameter is dropped, so it is missing
        expect = "reject" if missing or valid is False else "ok" if valid else "any"
        return Case("placement", "GET", "/v1/ring/placement?" + "&".join(parts), "none", label="drawn",
                    expect=expect)

    plain = st.builds(lambda op, tok: Case(op.id, "GET", op.template, tok, label="drawn", expect="ok"),
                      st.sampled_from([op for op in operations if op.method == "GET" and not op.path_params
                                       and not op.query and not op.secured]), st.sampled_from(TOKEN_KINDS))
    choices = [kv(), kv(), kv(), kv(), tenants(), placement(), plain]
    from .generic import generic_strategy, uncovered  # generic imports this module's helpers

    covered = {*kv_ops, "create_tenant", "placement", "crdt_list", "crdt_read", "crdt_write",
               *(op.id for op in operations if op.method == "GET" and not op.path_params and not op.query
                 and not op.secured)}
    others = uncovered(operations, covered)
    if others:
        choices += [st.one_of(*[generic_strategy(op, world) for op in others])] * 2
    crdt_ops = [by_id[i] for i in ("crdt_list", "crdt_read", "crdt_write") if i in by_id]
    if crdt_ops:
        kinds = st.sampled_from(["counter", "set", "register", "counter", "set", "register", "bogus", "Set"])
        ops_of = st.sampled_from(["inc", "add", "remove", "set", "dec"])
        deltas = st.one_of(st.integers(-10, 10), st.sampled_from([MAX_DELTA, MAX_DELTA + 1, -MAX_DELTA - 1,
                                                                    10 ** 30, 1.5, True, "1", None]))
        op_ids = st.one_of(st.uuids().map(str), texts(world.max_key))
        crdt_body = bodies({"op": ops_of, "op_id": op_ids, "delta": deltas, "element": value, "value": value},
                           world)
        crdt_tokens = st.sampled_from(["own"] * 6 + list(TOKEN_KINDS))

        @st.composite
        def crdt(draw: Any) -> Case:
            op = draw(st.sampled_from(crdt_ops))
            body = draw(crdt_body) if op.method == "POST" else None
            return crdt_case(op, world, draw(kinds), draw(key), body, draw(crdt_tokens), "drawn")

        choices += [crdt(), crdt()]
    return st.one_of(*choices)

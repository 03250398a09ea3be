"""The fixed part of the fuzz: every limit at and just over, every unicode edge case, every bad token,
every method a documented path does not list, unknown paths, huge headers and paths. Sent first, so a
run of any budget covers them; the Hypothesis-drawn cases come after."""

from __future__ import annotations

import re

from .cases import (
    EDGE_CHARS,
    FOREIGN_KINDS,
    LONE_SURROGATES,
    MAX_DELTA,
    Case,
    World,
    crdt_case,
    enc,
    json_body,
    kv_case,
)
from .document import METHODS, Operation

EXTRA_METHODS = ("PATCH", "OPTIONS", "HEAD", "TRACE", "FOO")


def _sized(unit: str, size: int) -> str:
    """``unit`` repeated to exactly ``size`` bytes of UTF-8 when it divides, else just under, then 'x's."""
    count = size // len(unit.encode())
    return unit * count + "x" * (size - count * len(unit.encode()))


def value_cases(op: Operation, world: World) -> list[Case]:
    """A write operation's bodies: sizes at and over the limits, unicode edges, wrong types, broken JSON."""
    cas = op.id.endswith("kv_cas")

    def body(value: object, **extra: object) -> bytes:
        return json_body({**({"expected": None} if cas else {}), "value": value, **extra})

    cases: list[tuple[str, bytes]] = []
    for unit in ("x", "\u00e9", "\u20ac", "\U0001f600"):
        cases += [(f"value of {world.max_value} bytes ({unit!a})", body(_sized(unit, world.max_value))),
                  (f"value of {world.max_value} bytes ({unit!a}) + 1", body(_sized(unit, world.max_value) + "x"))]
    cases += [(f"edge character {c!a}", body(c)) for c in EDGE_CHARS]
    cases += [(f"edge character {c!a} raw UTF-8", json_body({"value": c, **({"expected": None} if cas else {})},
                                                             ascii_only=False)) for c in EDGE_CHARS[:12]]
    cases += [(f"lone surrogate {s!a}", body(s)) for s in LONE_SURROGATES]
    cases += [("surrogate pair as escapes", b'{"value": "\\ud83d\\ude00", "expected": null}')]
    cases += [(f"value of type {type(v).__name__}", body(v)) for v in (1, 1.5, True, None, [], {"a": "b"})]
    cases += [("extra fields", body("v", extra=1, nested={"deep": ["x"]})), ("empty value", body(""))]
    cases += [("missing value", json_body({"expected": None} if cas else {"other": "x"}))]
    pad = world.max_body - len(body("v", pad=""))
    cases += [(f"body of exactly {world.max_body} bytes", body("v", pad="p" * pad)),
              (f"body of {world.max_body} bytes + 1", body("v", pad="p" * (pad + 1)))]
    cases += [(name, raw) for name, raw in (
        ("empty body", b""), ("JSON null", b"null"), ("JSON array", b"[]"), ("JSON string", b'"v"'),
        ("truncated JSON", b'{"value": "x"'), ("bad escape", b'{"value": "\\uZZZZ"}'),
        ("invalid UTF-8", b'{"value": "\xff\xfe"}'), ("NaN", b'{"value": NaN}'), ("huge float", b'{"value": 1e999999}'),
        ("5000-digit integer", b'{"value": ' + b"9" * 5000 + b"}"), ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("deep nesting in a field", b'{"value": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("NUL byte body", b"\x00"), ("duplicate field", b'{"value": "x", "value": 1, "expected": null}'),
        ("BOM before JSON", b'\xef\xbb\xbf{"value": "x", "expected": null}'))]
    if cas:
        cases += [("expected wrong type", json_body({"expected": 5, "value": "v"})),
                  ("expected missing", json_body({"value": "v"})),
                  ("expected lone surrogate", json_body({"expected": "\udfff", "value": "v"})),
                  ("expected over the limit", json_body({"expected": "x" * (world.max_value + 1), "value": "v"}))]
    # a key per case: the cases run in parallel and each valid write is read back
    return [kv_case(op, world, f"fz-v{number}", raw, label=label) for number, (label, raw) in enumerate(cases)]


def key_cases(op: Operation, world: World) -> list[Case]:
    """Keys at and over the byte limit, in every kind of character."""
    keys = [("1-byte key", "k")]
    for unit in ("k", "\u00e9", "\U0001f600"):
        keys += [(f"key of {world.max_key} bytes ({unit!a})", _sized(unit, world.max_key)),
                 (f"key of {world.max_key} bytes ({unit!a}) + 1", _sized(unit, world.max_key) + "k")]
    keys += [(f"key {c!a}", c) for c in EDGE_CHARS]
    keys += [("empty key", ""), ("10 KB key", "k" * 10_000)]
    body = json_body({"expected": None, "value": "v"}) if op.body else None
    return [kv_case(op, world, key, body, label=label) for label, key in keys]


def token_cases(op: Operation, world: World) -> list[Case]:
    """Every token kind on the operation (own and foreign tenants, explicit path forms)."""
    body = json_body({"expected": None, "value": "v"}) if op.body else None
    out = [kv_case(op, world, "fz-token", body, token=kind, label=f"token {kind}")
           for kind in ("own", "admin", *FOREIGN_KINDS)]
    if "{tenant}" in op.template:
        out += [kv_case(op, world, "fz-token", body, tenant=name, label=f"own token on tenant {name!a}")
                for name in (world.other, "nobody", "\u202eevil", "a" * 65)]
    return out


def method_cases(operations: list[Operation], world: World) -> list[Case]:
    """Each documented path with every method it does not list: 405 (or a 4xx from the HTTP layer)."""
    listed: dict[str, set[str]] = {}
    for op in operations:
        listed.setdefault(op.template, set()).add(op.method)
    out = []
    for template, methods in listed.items():
        path = template.replace("{tenant}", enc(world.tenant)).replace("{type}", "counter")
        path = re.sub(r"\{[^}]+\}", "fz-method", path)
        for method in sorted({m.upper() for m in METHODS} | set(EXTRA_METHODS)):
            if method not in methods:
                out.append(Case("no_such_method", method, path, "own", label=f"{method} {template}",
                                expect="reject"))
    return out


def transport_cases(world: World) -> list[Case]:
    """Unknown paths, huge headers and paths, odd header values: no 5xx and the node keeps answering."""
    kv = f"/v1/kv/{enc('fz-transport')}"
    out = [Case("no_such_path", "GET", path, "own", label=f"unknown path {path[:40]}", expect="reject")
           for path in ("/", "/v1", "/v2/kv/a", "/v1/kv/a/b", "/v1/kv/a/cas/x", "/v1/tenants/a/kv",
                        "/v1/tenants/a/x/k", "/v1/health/x", "/metrics/x", "/v1/ring/placement/x",
                        "/v1/%00", "/v1/%ff%fe", "/v1/" + "x" * 4000)]
    # a key that is not UTF-8 (a lone surrogate's bytes): what a node makes of it is its own business
    out.append(Case("transport", "GET", "/v1/kv/%ED%A0%80", "own", label="key of invalid UTF-8"))
    out += [Case("transport", "GET", kv, "own", headers={"x-pad": "a" * size}, label=f"{size}-byte header")
            for size in (8_192, 65_536, 1_048_576)]
    out += [Case("transport", "GET", kv, "own", headers={f"x-h{i}": "v" for i in range(500)}, label="500 headers"),
            Case("transport", "GET", "/v1/kv/" + "k" * 100_000, "own", label="100 KB path"),
            Case("transport", "GET", "/v1/kv/" + "k" * 1_000_000, "own", label="1 MB path"),
            Case("transport", "PUT", kv, "own", body=json_body({"value": "v"}),
                 headers={"content-type": "text/plain"}, label="wrong content-type", expect="ok"),
            Case("transport", "PUT", kv, "own", body=json_body({"value": "v"}),
                 headers={"content-length": str(world.max_body * 4)}, label="content-length lies (over the limit)"),
            Case("transport", "GET", "/v1/health?" + "&".join(f"q{i}=1" for i in range(2000)), "none",
                 label="2000 query parameters")]
    return out


def crdt_cases(operations: list[Operation], world: World) -> list[Case]:
    """CRDT writes and reads at the limits (contract v2), when the document has them."""
    by_id = {op.id: op for op in operations}
    if "crdt_write" not in by_id:
        return []
    write, read = by_id["crdt_write"], by_id["crdt_read"]
    bodies: list[tuple[str, str, object]] = [
        ("counter", "inc", {"delta": d}) for d in (0, 1, -1, MAX_DELTA, -MAX_DELTA, MAX_DELTA + 1, 1.5, True, "1")]
    bodies += [("set", op, {"element": v}) for op in ("add", "remove")
               for v in ("e", "", "\u202e", "\U0001f600", "x" * world.max_value, "x" * (world.max_value + 1), 5)]
    bodies += [("register", "set", {"value": v}) for v in ("v", "\ud800", "x" * world.max_value,
                                                           "x" * (world.max_value + 1), None)]
    bodies += [("counter", "add", {"delta": 1}), ("set", "inc", {"element": "e"}), ("bogus", "inc", {"delta": 1})]
    out = []
    for number, (kind, op, extra) in enumerate(bodies):
        body = json_body({"op": op, "op_id": f"fz-edge-{number}", **extra})
        out.append(crdt_case(write, world, kind, "fz-crdt", body, label=f"crdt {kind} {op} {str(extra)[:40]}"))
    for op_id in ("", "o" * world.max_key, "o" * (world.max_key + 1), 7, None):
        body = json_body({"op": "inc", "op_id": op_id, "delta": 1})
        out.append(crdt_case(write, world, "counter", "fz-crdt", body, label=f"crdt op_id {str(op_id)[:20]}"))
    for kind in ("counter", "set", "register", "bogus"):
        out += [crdt_case(read, world, kind, key, None, label=f"crdt read {kind} {label}")
                for label, key in (("1-byte key", "k"), ("key over the limit", "k" * (world.max_key + 1)))]
    out += [crdt_case(by_id[i], world, "counter", "fz-crdt", None if i != "crdt_write" else json_body(
        {"op": "inc", "op_id": f"fz-tok-{kind}", "delta": 1}), token=kind, label=f"{i} token {kind}")
        for i in ("crdt_list", "crdt_read", "crdt_write") for kind in ("own", "admin", *FOREIGN_KINDS)]
    return out


def edge_cases(operations: list[Operation], world: World) -> list[Case]:
    """The whole fixed table, in a stable order."""
    # every plain read once with no token and once with a garbage one (they need none)
    out: list[Case] = [Case(op.id, "GET", op.template, kind, label=f"{op.id} with token {kind}", expect="ok")
                       for op in operations if op.method == "GET" and not op.path_params and not op.query
                       and not op.secured for kind in ("none", "garbage")]
    kv_ops = [op for op in operations if "kv_" in op.id]
    for op in kv_ops:
        out += token_cases(op, world) + key_cases(op, world)
        if op.body is not None:
            out += value_cases(op, world)
    names = [("name of 64 bytes", "n" * world.max_tenant), ("name of 65 bytes", "n" * (world.max_tenant + 1)),
             ("trailing newline", "fzname\n"), ("leading dash", "-fz"), ("Arabic digit", "\u0661fz"),
             ("empty name", ""), ("lone surrogate", "\ud800"), ("NUL", "fz\x00"), ("RTL", "\u202efz"),
             ("name of type int", 5), ("valid", "fz-tenant_1")]
    for label, name in names:
        good = isinstance(name, str) and name in ("n" * world.max_tenant, "fz-tenant_1")
        out.append(Case("create_tenant", "POST", "/v1/tenants", "admin", json_body({"name": name}),
                        label=f"tenant {label}", expect="ok" if good else "reject"))
    out += [Case("create_tenant", "POST", "/v1/tenants", kind, json_body({"name": "fz-tok"}),
                 label=f"create tenant with token {kind}", expect="reject") for kind in ("own", *FOREIGN_KINDS)]
    out += [Case("placement", "GET", q, "none", label=f"placement {q[-30:]}", expect=e) for q, e in (
        ("/v1/ring/placement?tenant=a&key=k", "ok"), ("/v1/ring/placement?tenant=a", "reject"),
        ("/v1/ring/placement?key=k", "reject"), ("/v1/ring/placement", "reject"),
        (f"/v1/ring/placement?tenant=a&key={'k' * (world.max_key + 1)}", "reject"),
        ("/v1/ring/placement?tenant=%ED%A0%80&key=%ED%A0%80", "any"))]
    out += [Case(op.id, "POST", op.template, kind, json_body({"op": "put"}), headers=headers,
                 label=f"{op.id} {label}", expect="reject")
            for op in operations if op.internal
            for kind, headers, label in (("own", {}, "without the cluster header"),
                                         ("admin", {"x-cluster-auth": "guess"}, "with a guessed cluster header"))]
    out += crdt_cases(operations, world)
    out += method_cases(operations, world) + transport_cases(world)
    return out

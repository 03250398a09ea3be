"""Cases for the documented operations no hand-written strategy covers (SQL, events ingest, blobs, the
rebalance admin call, and any operation added later): drawn from the document alone, so a new route is
fuzzed the day it is documented instead of leaving the ``contract`` criterion UNKNOWN.

Path parameters get awkward strings and a few plausible names, query parameters their enum values, small
integers or junk, JSON bodies every valid and broken shape ``bodies`` makes from the schema's properties,
other bodies random bytes. The expectation is only the contract's general rules (``any``), or ``reject``
for a token that must not work. An operation marked ``x-fuzz: foreign-tokens-only`` in the document (one
whose valid call acts on the cluster or needs a backend the criterion cannot assume, e.g. draining a Raft
group) is called only with tokens that must be refused: its authorisation is fuzzed, its effect is left to
the criterion that owns it (scale-in, cloud).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .cases import FOREIGN_KINDS, TOKEN_KINDS, Case, World, bodies, enc, texts
from .document import Operation

FOREIGN_ONLY = "foreign-tokens-only"
PLAUSIBLE_SEGMENTS = ["s3", "azure", "gcs", "g0", "k", "a.txt"]


def value_strategy(schema: dict[str, Any], world: World) -> st.SearchStrategy[Any]:
    """Values of one JSON-schema property: its enum (and a near miss), else by type, else anything."""
    if "enum" in schema:
        return st.sampled_from([*schema["enum"], "bogus"])
    kind = schema.get("type")
    if kind == "integer":
        return st.one_of(st.integers(-3, 100), st.sampled_from([2 ** 63, -(2 ** 63) - 1]))
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-3, 100))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(st.one_of(st.integers(-3, 3), texts(32), st.none()), max_size=4)
    if kind == "object":
        return st.dictionaries(texts(16), st.one_of(st.integers(-3, 3), texts(32), st.none()), max_size=3)
    return texts(min(world.max_value, 256))


def query_strategy(op: Operation) -> st.SearchStrategy[str]:
    if not op.query:
        return st.just("")
    parts = []
    for name, spec in sorted(op.query.items()):
        schema = spec.get("schema", {})
        values = st.one_of(st.sampled_from([str(v) for v in schema.get("enum", [])] or ["1"]),
                           st.integers(-2, 64).map(str), st.sampled_from(["", "x", "99999999999", "%00"]))
        parts.append(st.one_of(st.just(""), values.map(lambda v, n=name: f"{n}={enc(v)}")))
    return st.tuples(*parts).map(lambda ps: "?" + "&".join(p for p in ps if p) if any(ps) else "")


def body_strategy(op: Operation, world: World) -> st.SearchStrategy[bytes | None]:
    properties = (op.body or {}).get("properties") or {}
    if properties:
        return bodies({name: value_strategy(schema, world) for name, schema in properties.items()}, world)
    if op.method in ("PUT", "POST"):
        return st.one_of(st.binary(max_size=2048), st.just(b""))
    return st.none()


def generic_strategy(op: Operation, world: World) -> st.SearchStrategy[Case]:
    """Cases of ``op`` from its documented shape (see the module docstring)."""
    foreign_only = op.extra.get("x-fuzz") == FOREIGN_ONLY
    # "foreign" is tenant B's valid token on tenant A's explicit path; on a path that names no tenant it is
    # simply B calling for itself, a legitimate call: only the kinds no tenant owns must be refused there
    refused = FOREIGN_KINDS if "{tenant}" in op.template else tuple(k for k in FOREIGN_KINDS if k != "foreign")
    tokens = st.sampled_from(refused if foreign_only else ["own", "own", "own", "admin", *refused])
    segment = st.one_of(st.sampled_from(PLAUSIBLE_SEGMENTS), texts(64))
    segments = st.tuples(*[segment for _ in op.path_params]) if op.path_params else st.just(())
    body = body_strategy(op, world)
    query = query_strategy(op)

    @st.composite
    def draw_case(draw: Any) -> Case:
        values = dict(zip(op.path_params, draw(segments), strict=True))
        if any(not v for v in values.values()):
            values = {k: v or "x" for k, v in values.items()}  # an empty segment is another path
        path = op.template
        for name, value in values.items():
            path = path.replace("{" + name + "}", enc(value))
        token = draw(tokens) if op.secured else draw(st.sampled_from(TOKEN_KINDS))
        expect = "reject" if op.secured and token in refused else "any"
        return Case(op.id, op.method, path + draw(query), token, draw(body), label="drawn from the document",
                    expect=expect)

    return draw_case()


def uncovered(operations: list[Operation], covered: set[str]) -> list[Operation]:
    """The client-facing operations no hand-written strategy draws."""
    return [op for op in operations if not op.internal and op.id not in covered]

"""docs/openapi.yaml and the testbed agree: every documented operation is a route of the testbed, and
the testbed has no route the document does not list. The test-side oracle is the testbed's own router
(``NodeApp._route``, a pure function of method and path), explored with every path made of its routing
literals and a placeholder; the served copy (/v1/openapi.json) is checked on the shared cluster."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from testbed import api
from testbed.web import HttpError
from tier7.fuzz import document

X = "x1"  # the placeholder for a path parameter
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


class Router(api.NodeApp):
    """The testbed's router without a node behind it: attributes a route reads (a service object, say)
    are stand-ins."""

    def __getattr__(self, name: str):
        return Router.__new__(Router)

    def __call__(self, *args, **kwargs):  # pragma: no cover - never called, only looked up
        return None


ROUTER = object.__new__(Router)  # the router needs no running node


def resolves(method: str, segments: list[str]) -> str:
    """'route' (a handler), 'method' (405: the path exists) or 'none' (404)."""
    path = "/" + "/".join(segments)
    # the router reads only these three attributes of a request (a full Request costs ~10x more)
    request = SimpleNamespace(segments=segments, method=method, scope={"path": path})
    try:
        ROUTER._route(request)
    except HttpError as exc:
        return "method" if exc.status == 405 else "none"
    return "route"


def routing_literals() -> set[str]:
    """Path-segment literals of the testbed's routing functions (any function with 'route' in its name):
    strings compared with a segment (``tail[0] == "kv"``, ``s == ["metrics"]``) or in a tuple used as a
    route key (``("ring", "placement")``)."""
    tree = ast.parse(inspect.getsource(api))
    words: set[str] = set()

    def strings(node: ast.AST) -> list[str]:
        return [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", c.value)]

    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef) and "route" in func.name:
            for node in ast.walk(func):
                if isinstance(node, ast.Compare):
                    words.update(strings(node))
                elif isinstance(node, ast.Dict):
                    for key in node.keys:
                        if isinstance(key, ast.Tuple):
                            words.update(strings(key))
    return words


def routed_paths() -> set[str]:
    """Every path (segments joined by '/', placeholders X) the testbed's router knows: all paths of up to
    4 segments of its routing literals and X, and 5-6 segment paths shaped like REST routes
    (literal/literal/X/literal/X[/literal] and literal/literal/literal/X/literal/X)."""
    vocab = sorted(routing_literals()) + [X]
    words = [w for w in vocab if w != X]
    found: set[tuple[str, ...]] = set()
    candidates = [c for n in range(1, 5) for c in itertools.product(vocab, repeat=n) if c[0] != X]
    for a, b, c in itertools.product(words, words, words):
        candidates += [(a, b, X, c, X), (a, b, c, X)]
        candidates += [(a, b, X, c, X, d) for d in words] + [(a, b, c, X, d, X) for d in words]
    for combo in candidates:
        if resolves("GET", list(combo)) != "none":
            found.add(combo)
    return {"/" + "/".join(p) for p in found}


def matches(concrete: str, template: str) -> bool:
    a, b = concrete.strip("/").split("/"), template.strip("/").split("/")
    return len(a) == len(b) and all(t.startswith("{") or t == c for c, t in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def operations():
    return document.operations(document.load())


def test_every_documented_operation_is_a_route(operations):
    for op in operations:
        concrete = re.sub(r"\{[^}]+\}", X, op.template)
        assert resolves(op.method, concrete.strip("/").split("/")) == "route", f"{op.method} {op.template}"


@pytest.fixture(scope="module")
def paths():
    return routed_paths()


def undocumented(operations, paths) -> list[str]:
    """Routes the testbed serves that the document does not list (method + path)."""
    templates = {op.template for op in operations}
    documented = {(op.method, op.template) for op in operations}
    out = []
    for path in sorted(paths):
        template = next((t for t in templates if matches(path, t)), None)
        if template is None:
            out.append(f"{path} (no such path in docs/openapi.yaml)")
            continue
        out += [f"{method} {template}" for method in METHODS
                if resolves(method, path.strip("/").split("/")) == "route" and (method, template) not in documented]
    return out


def test_the_testbed_has_no_undocumented_route(operations, paths):
    assert len(paths) >= len({op.template for op in operations})
    assert undocumented(operations, paths) == []


def test_an_undocumented_route_is_caught(operations, paths):
    """The check above can fail: drop a path or a method from the document and it is reported."""
    without_crdt = [op for op in operations if op.template != "/v1/kv/{key}/cas"]
    assert any("/cas" in u for u in undocumented(without_crdt, paths))
    without_delete = [op for op in operations if op.id != "kv_delete"]
    assert "DELETE /v1/kv/{key}" in undocumented(without_delete, paths)


def test_every_path_lists_a_documented_405(operations):
    """A method a documented path does not list answers 405 method_not_allowed, not 404 or a handler."""
    listed: dict[str, set[str]] = {}
    for op in operations:
        listed.setdefault(op.template, set()).add(op.method)
    for template, methods in listed.items():
        segments = re.sub(r"\{[^}]+\}", X, template).strip("/").split("/")
        for method in set(METHODS) - methods:
            assert resolves(method, segments) == "method", f"{method} {template}"


def test_operation_ids_are_unique_and_limits_stated(operations):
    ids = [op.id for op in operations]
    assert len(ids) == len(set(ids))
    assert document.limits(document.load()) == {"max_key_bytes": 256, "max_value_bytes": 65536,
                                                "max_body_bytes": 1048576, "max_tenant_name_bytes": 64}


def test_the_limits_match_the_testbed_preset():
    import tomllib
    preset = tomllib.loads((Path(api.__file__).parent / "presets" / "god-tier.toml").read_text())
    assert document.limits(document.load()) == preset["limits"]


def test_the_testbed_serves_the_document(cluster):
    answer = httpx.get(cluster.nodes()[0].url + "/v1/openapi.json", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    served = answer.json()
    assert served["openapi"].startswith("3.1") and set(served["paths"]) == set(document.load()["paths"])

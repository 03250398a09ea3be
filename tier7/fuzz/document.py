"""The contract as data: docs/openapi.yaml read by the harness (never asked of the target), its
operations (method + path template) with their parameters, request body and documented answers, each
schema with its ``$ref``s inlined so it can be checked with ``jsonschema`` alone."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import Tier7Error

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Operation:
    """One documented operation: ``method`` (upper case) on ``template`` (``/v1/kv/{key}``)."""

    id: str
    method: str
    template: str
    path_params: tuple[str, ...]
    query: dict[str, dict[str, Any]]            # name -> {"required": bool, "schema": {...}}
    body: dict[str, Any] | None                 # JSON schema of the request body, None when it takes none
    responses: dict[int, dict[str, Any] | None]  # status -> JSON schema of the answer (None: not JSON)
    secured: bool                               # needs a bearer token
    internal: bool = False                      # node-to-node only (x-internal)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def segments(self) -> list[str]:
        return [s for s in self.template.split("/") if s]


def _resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with every ``{"$ref": "#/..."}`` replaced by a copy of its target (the document has no
    recursive references; ``depth`` guards against one)."""
    if depth > 32:
        raise Tier7Error("docs/openapi.yaml: $ref nesting deeper than 32 (a reference cycle?)")
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str):
            target: Any = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            merged = {**_resolve(doc, copy.deepcopy(target), depth + 1),
                      **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(doc, merged, depth + 1)
        return {k: _resolve(doc, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(doc, v, depth + 1) for v in node]
    return node


@lru_cache(maxsize=4)
def load(path: Path = DOCUMENT) -> dict[str, Any]:
    """The document with YAML anchors expanded; a one-line Tier7Error when it is missing or malformed."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise Tier7Error(f"cannot read the contract document {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("paths"), dict):
        raise Tier7Error(f"{path} is not an OpenAPI document (no paths)")
    return data


def operations(doc: dict[str, Any]) -> list[Operation]:
    """Every documented operation, in document order."""
    out: list[Operation] = []
    default_secured = bool(doc.get("security"))
    for template, item in doc["paths"].items():
        item = _resolve(doc, item)
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [*shared, *op.get("parameters", [])]
            body = None
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = content["application/json"].get("schema", {})
            responses: dict[int, dict[str, Any] | None] = {}
            for status, answer in op.get("responses", {}).items():
                json_content = (answer.get("content") or {}).get("application/json")
                responses[int(status)] = json_content.get("schema", {}) if json_content else None
            secured = bool(op["security"]) if "security" in op else default_secured
            out.append(Operation(
                id=op.get("operationId", f"{method} {template}"), method=method.upper(), template=template,
                path_params=tuple(p["name"] for p in params if p.get("in") == "path"),
                query={p["name"]: {"required": bool(p.get("required")), "schema": p.get("schema", {})}
                       for p in params if p.get("in") == "query"},
                body=body, responses=responses, secured=secured, internal=bool(op.get("x-internal")),
                extra={k: v for k, v in op.items() if k.startswith("x-")}))
    return out


def limits(doc: dict[str, Any]) -> dict[str, int]:
    """The limits the document states (info.x-limits): max_key_bytes, max_value_bytes, ..."""
    return {k: int(v) for k, v in doc.get("info", {}).get("x-limits", {}).items()}


def error_schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The answer schema of a shared response (``MethodNotAllowed``, ``NotFound``...)."""
    response = _resolve(doc, doc["components"]["responses"][name])
    return response["content"]["application/json"]["schema"]


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """A component schema (``Error``, ``Key``...) with its references inlined."""
    return _resolve(doc, doc["components"]["schemas"][name])

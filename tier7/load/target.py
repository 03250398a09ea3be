"""Which cluster the load goes to: node endpoints, a cluster file, or (default) the testbed that
`tier7 testbed up` started. Reads files and asks the contract; never imports ``testbed``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..errors import Tier7Error
from ..targets.base import NodeInfo
from ..targets.loopback import require_loopback_url
from .options import LoadOptions, admin_token_from_env


def default_cluster_file() -> Path:
    return Path(os.environ.get("TIER7_TESTBED_DIR", "results/testbed")) / "cluster.json"


@dataclass
class LoadTarget:
    """The resolved target: ``kind`` is testbed | file | endpoints; ``source`` the file or URL list."""

    kind: str
    source: str
    nodes: list[NodeInfo]
    admin_token: str | None = field(repr=False, default=None)
    secrets: list[str] = field(repr=False, default_factory=list)
    log_files: dict[str, Path] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "nodes": len(self.nodes)}

    def require_admin(self) -> str:
        if not self.admin_token:
            raise Tier7Error(f"no admin token for the target ({self.source}): set $TIER7_ADMIN_TOKEN "
                             "or put \"admin_token\" in the target file")
        return self.admin_token


def resolve(options: LoadOptions, host: str | None = None, timeout: float = 2.0) -> LoadTarget:
    """The target named by the options (endpoints, else Locust's host, else target file, else the testbed)."""
    endpoints = options.target_endpoints or (host or "")
    if endpoints:
        return from_endpoints([u.strip() for u in endpoints.split(",") if u.strip()], timeout)
    path = Path(options.target_file) if options.target_file else default_cluster_file()
    return from_file(path, default=not options.target_file)


def normalized_hosts(text: str | None) -> str:
    """A Host field's endpoint list, comparable: URLs without trailing '/', comma-separated, in order."""
    return ",".join(u.strip().rstrip("/") for u in (text or "").split(",") if u.strip())


def from_file(path: Path, default: bool = False) -> LoadTarget:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        hint = "; start one with `tier7 testbed up` or pass --target-file/--target-endpoints" if default else ""
        raise Tier7Error(f"no target: {path} does not exist{hint}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise Tier7Error(f"cannot read target file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not data["nodes"]:
        raise Tier7Error(f"target file {path} has no \"nodes\" list")
    nodes: list[NodeInfo] = []
    logs: dict[str, Path] = {}
    testbed = False
    try:
        for n in data["nodes"]:
            if "url" in n:
                url = str(n["url"]).rstrip("/")
            else:
                url, testbed = f"http://{n['host']}:{n['http_port']}", True
            require_loopback_url(url, f"target file {path}: node {n['name']}")
            nodes.append(NodeInfo(str(n["name"]), str(n["group"]), str(n["region"]), url))
            if n.get("log"):
                logs[str(n["name"])] = Path(n["log"])
            elif n.get("dir"):
                logs[str(n["name"])] = Path(n["dir"]) / "node.log"
    except (KeyError, TypeError) as exc:
        raise Tier7Error(f"target file {path}: each node needs name, group, region and url ({exc})") from None
    token = admin_token_from_env() or data.get("admin_token")
    secrets = [s for s in (token, data.get("admin_token"), data.get("secret")) if isinstance(s, str) and s]
    return LoadTarget("testbed" if testbed else "file", str(path), nodes, token, secrets, logs)


def from_endpoints(urls: list[str], timeout: float = 2.0) -> LoadTarget:
    """Ask each endpoint who it is (``GET /v1/node``)."""
    nodes: list[NodeInfo] = []
    with httpx.Client(timeout=timeout) as client:
        for url in urls:
            url = url.rstrip("/")
            require_loopback_url(url, "target endpoint")
            try:
                me = client.get(f"{url}/v1/node").json()
                nodes.append(NodeInfo(str(me["node"]), str(me["group"]), str(me["region"]), url))
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise Tier7Error(f"target unreachable: {url}/v1/node did not answer ({exc.__class__.__name__})") from None
    token = admin_token_from_env()
    return LoadTarget("endpoints", ",".join(urls), nodes, token, [token] if token else [])


def fetch_contract(target: LoadTarget, timeout: float = 2.0) -> dict[str, Any]:
    """``GET /v1/ring`` and ``/v1/config`` from the first node that answers; Tier7Error if none does."""
    errors = []
    with httpx.Client(timeout=timeout) as client:
        for node in target.nodes:
            try:
                ring = client.get(f"{node.url}/v1/ring")
                config = client.get(f"{node.url}/v1/config")
                if ring.status_code == 200 and config.status_code == 200:
                    return {"ring": ring.json(), "config": config.json(), "node": node.name}
                errors.append(f"{node.name}: HTTP {ring.status_code}/{config.status_code}")
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{node.name}: {exc.__class__.__name__}")
    raise Tier7Error(f"target unreachable: none of {len(target.nodes)} node(s) from {target.source} answered "
                     f"(first: {errors[0] if errors else '-'})")

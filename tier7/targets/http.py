"""Driver for any cluster that speaks the contract, described by a target file (TOML or JSON).

```toml
name = "staging"
admin_token_env = "DW_ADMIN_TOKEN"          # or admin_token = "..." (avoid: files get copied)
[[nodes]]
name = "n1"; group = "g0"; region = "us-east"; url = "http://127.0.0.1:9001"
log = "/var/log/dw/n1.log"                 # optional: enables the log scan
[operator]                                  # optional shell commands; {node} is replaced
kill = "ssh {node} sudo systemctl kill -s KILL dw"
start = "ssh {node} sudo systemctl start dw"
pause = "..."; resume = "..."
```

Capabilities follow from what the file provides: no ``kill`` command, no kill faults (NOT APPLICABLE).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from .base import Capability, NodeInfo
from .loopback import require_loopback_url

OPERATIONS = {"kill": Capability.KILL, "start": Capability.RESTART, "pause": Capability.PAUSE,
              "resume": Capability.PAUSE}


class HttpTarget:
    def __init__(self, spec: dict[str, Any], source: str = "target file") -> None:
        try:
            self.name = str(spec.get("name", "http"))
            self._nodes = [NodeInfo(str(n["name"]), str(n["group"]), str(n["region"]), str(n["url"]).rstrip("/"))
                           for n in spec["nodes"]]
            self._logs = {str(n["name"]): Path(n["log"]) for n in spec["nodes"] if n.get("log")}
        except (KeyError, TypeError) as exc:
            raise Tier7Error(f"{source}: every [[nodes]] entry needs name, group, region and url ({exc})") from None
        if not self._nodes:
            raise Tier7Error(f"{source}: no nodes")
        for node in self._nodes:
            require_loopback_url(node.url, f"{source}: node {node.name}")
        env = spec.get("admin_token_env")
        self._admin = os.environ.get(env, "") if env else str(spec.get("admin_token", ""))
        if not self._admin:
            raise Tier7Error(f"{source}: no admin token (set admin_token_env and export it)")
        self.operator: dict[str, str] = {k: str(v) for k, v in (spec.get("operator") or {}).items()}
        caps = {OPERATIONS[k] for k in self.operator if k in OPERATIONS}
        if "pause" in self.operator and "resume" not in self.operator:
            caps.discard(Capability.PAUSE)
        if self._logs:
            caps.add(Capability.LOGS)
        self.capabilities = frozenset(caps)

    @classmethod
    def from_file(cls, path: str | Path) -> HttpTarget:
        path = Path(path)
        try:
            text = path.read_text()
            spec = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise Tier7Error(f"target file not found: {path}") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise Tier7Error(f"malformed target file {path}: {exc}") from None
        return cls(spec, str(path))

    def nodes(self) -> list[NodeInfo]:
        return list(self._nodes)

    def admin_token(self) -> str:
        return self._admin

    def secrets(self) -> list[str]:
        return [self._admin]

    def log_files(self) -> dict[str, Path]:
        return dict(self._logs)

    def _run(self, operation: str, node: str) -> None:
        if operation not in self.operator:
            raise Tier7Error(f"target {self.name!r} has no {operation!r} operator command")
        if node not in {n.name for n in self._nodes}:
            raise Tier7Error(f"no node named {node!r}")
        command = self.operator[operation].replace("{node}", shlex.quote(node))
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise Tier7Error(f"{operation} {node}: command failed ({done.returncode}): {done.stderr.strip()[:200]}")

    def kill_node(self, node: str) -> None:
        self._run("kill", node)

    def start_node(self, node: str) -> None:
        self._run("start", node)

    def pause_node(self, node: str) -> None:
        self._run("pause", node)

    def resume_node(self, node: str) -> None:
        self._run("resume", node)

"""What a verification run recorded, read back from its folder (docs/run-folder.md): the facts each phase
wrote (``facts/<name>.json``), the target's snapshot (``target/*.json``), the node log copies and the plan
the run used. The judges (``analysis.criteria``) read only this, never the target."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from .plan import run_plan

FACTS_DIR = "facts"
RUN_FACTS = "verify"  # facts/verify.json: the runner's own record (selection, phases run, target, meta)
# What speaking the HTTP contract (docs/contract.md) brings; tier7/targets/capabilities.py has the same set.
CONTRACT_CAPABILITIES = frozenset({"kv", "topology", "federation", "tenants", "preset", "contract"})


def facts_path(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / FACTS_DIR / f"{name}.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


class RunFacts:
    """The recorded facts of one run folder (read lazily, each file once)."""

    def __init__(self, run_dir: Path, plan: dict[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.plan = plan if plan is not None else run_plan(self.run_dir)
        self._cache: dict[str, Any] = {}
        self.analysis_error = ""  # why the analysis of the folder could not run (set by the engine)

    def get(self, name: str) -> dict[str, Any] | None:
        """``facts/<name>.json`` as a dict, None when the phase did not record it."""
        if name not in self._cache:
            value = _read_json(facts_path(self.run_dir, name))
            self._cache[name] = value if isinstance(value, dict) else None
        return self._cache[name]

    @property
    def run(self) -> dict[str, Any]:
        """The runner's record (facts/verify.json); empty for a folder that is not a verification run."""
        return self.get(RUN_FACTS) or {}

    @property
    def sizes(self) -> dict[str, Any]:
        return self.plan["sizes"]

    @cached_property
    def nodes(self) -> list[dict[str, Any]]:
        """``target/nodes.json``: name, group, region, url of every node."""
        nodes = _read_json(self.run_dir / "target" / "nodes.json")
        return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []

    @property
    def group_of(self) -> dict[str, str]:
        return {n["name"]: n["group"] for n in self.nodes if n.get("name")}

    @cached_property
    def ring(self) -> dict[str, Any] | None:
        ring = _read_json(self.run_dir / "target" / "ring.json")
        return ring if isinstance(ring, dict) else None

    @property
    def capabilities(self) -> set[str]:
        """What the target could do. A target speaking the HTTP contract has the contract's capabilities
        (``CONTRACT_CAPABILITIES``) whether or not its folder lists them (folders written before issue 14
        do not); a foreign target (etcd, Redis Sentinel: ``"foreign": true``) has only those it lists."""
        listed = set(self.run.get("capabilities", []))
        return listed if self.run.get("foreign") else listed | CONTRACT_CAPABILITIES

    @property
    def log_nodes(self) -> list[str]:
        """Nodes whose log the target gives (the copies are ``logs/<node>.log``)."""
        return list(self.run.get("log_nodes", []))

    def log_text(self, node: str) -> str | None:
        """The run's copy of ``node``'s log (secrets redacted), None when it is missing."""
        path = self.run_dir / "logs" / f"{node}.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

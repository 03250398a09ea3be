"""What every phase of a verification run shares: the run folder, the plan's numbers, the target,
the runner's own history writer and recording clients, the seed, and the tokens to redact."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent.pool

from ..client import RecordingClient
from ..history import HistoryWriter, history_path
from ..targets.base import NodeInfo, Target
from . import interrupt
from .progress import Progress
from .results import CriterionResult

CONCURRENCY = 32  # simultaneous operations of the runner's own phases (greenlets)


@dataclass
class RunContext:
    run_dir: Path
    plan: dict[str, Any]
    quick: bool
    seed: int
    target: Target
    progress: Progress
    history: HistoryWriter = field(init=False)
    rng: random.Random = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)          # tenant -> token (secrets; never written)
    written: set[tuple[str, str]] = field(default_factory=set)    # (tenant, key) written by any phase
    results: dict[str, CriterionResult] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)           # what phases learned, for the report

    def __post_init__(self) -> None:
        self.history = HistoryWriter(history_path(self.run_dir, "verify"))
        self.rng = random.Random(self.seed)

    @property
    def sizes(self) -> dict[str, Any]:
        return self.plan["sizes"]

    @property
    def thresholds(self) -> dict[str, Any]:
        return self.plan["thresholds"]

    def nodes(self) -> list[NodeInfo]:
        return self.target.nodes()

    def client(self, node: NodeInfo, token: str | None, process: str) -> RecordingClient:
        """A recording client for one greenlet: entry node ``node``, history process ``process``."""
        return RecordingClient(node.url, token, self.history, process, region=node.region, timeout=10.0)

    def each(self, step: Callable[[Any], Any], items: Iterable[Any], size: int = CONCURRENCY) -> None:
        """Run ``step`` on every item, ``size`` at a time on greenlets. After Ctrl-C no further item starts
        and KeyboardInterrupt is raised here once the running ones have returned."""

        def guarded(item: Any) -> None:
            if not interrupt.REQUESTED.is_set():
                step(item)

        gevent.pool.Pool(size).map(guarded, items)
        interrupt.check()

    def evidence_path(self, name: str) -> Path:
        path = self.run_dir / "evidence" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def secrets(self) -> list[str]:
        extra = getattr(self.target, "secrets", lambda: [])()
        return [*extra, self.target.admin_token(), *self.tokens.values()]

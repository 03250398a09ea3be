"""What every phase of a verification run shares: the run folder, the plan's numbers, the target,
the runner's own history writer and recording clients, the seed, and the tokens to redact.

A phase's findings go into the run folder (``record`` -> ``facts/<name>.json``, secrets redacted): the
verdict engine (``analysis.judge``) judges from there, in ``tier7 verify`` and ``tier7 analyze`` alike."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent.pool

from analysis.facts import facts_path

from ..client import RecordingClient
from ..history import HistoryWriter, history_path
from ..runfolder import write_json
from ..targets.base import NodeInfo, Target
from . import interrupt
from .progress import Progress

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
    facts: dict[str, Any] = field(default_factory=dict)           # in-run state shared by phases (the ring)
    recorded: dict[str, Any] = field(default_factory=dict)        # what was written to facts/<name>.json

    def __post_init__(self) -> None:
        self.history = HistoryWriter(history_path(self.run_dir, "verify"))
        self.rng = random.Random(self.seed)

    @property
    def sizes(self) -> dict[str, Any]:
        return self.plan["sizes"]

    def record(self, name: str, data: dict[str, Any]) -> None:
        """Write a phase's facts to ``facts/<name>.json`` (secrets redacted) for the verdict engine."""
        self.recorded[name] = data
        write_json(facts_path(self.run_dir, name), data, self.secrets())

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

    def secrets(self) -> list[str]:
        extra = getattr(self.target, "secrets", lambda: [])()
        return [*extra, self.target.admin_token(), *self.tokens.values()]

"""Faults injected by this process, so a later probe can measure from them (e.g. a new leader elected
within N s of *this* kill). Chaos Toolkit runs an experiment's activities in one process; the record is
per process and bounded (the last fault per kind and group)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_last: dict[tuple[str, str], dict[str, Any]] = {}


def record(kind: str, group: str, details: dict[str, Any]) -> None:
    """Remember the last ``kind`` fault (``leader-lost``, ...) on ``group``."""
    with _lock:
        _last[(kind, group)] = dict(details)


def last(kind: str, group: str) -> dict[str, Any] | None:
    with _lock:
        found = _last.get((kind, group))
        return dict(found) if found else None


def forget() -> None:
    with _lock:
        _last.clear()

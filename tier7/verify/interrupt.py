"""Ctrl-C and SIGTERM during a verification run: remembered in ``REQUESTED`` as well as raised as
KeyboardInterrupt, so a phase whose greenlets swallow or delay the exception still stops at its next
step and the runner still writes the partial report (the signal is never lost)."""

from __future__ import annotations

import signal
import threading
from typing import Any

REQUESTED = threading.Event()


def _on_signal(signum: int, frame: Any) -> None:
    REQUESTED.set()
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT and SIGTERM both wind the run down like Ctrl-C: rollback, stop, partial report."""
    REQUESTED.clear()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def check() -> None:
    """Raise KeyboardInterrupt when a stop was requested (call between steps)."""
    if REQUESTED.is_set():
        raise KeyboardInterrupt

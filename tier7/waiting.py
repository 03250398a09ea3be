"""Waiting by polling a condition against a deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """A wait ran out of time, or was given up on purpose (``GiveUp``)."""


class GiveUp(DeadlineExceeded):
    """Raised by a condition to stop waiting at once, e.g. the process it waits for has exited: no amount
    of waiting can make the condition true. ``wait_until`` lets it through; callers that catch
    ``DeadlineExceeded`` handle it as the end of the wait, only sooner."""


def wait_until(condition: Callable[[], T | None], timeout: float, interval: float = 0.05,
               what: str = "condition") -> T:
    """Poll ``condition`` every ``interval`` seconds until it returns a truthy value or ``timeout`` seconds pass.

    Returns the truthy value; raises DeadlineExceeded naming ``what`` otherwise. Exceptions raised by
    ``condition`` count as "not yet" (the target may be restarting), except ``DeadlineExceeded`` and its
    subclass ``GiveUp``: a condition raises those to give up (or an inner wait already ran out of time), and
    they propagate at once instead of costing the whole ``timeout``.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except DeadlineExceeded:
            raise  # a deliberate give-up (or an inner deadline): retrying cannot help
        except Exception as exc:  # noqa: BLE001 - a target mid-restart answers with all sorts of errors
            last_error = exc
        if time.monotonic() >= deadline:
            suffix = f" (last error: {last_error})" if last_error else ""
            raise DeadlineExceeded(f"timed out after {timeout:.1f}s waiting for {what}{suffix}")
        time.sleep(interval)

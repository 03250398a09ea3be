"""Failure messages as Locust's web UI shows them: "connection refused (g1-us-east)", not
``RecordedFailure('fail ConnectionRefusedError')``. Words per error label: tier7/load/messages.toml."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

MESSAGES_FILE = Path(__file__).with_name("messages.toml")
HTTP_LABEL = re.compile(r"http_(\d{3})")


@cache
def _table() -> dict[str, Any]:
    return tomllib.loads(MESSAGES_FILE.read_text())


def describe(kind: str, error: str | None, node: str | None, status: int | None = None) -> str:
    """``kind`` (fail | info), the history's error label and the node asked -> one readable line."""
    table = _table()
    label = error or "failed"
    words = table["labels"].get(label)
    if words is None:
        match = HTTP_LABEL.fullmatch(label)
        words = f"HTTP {match.group(1)}" if match else label.replace("_", " ")
    if status is not None and not words.startswith("HTTP") and label not in ("cancelled",):
        words += f" (HTTP {status})"
    prefix = table["types"].get(kind, f"{kind}: ")
    return f"{prefix}{words}" + (f" ({node})" if node else "")


class ReadableFailure(Exception):
    """An exception whose ``repr`` is its message: Locust's Failures tab shows ``repr(error)``."""

    def __repr__(self) -> str:
        return str(self)

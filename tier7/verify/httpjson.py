"""Small plain-HTTP helpers for the runner (not recorded: setup, probes, evidence snapshots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx


def get_json(url: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """GET a JSON object; None when unreachable or not JSON (the caller decides what that means)."""
    try:
        response = httpx.get(url, timeout=timeout)
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
    return path

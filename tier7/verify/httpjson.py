"""Small plain-HTTP helpers for the runner (not recorded: setup, probes, evidence snapshots)."""

from __future__ import annotations

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

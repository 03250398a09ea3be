"""Thresholds of the analysis: the tables of the plan file ``analysis/plan.toml`` (analysis.plan), units in
the key names. A run folder may carry its own ``thresholds.toml``; its values override key by key.
``analysis.plan.run_plan`` also applies the plan copy a run wrote (``<run>/plan.json``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .plan import PLAN_FILE, load_plan

DEFAULTS_FILE = PLAN_FILE


def load_thresholds(override: Path | None = None) -> dict[str, Any]:
    """The bundled plan's tables merged with ``override`` (a TOML file) when it exists."""
    thresholds = load_plan()
    if override is not None and override.is_file():
        for section, values in tomllib.loads(override.read_text(encoding="utf-8")).items():
            if isinstance(values, dict):
                thresholds.setdefault(section, {}).update(values)
    return thresholds

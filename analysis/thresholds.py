"""Thresholds of the analysis, from the data file ``analysis/thresholds.toml`` (units in the key names).

A run folder may carry its own ``thresholds.toml``; its values override the defaults key by key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).with_name("thresholds.toml")


def load_thresholds(override: Path | None = None) -> dict[str, dict[str, Any]]:
    """The default thresholds merged with ``override`` (a TOML file) when it exists."""
    thresholds = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    if override is not None and override.is_file():
        for section, values in tomllib.loads(override.read_text(encoding="utf-8")).items():
            if isinstance(values, dict):
                thresholds.setdefault(section, {}).update(values)
    return thresholds

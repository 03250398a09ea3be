"""The contract document (docs/openapi.yaml), loaded once for ``GET /v1/openapi.json``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"


@lru_cache(maxsize=1)
def contract_document(path: Path = DOCUMENT) -> dict[str, Any]:
    """The OpenAPI document as a JSON-ready dict (YAML anchors expanded). Raises OSError when the file is
    missing, ValueError when it is not a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return data

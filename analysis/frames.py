"""Small pandas helpers shared by the analysis modules (missing values, JSON-safe rows)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None and float NaN (how pandas marks an absent field)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def pylist(series: pd.Series) -> list[Any]:
    """The series as a Python list with every missing value as None."""
    return [None if is_missing(v) else v for v in series.tolist()]


def hashable(value: Any) -> Any:
    """A register value usable in sets and as a dict key: None/str/number as is, anything else as JSON text."""
    if is_missing(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def column(frame: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    """``frame[name]``, or a column of ``default`` when the frame lacks it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def flag(frame: pd.DataFrame, name: str) -> pd.Series:
    """A boolean column that is True only where the field is literally true (absent = False)."""
    return column(frame, name).isin([True, "true"]).astype(bool)


def jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and NaN into plain JSON values (recursively)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts, missing fields dropped."""
    part = frame if limit is None else frame.head(limit)
    return [{k: jsonable(v) for k, v in row.items() if not is_missing(v)} for row in part.to_dict("records")]

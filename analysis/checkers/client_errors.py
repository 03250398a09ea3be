"""Unhandled client exceptions and error rates.

FAIL when any of: an operation ended in an exception the client did not handle (an ``error`` that is
not one of the exact labels of ``analysis/client_errors.toml`` — a contract error code, a transport
exception class the recording client records, ``http_<status>`` — or an ``exception`` field); the target
answered 500 ``internal`` (always a bug, docs/contract.md); Locust recorded exceptions
(``locust/*exceptions*.csv``); the error rate outside fault windows exceeds
``max_error_rate_outside_faults``. Errors: unknown outcomes and failures other than definite contract
answers (``analysis.metrics.rates``). A window for this purpose is extended by ``client_error_grace_s``.

Evidence floor: the rate is judged on at least ``min_operations_outside_faults`` completed operations
outside fault windows. Fewer: UNKNOWN (a run whose every operation fell inside a fault proves nothing
about errors outside one), unless the errors already seen exceed the allowed rate over that many
operations (then FAIL). UNKNOWN: no operations in the history.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from ..frames import records
from ..metrics.rates import errored, event_time
from ..verdict import Status, Verdict
from ..windows import outside_faults
from .evidence import op_records

NAME = "client-errors"
LABELS_FILE = Path(__file__).resolve().parents[1] / "client_errors.toml"


def load_labels(path: Path = LABELS_FILE) -> tuple[frozenset[str], frozenset[str], list[re.Pattern[str]]]:
    """(contract codes, transport labels, full-match patterns) from the labels file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    transport = data["transport"]
    return (frozenset(data["contract"]["codes"]), frozenset(transport["exceptions"]) | frozenset(transport["labels"]),
            [re.compile(p) for p in transport["patterns"]])


CONTRACT_CODES, TRANSPORT, TRANSPORT_PATTERNS = load_labels()


def is_known(label: str) -> bool:
    """True for a label the client records by design: a contract code, a transport label (exact)."""
    return label in CONTRACT_CODES or label in TRANSPORT or any(p.fullmatch(label) for p in TRANSPORT_PATTERNS)


def unhandled(ops: pd.DataFrame) -> pd.Series:
    """True where the operation ended in an exception the client did not expect."""
    error = ops["error"].astype(object)
    has_error = error.map(lambda v: v is not None and v == v and str(v) != "").astype(bool)  # v == v: not NaN
    known = error.map(lambda v: is_known(str(v))).astype(bool)
    exception = ops["exception"].notna() if "exception" in ops else pd.Series(False, index=ops.index)
    return (has_error & ~known) | exception


def check_client_errors(ops: pd.DataFrame, windows: pd.DataFrame, thresholds: dict[str, dict[str, Any]],
                        locust_exceptions: pd.DataFrame | None = None) -> Verdict:
    if ops.empty:
        return Verdict(NAME, Status.UNKNOWN, "no client operations in the history")
    limit = float(thresholds["client_errors"]["max_error_rate_outside_faults"])
    grace = float(thresholds["windows"]["client_error_grace_s"]) * 1e9
    outside = outside_faults(event_time(ops).to_numpy(float), windows, grace)
    err = errored(ops).to_numpy()
    bad = unhandled(ops)
    internal = (ops["status"] == 500) | (ops["error"] == "internal")
    completed_outside = int(outside.sum())
    floor = int(thresholds["client_errors"]["min_operations_outside_faults"])
    errors_outside = int(err[outside].sum())
    rate = float(errors_outside / completed_outside) if completed_outside else 0.0
    # below the floor the rate is not measurable; the errors seen still FAIL when they alone exceed the
    # allowed rate over a floor's worth of operations
    too_many = rate > limit if completed_outside >= floor else errors_outside / max(floor, 1) > limit
    exceptions = locust_exceptions if locust_exceptions is not None else pd.DataFrame()
    codes = ops.loc[err, "error"].astype(object).fillna(ops.loc[err, "type"].astype(object)).value_counts().head(10)
    figures = {"operations": int(len(ops)), "errors": int(err.sum()), "error_rate": float(err.mean()),
               "operations_outside_faults": completed_outside, "min_operations_outside_faults": floor,
               "errors_outside_faults": errors_outside,
               "error_rate_outside_faults": rate, "max_error_rate_outside_faults": limit,
               "unhandled_exceptions": int(bad.sum()), "internal_errors": int(internal.sum()),
               "locust_exceptions": int(len(exceptions)), "top_errors": {str(k): int(v) for k, v in codes.items()}}
    evidence = []
    if bad.any():
        evidence.append({"problem": "unhandled client exceptions", "operations": op_records(ops, ops.index[bad], 20)})
    if internal.any():
        evidence.append({"problem": "500 internal answers (a bug of the target)",
                         "operations": op_records(ops, ops.index[internal], 20)})
    if len(exceptions):
        evidence.append({"problem": "exceptions recorded by Locust", "rows": records(exceptions, 20)})
    if too_many:
        evidence.append({"problem": f"error rate outside fault windows {rate:.2%} > {limit:.2%}",
                         "operations": op_records(ops, ops.index[err & outside], 20)})
    if evidence:
        return Verdict(NAME, Status.FAIL, "; ".join(e["problem"] for e in evidence), evidence, figures)
    if completed_outside < floor:
        return Verdict(NAME, Status.UNKNOWN, f"{completed_outside} completed operation(s) outside fault windows, "
                       f"floor {floor}: too few to judge the error rate outside faults", [], figures)
    return Verdict(NAME, Status.PASS, "", [], figures)

"""Unhandled client exceptions and error rates.

FAIL when any of: an operation ended in an exception the client did not handle (an ``error`` that is
neither a contract error code nor a transport error, or an ``exception`` field); the target answered 500
``internal`` (always a bug, docs/contract.md); Locust recorded exceptions (``locust/*exceptions*.csv``);
the error rate outside fault windows exceeds ``max_error_rate_outside_faults``. Errors: unknown outcomes
and failures other than definite contract answers (``analysis.metrics.rates``). A window for this purpose
is extended by ``client_error_grace_s``. UNKNOWN: no operations in the history.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..frames import records
from ..metrics.rates import errored, event_time
from ..verdict import Status, Verdict
from ..windows import inside_any
from .evidence import op_records

NAME = "client-errors"
CONTRACT_CODES = frozenset({
    "invalid_json", "missing_field", "wrong_type", "invalid_key", "key_too_long", "invalid_tenant",
    "bad_consistency", "unauthorized", "forbidden", "not_found", "method_not_allowed", "cas_mismatch",
    "value_too_large", "payload_too_large", "wrong_group", "unavailable", "outcome_unknown", "internal"})
# Transport-level failures a recording client handles by design (fail / info), by exception class or label.
TRANSPORT = re.compile(r"timeout|connect|network|protocol|readerror|writeerror|closed|reset|refused|unreachable"
                       r"|broken|pool|eof|incompleteread|parse|cancel|^oserror$|gaierror|http_?\d{3}|status_?\d{3}",
                       re.IGNORECASE)


def unhandled(ops: pd.DataFrame) -> pd.Series:
    """True where the operation ended in an exception the client did not expect."""
    error = ops["error"].astype(object)
    has_error = error.notna() & (error.astype(str) != "")
    text = error.astype(str)
    known = text.isin(CONTRACT_CODES) | text.str.contains(TRANSPORT)
    return (has_error & ~known) | ops["exception"].notna()


def check_client_errors(ops: pd.DataFrame, windows: pd.DataFrame, thresholds: dict[str, dict[str, Any]],
                        locust_exceptions: pd.DataFrame | None = None) -> Verdict:
    if ops.empty:
        return Verdict(NAME, Status.UNKNOWN, "no client operations in the history")
    limit = float(thresholds["client_errors"]["max_error_rate_outside_faults"])
    grace = float(thresholds["windows"]["client_error_grace_s"]) * 1e9
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    starts = faults["start_time"].to_numpy(float) if not faults.empty else np.empty(0)
    ends = faults["end_time"].to_numpy(float) + grace if not faults.empty else np.empty(0)
    outside = inside_any(event_time(ops).to_numpy(float), starts, ends) < 0
    err = errored(ops).to_numpy()
    bad = unhandled(ops)
    internal = (ops["status"] == 500) | (ops["error"] == "internal")
    completed_outside = int(outside.sum())
    rate = float(err[outside].sum() / completed_outside) if completed_outside else 0.0
    exceptions = locust_exceptions if locust_exceptions is not None else pd.DataFrame()
    codes = ops.loc[err, "error"].astype(object).fillna(ops.loc[err, "type"].astype(object)).value_counts().head(10)
    figures = {"operations": int(len(ops)), "errors": int(err.sum()), "error_rate": float(err.mean()),
               "operations_outside_faults": completed_outside, "errors_outside_faults": int(err[outside].sum()),
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
    if rate > limit:
        evidence.append({"problem": f"error rate outside fault windows {rate:.2%} > {limit:.2%}",
                         "operations": op_records(ops, ops.index[err & outside], 20)})
    if evidence:
        return Verdict(NAME, Status.FAIL, "; ".join(e["problem"] for e in evidence), evidence, figures)
    return Verdict(NAME, Status.PASS, "", [], figures)

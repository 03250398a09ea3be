"""Error classification and time-binned counts shared by the throughput, validity and plot code.

An operation *errored* when its outcome is unknown (``info``) or it failed for a reason other than a
definite answer of the contract: a 5xx, or a transport exception (no status). Definite refusals (404, 409
cas mismatch, 401/403 on cross-tenant probes, other 4xx) are answers, not errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def errored(ops: pd.DataFrame) -> pd.Series:
    """True where the operation was an error (see the module doc)."""
    status = ops["status"]
    return (ops["type"] == "info") | ((ops["type"] == "fail") & (status.isna() | (status >= 500)))


def event_time(ops: pd.DataFrame) -> pd.Series:
    """When an operation counts (monotonic ns): its completion, or its invoke when it never completed."""
    return ops["complete_time"].fillna(ops["invoke_time"].astype(float))


class Counter:
    """Counts of completed / ok / errored operations in any time interval, by binary search (O(log n))."""

    def __init__(self, ops: pd.DataFrame) -> None:
        order = np.argsort(event_time(ops).to_numpy(float), kind="stable")
        self.times = event_time(ops).to_numpy(float)[order]
        self.ok = np.concatenate([[0], np.cumsum((ops["type"] == "ok").to_numpy()[order])])
        self.err = np.concatenate([[0], np.cumsum(errored(ops).to_numpy()[order])])

    def count(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(completed, ok, errored) operations with start <= time < end, for arrays of intervals (ns)."""
        lo = np.searchsorted(self.times, start, side="left")
        hi = np.searchsorted(self.times, end, side="left")
        return hi - lo, self.ok[hi] - self.ok[lo], self.err[hi] - self.err[lo]

"""Election time per fault, from the topology samples (``topology.jsonl``, one sample every ~0.1 s).

``election_s`` = time of the first sample after the fault started that shows the group with an agreed
leader at a higher term than before the fault, minus the fault's start (seconds). Its resolution is the
sampling interval: ``resolution_s`` is the gap between that sample and the one before it.

A sample is stamped at the midpoint of its observation (all nodes asked in parallel, up to 0.5 s) and
carries half the observation's span (``half_width``, ns): the new leader was seen at some instant within
that sample's time +- half width. ``election_uncertainty_s`` is that half width (seconds) and
``election_upper_s`` = ``election_s`` + ``election_uncertainty_s``: the latest the election can have
completed, the figure to compare with a threshold. Topology files written before samples carried a half
width have NaN uncertainty, and there ``election_upper_s`` equals ``election_s`` (the best known).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ELECTION_COLUMNS = ["fault_id", "fault", "group", "targeted", "fault_start_time", "leader_before", "term_before",
                    "leader_after", "term_after", "elected_time", "election_s", "election_uncertainty_s",
                    "election_upper_s", "resolution_s", "sample_before_gap_s", "leader_was_target"]


def election_per_fault(topology: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """One row per (applied fault, group). ``election_s`` is NaN when no new-term leader was sampled after the
    fault (no election happened, or sampling stopped); ``leader_was_target`` says whether the fault hit the
    group's leader (then an election is expected). ``sample_before_gap_s``: fault start minus the last sample
    before it (seconds; NaN when there is none)."""
    faults = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if faults.empty or topology.empty:
        return pd.DataFrame(columns=ELECTION_COLUMNS)
    rows = []
    for group, samples in topology.groupby("group", sort=True):
        times = samples["time"].to_numpy(float)
        leaders = samples["leader"].to_numpy(object)
        terms = pd.to_numeric(samples["term"], errors="coerce").to_numpy(float)
        has_leader = pd.notna(samples["leader"]).to_numpy()
        half = (pd.to_numeric(samples["half_width"], errors="coerce").to_numpy(float) if "half_width" in samples
                else np.full(len(samples), np.nan))
        for fault in faults.itertuples(index=False):  # few faults; each step below is vectorised
            start = float(fault.start_time)
            before = np.searchsorted(times, start, side="right") - 1
            leader_before = leaders[before] if before >= 0 else None
            term_before = terms[before] if before >= 0 else np.nan
            if before >= 0 and not has_leader[before]:  # leaderless at the start: last known term
                known = np.where(has_leader[: before + 1])[0]
                term_before = terms[known[-1]] if len(known) else np.nan
                leader_before = leaders[known[-1]] if len(known) else None
            after = np.arange(before + 1, len(times))
            hits = after[has_leader[after] & (terms[after] > term_before)] if not np.isnan(term_before) else after[:0]
            hit = int(hits[0]) if len(hits) else -1
            election = (times[hit] - start) / 1e9 if hit >= 0 else np.nan
            uncertainty = half[hit] / 1e9 if hit >= 0 else np.nan
            rows.append({
                "fault_id": fault.fault_id, "fault": fault.fault, "group": group,
                "targeted": fault.group is None or fault.group == group or pd.isna(fault.group),
                "fault_start_time": start, "leader_before": leader_before,
                "term_before": term_before,
                "leader_after": leaders[hit] if hit >= 0 else None,
                "term_after": terms[hit] if hit >= 0 else np.nan,
                "elected_time": times[hit] if hit >= 0 else np.nan,
                "election_s": election,
                "election_uncertainty_s": uncertainty,
                "election_upper_s": election + uncertainty if not np.isnan(uncertainty) else election,
                "resolution_s": (times[hit] - times[hit - 1]) / 1e9 if hit > 0 else np.nan,
                "sample_before_gap_s": (start - times[before]) / 1e9 if before >= 0 else np.nan,
                "leader_was_target": bool(fault.node) and fault.node == leader_before,
            })
    frame = pd.DataFrame(rows, columns=ELECTION_COLUMNS)
    return frame.sort_values(["fault_start_time", "group"], kind="stable").reset_index(drop=True)

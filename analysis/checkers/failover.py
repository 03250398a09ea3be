"""Failover per fault: the targeted group's outage (``analysis.metrics.outage``) and, when the fault hit
the group's leader, its election time (``analysis.metrics.election``), against ``[failover]`` thresholds.

Per (fault, targeted group): PASS when the outage is at most ``outage_max_s`` and, if the leader was hit,
a new leader was sampled within ``election_max_s``. FAIL when either is exceeded, or the group never
served an ok again although load continued past ``outage_max_s``. UNKNOWN when the minimum-load gate
(``analysis.metrics.validity``) says the load was too thin to see the fault, or the topology samples are
too sparse (or absent) to time the election. The verdict is the worst over all faults.

A fault whose action failed (not applied: e.g. a kill that did not take effect, ``analysis.windows``) is a
FAIL: the fault the criterion needs did not happen. A run whose chaos experiments (journals) ran but applied
no fault is a FAIL too (UNKNOWN when they were all interrupted), with the experiments' own problems as the
reason. NOT APPLICABLE only when the run had no chaos experiment and no fault at all (a plain load run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import is_missing, jsonable
from ..journals import summary
from ..verdict import Status, Verdict, worst

NAME = "failover"


def _one(outage: dict[str, Any], gate: dict[str, Any] | None, election: dict[str, Any] | None,
         limits: dict[str, Any], sample_gap: float) -> tuple[Status, str]:
    problems, unknown = [], []
    outage_s = outage.get("outage_s")
    if outage_s is not None and not np.isnan(outage_s) and outage_s > limits["outage_max_s"]:
        problems.append(f"outage {outage_s:.3f} s > {limits['outage_max_s']} s")
    if not outage.get("recovered"):
        after = gate["load_after_s"] if gate else 0.0
        if after >= limits["outage_max_s"]:
            problems.append(f"no acknowledged operation on the group in the {after:.1f} s of load after the fault")
        else:
            unknown.append("no acknowledged operation after the fault, and the load stopped too soon to tell")
    if gate is not None and not gate["valid"]:
        unknown.append(f"load too thin to measure: {gate['reason']}")
    if election is None:
        unknown.append("no topology samples to time the election")
    elif election["leader_was_target"]:
        elected = election["election_s"]
        gap = election["sample_before_gap_s"]
        if elected is not None and not np.isnan(elected):
            # The sample that saw the new leader is stamped at its observation's midpoint; the election
            # may have ended as late as its upper edge. Over the limit even at the midpoint is a FAIL;
            # over it only within the sample's uncertainty cannot be decided.
            upper = election.get("election_upper_s", elected)
            upper = elected if upper is None or np.isnan(upper) else upper
            if elected > limits["election_max_s"]:
                problems.append(f"election {elected:.3f} s > {limits['election_max_s']} s")
            elif upper > limits["election_max_s"]:
                unknown.append(f"election {elected:.3f} s (up to {upper:.3f} s within the sample's uncertainty) "
                               f"may exceed {limits['election_max_s']} s")
        elif gap is None or np.isnan(gap) or gap > sample_gap:
            unknown.append("topology sampling did not cover the fault")
        else:
            problems.append("the leader was hit and no new leader was sampled afterwards")
    if problems:
        return Status.FAIL, "; ".join(problems)
    if unknown:
        return Status.UNKNOWN, "; ".join(unknown)
    return Status.PASS, ""


def _not_applied(windows: pd.DataFrame) -> list[dict[str, Any]]:
    """A FAIL row per fault whose action failed (it opened no window, so nothing was measured)."""
    if windows.empty:
        return []
    rows = []
    for w in windows[~windows["applied"].astype(bool)].to_dict("records"):
        detail = w.get("detail") if isinstance(w.get("detail"), dict) else {}
        where = next((str(v) for v in (w.get("node"), w.get("group")) if not is_missing(v)), "?")
        rows.append(jsonable({"fault_id": w["fault_id"], "fault": w["fault"], "group": w.get("group"),
                              "status": Status.FAIL.value, "outage_s": None, "election_s": None,
                              "leader_was_target": None,
                              "reason": f"{w['fault_id']} {w['fault']} on {where} was not applied: its action "
                                        f"failed ({detail.get('error') or 'no error recorded'})"}))
    return rows


def _no_fault(journals: dict[str, dict[str, Any]] | None) -> Verdict:
    """No fault window at all: NOT APPLICABLE without experiments, else why the experiments applied none."""
    if not journals:
        return Verdict(NAME, Status.NOT_APPLICABLE, "this run had no chaos experiment and injected no fault")
    rows = summary(journals)
    why = "; ".join(f"{r['experiment']}: {'; '.join(r['problems']) or 'its method injected no fault'}"
                    for r in rows[:3])
    interrupted = all(r["status"] in ("interrupted", "aborted") for r in rows)
    status = Status.UNKNOWN if interrupted else Status.FAIL
    return Verdict(NAME, status, f"{len(rows)} chaos experiment(s) ran but no fault was applied: {why}",
                   rows, {"faults": 0, "experiments": len(rows)})


def check_failover(outages: pd.DataFrame, elections: pd.DataFrame, gates: pd.DataFrame,
                   windows: pd.DataFrame, thresholds: dict[str, dict[str, Any]],
                   journals: dict[str, dict[str, Any]] | None = None) -> Verdict:
    """``journals``: the run's Chaos Toolkit journals (``analysis.journals.read_journals``), so that
    experiments which ran but applied no fault are a FAIL rather than NOT APPLICABLE."""
    if not windows.empty:  # a phase's own fault that is not a failover test (e.g. sql's queries during a kill)
        measured = windows["detail"].map(lambda d: not (isinstance(d, dict) and d.get("measure_failover") is False))
        skipped = set(windows.loc[~measured, "fault_id"])
        windows = windows[measured]
        if skipped and not outages.empty:
            outages = outages[~outages["fault_id"].isin(skipped)]
    failed = _not_applied(windows)
    applied = windows[windows["applied"].astype(bool)] if not windows.empty else windows
    if applied.empty:
        if failed:
            return Verdict(NAME, Status.FAIL, f"no fault took effect: {len(failed)} fault action(s) failed; "
                           f"{failed[0]['reason']}", failed, {"faults": 0, "not_applied": len(failed)})
        return _no_fault(journals)
    limits, sample_gap = thresholds["failover"], float(thresholds["validity"]["max_sample_gap_s"])
    targeted = outages[outages["targeted"].astype(bool)] if not outages.empty else outages
    gate_by = {(r["fault_id"], r["group"]): r for r in gates.to_dict("records")}
    election_by = {(r["fault_id"], r["group"]): r for r in elections.to_dict("records")}
    results, statuses = [], []
    for row in targeted.to_dict("records"):
        key = (row["fault_id"], row["group"])
        status, reason = _one(row, gate_by.get(key), election_by.get(key), limits, sample_gap)
        election = election_by.get(key) or {}
        statuses.append(status)
        results.append(jsonable({"fault_id": row["fault_id"], "fault": row["fault"], "group": row["group"],
                                 "status": status.value, "reason": reason, "outage_s": row["outage_s"],
                                 "election_s": election.get("election_s"),
                                 "election_uncertainty_s": election.get("election_uncertainty_s"),
                                 "leader_was_target": election.get("leader_was_target")}))
    if not results and not failed:
        return Verdict(NAME, Status.UNKNOWN, "faults were injected but no group had acknowledged operations",
                       [], {"faults": int(len(applied))})
    results += failed  # a fault that did not happen is a FAIL of the criterion that needed it
    statuses += [Status.FAIL] * len(failed)
    status = worst(statuses)
    outage_values = [r["outage_s"] for r in results if r["outage_s"] is not None]
    # Only elections of groups whose leader the fault hit are judged against the limit, so only they make the
    # figure (a partition's other groups re-elect by leader fallback, seconds later, and are not a failover).
    election_values = [r["election_s"] for r in results if r["election_s"] is not None and r.get("leader_was_target")]
    figures = {"faults": int(len(applied)), "not_applied": len(failed), "measured": len(results) - len(failed),
               "worst_outage_s": max(outage_values) if outage_values else None,
               "worst_election_s": max(election_values) if election_values else None,
               "outage_max_s": limits["outage_max_s"], "election_max_s": limits["election_max_s"]}
    if status is Status.PASS:
        return Verdict(NAME, status, "", results, figures)
    counted = sum(s is status for s in statuses)
    first = next(r["reason"] for r in results if r["status"] == status.value)
    return Verdict(NAME, status, f"{counted} of {len(results)} fault/group measurement(s) {status.value}: {first}",
                   results, figures)

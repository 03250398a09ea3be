"""Adaptive transport: latency injected between two regions, the inter-region link switches HTTP/2 -> HTTP/3
(verified in the logs), and back once the latency is removed (issue 13).

Facts (facts/transport.json, tier7/verify/criteria/transport.py): the pair, the injection and removal
times, every recorded write through the pair (start time, status, the protocol its forwarded answer named,
latency), the read-back of the acknowledged writes, and the nodes' ``transport_switch`` and ``forward_retry`` log lines.

Judge, from the harness's own evidence first (each answer's ``transport``), the logs second:
- in the steady state before the injection (from ``steady_from``, when the phase saw the pair on h2) the
  pair's answers are on ``h2`` (else there is no switch to show);
- the first ``h3`` answer comes within [transport] switch_max_s of the injection, and of the answers
  started from then until the removal at least min_h3_share are ``h3``;
- a ``transport_switch`` log line h2 -> h3 for the pair lies between the injection and the removal, and one
  h3 -> h2 after the removal; the first ``h2`` answer after the removal also comes within switch_max_s;
- no acknowledged write lost; at most max_errors_per_switch failed writes, and as many forwarded requests
  the nodes retried because the connection broke under them (``forward_retry`` log lines of the pair: a
  retry hides the cut from the client, not from the logs), within switch_window_s of each
  switch (the moment the answers changed protocol, or any node's logged switch of the pair: a node that
  cuts its in-flight requests when it switches may answer on the new protocol only seconds later), and at
  most max_error_fraction failed overall.
UNKNOWN below the evidence floors ([evidence] transport_*) or without an injection on record.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome

PROTOCOLS = ("h2", "h3")


def _pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def _first(rows: list[dict[str, Any]], protocol: str, since_ns: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["t_ns"] >= since_ns and r.get("transport") == protocol), None)


def _switches(lines: list[dict[str, Any]], pair: str, to: str, after: float, before: float | None,
              frm: str | None = None, either_side: bool = False) -> list[dict[str, Any]]:
    """Logged switches of ``pair`` to ``to`` (only from ``frm`` when given; logged by either side, ``a/b`` or
    ``b/a``, when ``either_side``) with ``after <= ts <= before`` (wall seconds; ``before`` None: no end),
    in time order."""
    sides = {pair, "/".join(reversed(pair.split("/")))} if either_side else {pair}
    found = [line for line in lines if line.get("pair") in sides and line.get("to") == to
             and (frm is None or line.get("from") == frm) and float(line.get("ts") or 0) >= after
             and (before is None or float(line.get("ts") or 0) <= before)]
    return sorted(found, key=lambda line: float(line.get("ts") or 0))


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["transport"]
    plan, floors = facts.plan["transport"], facts.plan["evidence"]
    switch_max_s = float(plan["switch_max_s"])
    threshold = (f"h2 -> h3 within {switch_max_s:g} s of +{plan['added_rtt_ms']:g} ms RTT (logs show it), "
                 f">= {float(plan['min_h3_share']):.0%} of requests on h3 after, back to h2 after removal; "
                 f"no acknowledged write lost, <= {int(plan['max_errors_per_switch'])} errors per switch")
    recorded = facts.get("transport")
    if early := phase_outcome(criterion, recorded, "transport", threshold, "evidence/transport.json"):
        return early
    rows = sorted(recorded.get("requests") or [], key=lambda r: r["t_ns"])
    injected, removed = recorded.get("injected"), recorded.get("removed")
    pair = recorded.get("pair", "?")
    if not injected or not removed:
        return CriterionResult(criterion, Verdict(criterion.id, Status.UNKNOWN, "no latency injection on record"),
                               "", threshold, "evidence/transport.json")
    t_in, t_out = int(injected["t_ns"]), int(removed["t_ns"])
    errors = [r for r in rows if r.get("status") != 200]
    steady_ns = int((recorded.get("steady_from") or {}).get("t_ns", 0))  # the h2 steady state began
    before = [r for r in rows if steady_ns <= r["t_ns"] < t_in and r.get("status") == 200]
    first_h3 = _first(rows, "h3", t_in)
    first_h2 = _first(rows, "h2", t_out)
    switch_s = (first_h3["t_ns"] - t_in) / 1e9 if first_h3 else None
    back_s = (first_h2["t_ns"] - t_out) / 1e9 if first_h2 else None
    during = [r for r in rows if first_h3 and first_h3["t_ns"] <= r["t_ns"] < t_out and r.get("status") == 200]
    h3_share = sum(r.get("transport") == "h3" for r in during) / len(during) if during else 0.0
    h2_before = sum(r.get("transport") == "h2" for r in before) / len(before) if before else 0.0
    lines = recorded.get("switch_log") or []
    # 0.5 s of slack each way: the log's wall clock and the history's are read in different processes
    log_up = next(iter(_switches(lines, pair, "h3", float(injected["wall"]) - 0.5, float(removed["wall"]) + 0.5,
                                 frm="h2")), None)
    log_down = next(iter(_switches(lines, pair, "h2", float(removed["wall"]) - 0.5, None, frm="h3")), None)
    window_ns = int(float(plan["switch_window_s"]) * 1e9)
    offset_ns = int(injected["t_ns"]) - float(injected["wall"]) * 1e9  # wall (logs) -> the history's clock
    per_switch: dict[str, list[dict[str, Any]]] = {}
    cut: dict[str, list[dict[str, Any]]] = {}  # forwarded requests retried (connection lost) near a switch
    sides = {pair, "/".join(reversed(pair.split("/")))}
    retries = [line for line in recorded.get("retry_log") or [] if line.get("pair") in sides and line.get("ts")]
    for name, at, to, since, until in (("up", first_h3, "h3", float(injected["wall"]), float(removed["wall"])),
                                       ("down", first_h2, "h2", float(removed["wall"]), None)):
        # the moments the pair switched: the first answer on the new protocol, and every node's logged
        # switch (in-flight requests are cut when the node switches; its answers may name the new protocol
        # only seconds later, e.g. after the forwarder tried a same-region follower for a while)
        anchors = [at["t_ns"]] if at is not None else []
        anchors += [int(float(line["ts"]) * 1e9 + offset_ns) for line in _switches(lines, pair, to, since - 0.5, None if until is None else until + 0.5, either_side=True)]
        if anchors:
            per_switch[name] = [r for r in errors if any(abs(r["t_ns"] - a) <= window_ns for a in anchors)]
            cut[name] = [line for line in retries
                         if any(abs(float(line["ts"]) * 1e9 + offset_ns - a) <= window_ns for a in anchors)]
    lost = (recorded.get("read_back") or {}).get("lost") or []
    latency = {p: [float(r["latency_ms"]) for r in rows if r.get("transport") == p and r.get("status") == 200]
               for p in PROTOCOLS}
    figures = {"pair": pair, "requests": len(rows), "errors": len(errors), "switch_s": _round(switch_s),
               "switch_back_s": _round(back_s), "h3_share_after_switch": round(h3_share, 4),
               "h2_share_before": round(h2_before, 4), "requests_after_switch": len(during),
               "lost_writes": len(lost), "log_switch_up": bool(log_up), "log_switch_down": bool(log_down),
               **{f"latency_{p}_p50_ms": _pct(v, 0.5) for p, v in latency.items()},
               **{f"latency_{p}_p99_ms": _pct(v, 0.99) for p, v in latency.items()},
               **{f"errors_around_switch_{k}": len(v) for k, v in per_switch.items()},
               **{f"retried_around_switch_{k}": len(v) for k, v in cut.items()}}
    measured = (f"{pair}: h2 -> h3 after {_fmt(switch_s)}, back after {_fmt(back_s)}; {h3_share:.0%} of "
                f"{len(during)} requests on h3 after the switch; logs up/down: {bool(log_up)}/{bool(log_down)}; "
                f"{len(errors)} errors, {len(lost)} lost")
    problems: list[str] = []
    if lost:
        problems.append(f"{len(lost)} acknowledged write(s) lost")
    for name, errs in per_switch.items():
        if len(errs) > int(plan["max_errors_per_switch"]):
            problems.append(f"{len(errs)} failed request(s) around the switch {name} (in-flight requests lost?)")
    for name, lines in cut.items():
        if len(lines) > int(plan["max_errors_per_switch"]):
            problems.append(f"{len(lines)} forwarded request(s) cut around the switch {name} and retried by the "
                            f"node (its log: forward_retry): in-flight requests lost by the switch")
    if rows and len(errors) / len(rows) > float(plan["max_error_fraction"]):
        problems.append(f"{len(errors)}/{len(rows)} requests failed")
    if before and h2_before < float(plan["min_h3_share"]):
        problems.append(f"only {h2_before:.0%} of the answers before the injection were on h2: no switch to show")
    if first_h3 is None:
        problems.append("no answer carried by h3 after the injection")
    elif switch_s > switch_max_s:
        problems.append(f"switch to h3 took {switch_s:.2f} s > {switch_max_s:g} s")
    elif during and h3_share < float(plan["min_h3_share"]):
        problems.append(f"only {h3_share:.0%} of the requests after the switch were on h3")
    if first_h3 is not None and log_up is None:
        problems.append(f"no transport_switch h2 -> h3 log line for {pair} while the latency was in force")
    if first_h2 is None:
        problems.append("no answer carried by h2 after the latency was removed")
    elif back_s > switch_max_s:
        problems.append(f"switch back to h2 took {back_s:.2f} s > {switch_max_s:g} s")
    elif log_down is None:
        problems.append(f"no transport_switch h3 -> h2 log line for {pair} after the removal")
    if problems:
        verdict = Verdict(criterion.id, Status.FAIL, "; ".join(problems), problems, figures)
    elif len(rows) < int(floors["transport_min_requests"]) or \
            len(during) < int(floors["transport_min_requests_after_switch"]) or \
            len(before) < int(floors["transport_min_requests_before"]):
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"too little load: {len(rows)} requests, {len(before)} "
                          f"before the injection, {len(during)} after the switch", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/transport.json")
    out.evidence_doc = {"figures": figures, "problems": problems, "switch_log": recorded.get("switch_log"),
                        "log_switch_up": log_up, "log_switch_down": log_down, "lost": lost[:50],
                        "retried_around_switch": {k: v[:20] for k, v in cut.items()},
                        "errors": errors[:50], "timeline": [
                            {"t_s": round((r["t_ns"] - t_in) / 1e9, 3), "status": r.get("status"),
                             "transport": r.get("transport"), "latency_ms": r.get("latency_ms")} for r in rows]}
    return out


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _fmt(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "never"

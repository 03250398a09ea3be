"""Multi-Raft: 3 independent Raft groups, each with 3 nodes, all healthy.

Judge from the harness's own observations (every node's /v1/node): the plan's number of groups, each
with the plan's number of members, one per region, all reachable, one agreed leader — at the start and at
the end of the run. Independence: during each leader kill of the failover phase, the other groups'
leaders and terms did not change (from the failover phase's before/after observations).
"""

from __future__ import annotations

from typing import Any

from analysis.verdict import Status, Verdict

from ...plan import CRITERIA_BY_ID
from ...runfolder import write_json
from ..context import RunContext
from ..results import CriterionResult


def structure_problems(topology: dict[str, Any], groups: int, per_group: int, regions: int) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if len(topology) != groups:
        problems.append({"problem": f"{len(topology)} groups, expected {groups}", "groups": sorted(topology)})
    for name, view in sorted(topology.items()):
        members = view.get("members", {})
        if len(members) != per_group:
            problems.append({"group": name, "problem": f"{len(members)} members, expected {per_group}"})
        member_regions = {m.get("region") for m in members.values()}
        if len(member_regions) < min(per_group, regions):
            problems.append({"group": name, "problem": f"members span {len(member_regions)} region(s)"})
        down = [n for n, m in members.items() if not m.get("reachable")]
        if down:
            problems.append({"group": name, "problem": "members unreachable", "nodes": down})
        if not view.get("leader"):
            problems.append({"group": name, "problem": "no agreed leader"})
    return problems


def independence_problems(topology: Any, windows: Any, elections: Any, limit_s: float) -> tuple[list, int]:
    """Other groups' leader or term changing between a leader kill and its group's new leader.

    From topology samples (monotonic ns): for each applied kill-leader window, the window is from the
    exact injection (``injected_ns``) to the targeted group's election (or ``limit_s`` later). Returns
    (problems, kills examined).
    """
    problems: list[dict[str, Any]] = []
    if topology is None or windows is None or topology.empty or windows.empty:
        return problems, 0
    kills = windows[(windows["fault"] == "kill-leader") & windows["applied"].astype(bool)]
    elected = {}
    if elections is not None and not elections.empty:
        targeted = elections[elections["targeted"].astype(bool)]
        elected = dict(zip(targeted["fault_id"], targeted["elected_time"], strict=True))
    for kill in kills.to_dict("records"):
        detail = kill.get("detail") if isinstance(kill.get("detail"), dict) else {}
        start = float(detail.get("injected_ns") or kill["start_time"])
        end = elected.get(kill["fault_id"])
        end = float(end) if end == end and end is not None else start + limit_s * 1e9  # NaN-safe
        for group, samples in topology.groupby("group"):
            if group == kill["group"]:
                continue
            before = samples[samples["time"] <= start].tail(1)
            during = samples[(samples["time"] > start) & (samples["time"] <= end)]
            if before.empty or during.empty:
                continue
            leader, term = before["leader"].iloc[0], before["term"].iloc[0]
            moved = during[(during["term"] != term) | (during["leader"] != leader)]
            if not moved.empty:
                problems.append({"killed_in": kill["group"], "fault_id": kill["fault_id"], "group": group,
                                 "problem": "leader or term moved while another group elected",
                                 "leader_before": leader, "term_before": term,
                                 "leader_seen": moved["leader"].iloc[0], "term_seen": moved["term"].iloc[0]})
    return problems, len(kills)


def judge(ctx: RunContext, analysis: object = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["multi-raft"]
    sizes = ctx.sizes
    groups, per_group, regions = int(sizes["groups"]), int(sizes["nodes_per_group"]), int(sizes["regions"])
    threshold = f"{groups} groups x {per_group} nodes, healthy; other groups unaffected by a leader kill"
    before, after = ctx.facts.get("topology_before"), ctx.facts.get("topology_after")
    if not before:
        return CriterionResult(criterion, Verdict(criterion.id, Status.NOT_RUN, "topology was not observed"),
                               threshold=threshold)
    problems = [{"when": "start", **p} for p in structure_problems(before, groups, per_group, regions)]
    if after:
        problems += [{"when": "end", **p} for p in structure_problems(after, groups, per_group, regions)]
    kills = ctx.facts.get("failover", {}).get("kills", [])
    run = getattr(analysis, "run", None)
    tables = getattr(analysis, "tables", {})
    independence, examined = independence_problems(getattr(run, "topology", None), tables.get("windows"),
                                                   tables.get("elections"), float(ctx.thresholds["failover_s"]))
    problems += independence
    write_json(ctx.evidence_path("multi-raft.json"), {"before": before, "after": after, "kills": kills,
                                                      "problems": problems})
    healthy_groups = len(before) - len({p.get("group") for p in problems if p.get("when") == "start"})
    measured = (f"{len(before)} groups x {[len(v['members']) for v in before.values()]} nodes; "
                f"{max(healthy_groups, 0)} healthy at start; other groups steady through {examined} leader kill(s)")
    if problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} problem(s): {problems[0]['problem']}",
                          problems)
    elif not examined:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "structure and health PASS, but independence was not "
                          "exercised (no leader kill was measured)")
    else:
        verdict = Verdict(criterion.id, Status.PASS)
    return CriterionResult(criterion, verdict, measured, threshold, "evidence/multi-raft.json")

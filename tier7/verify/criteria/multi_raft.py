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
from ..context import RunContext
from ..httpjson import write_json
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


def independence_problems(kills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems = []
    for kill in kills:
        for group, seen in kill.get("others", {}).items():
            if seen["term_before"] != seen["term_after"] or seen["leader_before"] != seen["leader_after"]:
                problems.append({"killed_in": kill["group"], "group": group, "problem": "leader or term moved",
                                 **seen})
    return problems


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
    problems += independence_problems(kills)
    write_json(ctx.evidence_path("multi-raft.json"), {"before": before, "after": after, "kills": kills,
                                                      "problems": problems})
    healthy_groups = len(before) - len({p.get("group") for p in problems if p.get("when") == "start"})
    measured = (f"{len(before)} groups x {[len(v['members']) for v in before.values()]} nodes; "
                f"{max(healthy_groups, 0)} healthy at start; {len(kills)} leader kill(s) checked for independence")
    if problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} problem(s): {problems[0]['problem']}",
                          problems)
    elif not kills:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "structure and health PASS, but independence was not "
                          "exercised (the failover phase did not run)")
    else:
        verdict = Verdict(criterion.id, Status.PASS)
    return CriterionResult(criterion, verdict, measured, threshold, "evidence/multi-raft.json")

"""Multi-Raft: 3 independent Raft groups, each with 3 nodes, all healthy.

Structure and health from the harness's own observations (facts/topology.json: every node's /v1/node at
the start and at the end): the plan's number of groups, each with the plan's number of members, one per
region, all reachable, one agreed leader. Independence, from the topology samples (topology.jsonl): during
each applied leader kill — from its exact injection to its group's new leader — the other groups' leaders
and terms did not move. A kill with no sample of some other group inside that window was not observed:
the verdict is then UNKNOWN, naming the kill, never PASS.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, result


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


def independence(topology: Any, windows: Any, elections: Any, limit_s: float) -> dict[str, Any]:
    """Other groups' leader or term moving between a leader kill and its group's new leader.

    From topology samples (monotonic ns): for each applied kill-leader window, from the exact injection
    (``injected_ns``) to the targeted group's election (or ``limit_s`` later). Returns ``problems`` (moves),
    ``kills`` (applied kills), ``examined`` (kills with a sample of every other group before and inside the
    window), ``unobserved`` (the others: which group had no sample), ``samples`` (samples inside windows).
    """
    out: dict[str, Any] = {"problems": [], "kills": 0, "examined": 0, "unobserved": [], "samples": 0}
    if windows is None or windows.empty:
        return out
    kills = windows[(windows["fault"] == "kill-leader") & windows["applied"].astype(bool)]
    out["kills"] = len(kills)
    if kills.empty:
        return out
    if topology is None or topology.empty:
        out["unobserved"] = [{"fault_id": k, "problem": "no topology samples at all"} for k in kills["fault_id"]]
        return out
    elected = {}
    if elections is not None and not elections.empty:
        targeted = elections[elections["targeted"].astype(bool)]
        elected = dict(zip(targeted["fault_id"], targeted["elected_time"], strict=True))
    for kill in kills.to_dict("records"):
        detail = kill.get("detail") if isinstance(kill.get("detail"), dict) else {}
        start = float(detail.get("injected_ns") or kill["start_time"])
        end = elected.get(kill["fault_id"])
        end = float(end) if end is not None and end == end else start + limit_s * 1e9  # NaN-safe
        blind = []
        for group, samples in topology.groupby("group"):
            if group == kill["group"]:
                continue
            before = samples[samples["time"] <= start].tail(1)
            during = samples[(samples["time"] > start) & (samples["time"] <= end)]
            out["samples"] += len(during)
            if before.empty or during.empty:
                blind.append(group)
                continue
            leader, term = before["leader"].iloc[0], before["term"].iloc[0]
            moved = during[(during["term"] != term) | (during["leader"] != leader)]
            if not moved.empty:
                out["problems"].append({"killed_in": kill["group"], "fault_id": kill["fault_id"], "group": group,
                                        "problem": "leader or term moved while another group elected",
                                        "leader_before": leader, "term_before": term,
                                        "leader_seen": moved["leader"].iloc[0], "term_seen": moved["term"].iloc[0]})
        if blind:
            out["unobserved"].append({"fault_id": kill["fault_id"], "killed_in": kill["group"],
                                      "window_s": round((end - start) / 1e9, 3),
                                      "problem": f"no topology sample of {', '.join(map(str, blind))} "
                                                 "before and inside the kill window"})
        else:
            out["examined"] += 1
    return out


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["multi-raft"]
    sizes = facts.sizes
    groups, per_group, regions = int(sizes["groups"]), int(sizes["nodes_per_group"]), int(sizes["regions"])
    threshold = f"{groups} groups x {per_group} nodes, healthy; other groups unaffected by a leader kill"
    observed = facts.get("topology") or {}
    before, after = observed.get("before"), observed.get("after")
    if not before:
        return result(criterion, Status.NOT_RUN, "topology was not observed (no facts/topology.json)", threshold)
    problems = [{"when": "start", **p} for p in structure_problems(before, groups, per_group, regions)]
    if after:
        problems += [{"when": "end", **p} for p in structure_problems(after, groups, per_group, regions)]
    run = getattr(analysis, "run", None)
    tables = getattr(analysis, "tables", {}) or {}
    seen = independence(getattr(run, "topology", None), tables.get("windows"), tables.get("elections"),
                        float(facts.plan["failover"]["election_max_s"]))
    problems += seen["problems"]
    healthy_groups = len(before) - len({p.get("group") for p in problems if p.get("when") == "start"})
    figures = {"groups": len(before), "kills": seen["kills"], "kills_examined": seen["examined"],
               "samples_in_kill_windows": seen["samples"]}
    measured = (f"{len(before)} groups x {[len(v.get('members', {})) for v in before.values()]} nodes; "
                f"{max(healthy_groups, 0)} healthy at start; other groups steady through {seen['examined']} of "
                f"{seen['kills']} leader kill(s) ({seen['samples']} topology samples inside the kill windows)")
    if problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} problem(s): {problems[0]['problem']}",
                          problems, figures)
    elif not after:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "the topology at the end was not observed", figures=figures)
    elif analysis is None:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "structure and health PASS, but the analysis did not run: "
                          "independence not judged", figures=figures)
    elif seen["unobserved"]:
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"structure and health PASS, but {len(seen['unobserved'])} "
                          f"leader kill(s) not observed: {seen['unobserved'][0]['problem']}", seen["unobserved"],
                          figures)
    elif not seen["examined"]:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "structure and health PASS, but independence was not "
                          "exercised (no leader kill was applied)", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/multi-raft.json")
    out.evidence_doc = {"before": before, "after": after, "kills": (facts.get("failover") or {}).get("kills", []),
                        "independence": seen, "problems": problems}
    return out

"""God-tier preset loads without errors: every node answered /v1/config with the plan's preset
(facts/preset.json) and its log (the run's copy, logs/<node>.log) shows it started with that preset and
no ERROR before. Features the plan names that the target lacks are listed (their own criteria are NOT
RUN); a node on another preset, unreachable, or logging errors at start is a FAIL."""

from __future__ import annotations

import json
from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, result

PLAN_FEATURES = ["multi_raft", "federation", "crdt", "geo_replication", "adaptive_transport",
                 "intelligent_routing", "pipeline_parallelism"]


def started_with(log_text: str, preset: str) -> tuple[bool, list[str]]:
    """(a node_started line names ``preset``, ERROR/CRITICAL lines logged before it was up)."""
    started, errors = False, []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("event") == "node_started":
            started = started or entry.get("preset") == preset
            break
        if entry.get("level") in ("ERROR", "CRITICAL"):
            errors.append(line[:300])
    return started, errors


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["preset"]
    preset = facts.plan["plan"]["preset"]
    threshold = f"every node on `{preset}`, no errors at start"
    recorded = facts.get("preset")
    configs: dict[str, Any] = (recorded or {}).get("configs", {})
    if not configs:
        return result(criterion, Status.NOT_RUN, "the preset phase did not run (no facts/preset.json)", threshold)
    problems: list[dict[str, Any]] = []
    for node, config in configs.items():
        if config is None:
            problems.append({"node": node, "problem": "no answer to /v1/config"})
        elif config.get("preset") != preset:
            problems.append({"node": node, "problem": f"preset {config.get('preset')!r}, expected {preset!r}"})
    log_nodes = facts.log_nodes
    for node in log_nodes:
        text = facts.log_text(node)
        if text is None:
            problems.append({"node": node, "problem": "the run has no copy of its log (logs/<node>.log)"})
            continue
        started, errors = started_with(text, preset)
        if not started:
            problems.append({"node": node, "problem": f"log has no node_started line with preset {preset!r}"})
        problems += [{"node": node, "problem": "error logged while starting", "line": e} for e in errors]
    features = next((c.get("features", {}) for c in configs.values() if c), {})
    enabled = [f for f in PLAN_FEATURES if features.get(f, {}).get("enabled")]
    missing = [f for f in PLAN_FEATURES if f not in enabled]
    wrong_preset = len([p for p in problems if "preset" in p["problem"] and "log" not in p["problem"]])
    measured = (f"{len(configs) - wrong_preset}/{len(configs)} nodes on `{preset}`; enabled: {', '.join(enabled) or 'none'}"
                + (f"; not available: {', '.join(missing)}" if missing else ""))
    figures = {"nodes": len(configs), "enabled": enabled, "missing": missing, "logs_read": len(log_nodes)}
    if problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} problem(s): {problems[0]['problem']} "
                          f"on {problems[0]['node']}", problems, figures)
    elif not log_nodes:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "target gives no logs: cannot see it load without errors",
                          figures=figures)
    else:
        note = (f"preset loaded on every node; features the target does not provide ({', '.join(missing)}) are "
                "judged by their own criteria") if missing else ""
        verdict = Verdict(criterion.id, Status.PASS, note, figures=figures)
    return CriterionResult(criterion, verdict, measured, threshold, "facts/preset.json")

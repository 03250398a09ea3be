"""God-tier preset loads without errors: every node answers /v1/config with the plan's preset, and its
log shows it started with that preset. Features the plan names that the target lacks are listed (their
own criteria are NOT RUN); a node on another preset, unreachable, or logging errors at start is a FAIL."""

from __future__ import annotations

import json

from analysis.verdict import Status, Verdict

from ...plan import CRITERIA_BY_ID
from ...runfolder import write_json
from ..context import RunContext
from ..httpjson import get_json
from ..results import CriterionResult

PLAN_FEATURES = ["multi_raft", "federation", "crdt", "geo_replication", "adaptive_transport",
                 "intelligent_routing", "pipeline_parallelism"]


def run(ctx: RunContext) -> None:
    configs = {node.name: get_json(f"{node.url}/v1/config") for node in ctx.nodes()}
    ctx.facts["configs"] = configs
    write_json(ctx.evidence_path("preset.json"), configs)


def started_with(log_text: str, preset: str) -> tuple[bool, list[str]]:
    """(a node_started line names ``preset``, ERROR/CRITICAL lines logged before it was up)."""
    started, errors = False, []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == "node_started":
            started = started or entry.get("preset") == preset
            break
        if entry.get("level") in ("ERROR", "CRITICAL"):
            errors.append(line[:300])
    return started, errors


def judge(ctx: RunContext, analysis: object = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["preset"]
    preset = ctx.plan["plan"]["preset"]
    configs = ctx.facts.get("configs", {})
    problems: list[dict] = []
    for node, config in configs.items():
        if config is None:
            problems.append({"node": node, "problem": "no answer to /v1/config"})
        elif config.get("preset") != preset:
            problems.append({"node": node, "problem": f"preset {config.get('preset')!r}, expected {preset!r}"})
    logs = ctx.target.log_files()
    for node, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        started, errors = started_with(text, preset)
        if not started:
            problems.append({"node": node, "problem": f"log has no node_started line with preset {preset!r}"})
        problems += [{"node": node, "problem": "error logged while starting", "line": e} for e in errors]
    features = next((c.get("features", {}) for c in configs.values() if c), {})
    enabled = [f for f in PLAN_FEATURES if features.get(f, {}).get("enabled")]
    missing = [f for f in PLAN_FEATURES if f not in enabled]
    measured = (f"{len(configs) - len([p for p in problems if 'preset' in p['problem']])}/{len(configs)} nodes on "
                f"`{preset}`; enabled: {', '.join(enabled) or 'none'}"
                + (f"; not available: {', '.join(missing)}" if missing else ""))
    if not configs:
        verdict = Verdict(criterion.id, Status.NOT_RUN, "the preset phase did not run")
    elif problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} problem(s): {problems[0]['problem']} "
                          f"on {problems[0]['node']}", problems)
    else:
        note = (f"preset loaded on every node; features the target does not provide ({', '.join(missing)}) are "
                "judged by their own criteria") if missing else ""
        verdict = Verdict(criterion.id, Status.PASS, note, figures={"enabled": enabled, "missing": missing})
    if not logs and verdict.status is Status.PASS:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "target gives no logs: cannot see it load without errors")
    return CriterionResult(criterion, verdict, measured, f"every node on `{preset}`, no errors at start",
                           "evidence/preset.json")

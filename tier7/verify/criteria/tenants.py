"""1000 tenants: create, write, read for each, verify isolation.

Run: the admin creates N tenants (plan: 1000); each tenant writes its own key and reads it back through a
random node; then each tenant tries to read and overwrite the next tenant's key with its own token
(recorded as cross-tenant attempts). The plan spot-checks 10 tenants; the harness checks all of them.
Judge: every tenant created, its write acknowledged and read back unchanged, and every cross-tenant
attempt refused (401/403), the victim's value intact. Performance: p50/p99 of the tenants' operations (ms).
"""

from __future__ import annotations

from typing import Any

from analysis.verdict import Status, Verdict

from ...plan import CRITERIA_BY_ID
from ...runfolder import write_json
from ..context import RunContext
from ..results import CriterionResult, phase_outcome

KEY = "profile"
ATTEMPTS = 3  # an operation that failed for certain or timed out (unknown outcome) is asked again


def until_ok(call: Any) -> Any:
    """``call()`` again while its outcome is not ok (bounded); a refusal (4xx) is final at once."""
    result = call()
    for _ in range(ATTEMPTS - 1):
        if result.ok or (result.status is not None and 400 <= result.status < 500 and result.status != 404):
            break
        result = call()
    return result


def run(ctx: RunContext) -> None:
    count = int(ctx.sizes["tenants"])
    names = [f"t{ctx.seed}x{i:04d}" for i in range(count)]
    nodes = ctx.nodes()
    facts: dict[str, Any] = {"requested": count, "created": {}, "wrote": {}, "read": {}, "cross": [], "latency_ms": []}
    ctx.facts["tenants"] = facts

    def create(name: str) -> None:
        client = ctx.client(ctx.rng.choice(nodes), ctx.target.admin_token(), f"verify-tn-{name}")
        result = until_ok(lambda: client.create_tenant(name))
        client.close()
        if result.ok:
            ctx.tokens[name] = result.body["token"]
            facts["created"][name] = True
        facts["latency_ms"].append(result.latency_ms)

    def write_read(name: str) -> None:
        token = ctx.tokens.get(name)
        if token is None:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{name}")
        value = f"{name}-data"
        ctx.written.add((name, KEY))
        wrote = until_ok(lambda: client.put(KEY, value, tenant=name))
        facts["wrote"][name] = wrote.ok
        read = until_ok(lambda: client.get(KEY, tenant=name))
        facts["read"][name] = read.value if read.ok else f"<{read.type}: {read.error}>"
        facts["latency_ms"] += [wrote.latency_ms, read.latency_ms]
        client.close()

    def intrude(pair: tuple[str, str]) -> None:
        attacker, victim = pair
        token = ctx.tokens.get(attacker)
        if token is None or victim not in ctx.tokens:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{attacker}-x")
        read = client.get(KEY, tenant=victim, cross_tenant=True)
        write = client.put(KEY, f"stolen-by-{attacker}", tenant=victim, cross_tenant=True)
        if write.type != "fail":
            ctx.written.add((victim, KEY))
        client.close()
        facts["cross"] += [{"attacker": attacker, "victim": victim, "f": r.f, "type": r.type, "status": r.status,
                            "error": r.error} for r in (read, write)]

    ctx.progress.set_phase(f"tenants: create {count}")
    ctx.each(create, names)
    ctx.progress.set_phase(f"tenants: write+read {count}")
    ctx.each(write_read, names)
    ctx.progress.set_phase("tenants: cross-tenant attempts")
    ctx.each(intrude, list(zip(names, names[1:] + names[:1], strict=True)))
    # the victims' data after the intrusions: each must still read back its own value
    ctx.progress.set_phase("tenants: re-read after intrusions")
    facts["after"] = {}

    def reread(name: str) -> None:
        token = ctx.tokens.get(name)
        if token is None:
            return
        client = ctx.client(ctx.rng.choice(nodes), token, f"verify-tn-{name}")
        result = until_ok(lambda: client.get(KEY, tenant=name))
        facts["after"][name] = result.value if result.ok else f"<{result.type}: {result.error}>"
        client.close()

    ctx.each(reread, names)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def judge(ctx: RunContext, analysis: object = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["tenants"]
    facts = ctx.facts.get("tenants")
    threshold = f"{ctx.sizes['tenants']} tenants; every cross-tenant attempt refused"
    if early := phase_outcome(criterion, facts, "tenants", threshold):
        return early
    count = facts["requested"]
    names = [f"t{ctx.seed}x{i:04d}" for i in range(count)]
    problems: list[dict[str, Any]] = []
    for name in names:
        expected = f"{name}-data"
        if not facts["created"].get(name):
            problems.append({"tenant": name, "problem": "not created"})
        elif not facts["wrote"].get(name):
            problems.append({"tenant": name, "problem": "write not acknowledged"})
        elif facts["read"].get(name) != expected:
            problems.append({"tenant": name, "problem": "read back differs", "read": facts["read"].get(name)})
        elif facts.get("after", {}).get(name) != expected:
            problems.append({"tenant": name, "problem": "value changed after other tenants' attempts",
                             "read": facts["after"].get(name)})
    leaks = [c for c in facts["cross"] if not (c["type"] == "fail" and c["status"] in (401, 403))]
    refused = len(facts["cross"]) - len(leaks)
    p50, p99 = percentile(facts["latency_ms"], 0.5), percentile(facts["latency_ms"], 0.99)
    figures = {"tenants": count, "created": len(facts["created"]), "cross_tenant_attempts": len(facts["cross"]),
               "refused": refused, "latency_p50_ms": round(p50, 1), "latency_p99_ms": round(p99, 1)}
    write_json(ctx.evidence_path("tenants.json"), {"figures": figures, "problems": problems, "leaks": leaks,
                                                   "cross_tenant_sample": facts["cross"][:50]})
    measured = (f"{len(facts['created'])}/{count} created, written, read; {refused}/{len(facts['cross'])} "
                f"cross-tenant attempts refused; p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if leaks:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(leaks)} cross-tenant attempt(s) not refused", leaks,
                          figures)
    elif problems:
        verdict = Verdict(criterion.id, Status.FAIL, f"{len(problems)} tenant(s) failed: {problems[0]['problem']}",
                          problems, figures)
    elif len(facts["cross"]) < 2 * count:
        verdict = Verdict(criterion.id, Status.UNKNOWN, "not every tenant's isolation was exercised",
                          figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    return CriterionResult(criterion, verdict, measured, threshold, "evidence/tenants.json")

"""The cloud criterion's judge (analysis/criteria/cloud.py) on hand-made facts folders, every way: PASS when
every byte matches on every backend, FAIL naming the mismatch (a truncated object, a direct read that
differs, a list or delete that disagrees, a paused upload answered 201 or leaving a corrupted object),
UNKNOWN when evidence is missing, NOT APPLICABLE without the "blobs" capability."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from analysis.criteria import cloud
from analysis.facts import RunFacts
from analysis.judge import judge_run
from analysis.verdict import Status

SIZES = [0, 1024, 5 << 20, 64 << 20]
BACKENDS = ("s3", "azure", "gcs")


def sha(tag: str) -> str:
    return (tag.encode().hex() * 64)[:64]


def good_object(name: str, size: int) -> dict:
    digest = sha(f"{name}{size}")
    seen = {"size": size, "sha256": digest}
    return {"name": name, "size": size, "sha256": digest, "put": {"status": 201, **seen},
            "read": {"status": 200, **seen}, "direct": {"found": True, **seen}}


def good_backend() -> dict:
    objects = [good_object(f"obj-{s}", s) for s in SIZES]
    names = sorted(o["name"] for o in objects)
    return {"objects": objects, "overwrite": good_object("obj-1024", 2048),
            "list": {"expected": names, "status": 200, "names": names, "direct": names},
            "delete": [{"name": o["name"], "status": 200, "after": 404, "direct": {"found": False}}
                       for o in objects[:2]]}


def good_chaos() -> dict:
    return {"size": 16 << 20, "paused": True, "resumed": True, "put": {"status": 502},
            "expected_sha256": sha("chaos"), "read_after": {"status": 404}, "direct_after": {"found": False}}


def good_facts() -> dict:
    return {"tenant": "blobs1", "sizes": SIZES, "backends": {b: good_backend() for b in BACKENDS},
            "chaos": {b: good_chaos() for b in BACKENDS}}


def make_run(tmp_path: Path, facts: dict | None, capabilities: tuple[str, ...] = ("blobs",)) -> Path:
    run = tmp_path / "run"
    (run / "facts").mkdir(parents=True)
    (run / "target").mkdir()
    (run / "target" / "nodes.json").write_text("[]")
    (run / "facts" / "verify.json").write_text(json.dumps(
        {"chosen": ["cloud"], "ran": ["cloud"], "complete": True, "capabilities": list(capabilities),
         "log_nodes": []}))
    if facts is not None:
        (run / "facts" / "cloud.json").write_text(json.dumps(facts))
    return run


def verdict(tmp_path: Path, facts: dict | None):
    return cloud.judge(RunFacts(make_run(tmp_path, facts)))


def test_every_byte_matching_on_every_backend_passes(tmp_path):
    out = verdict(tmp_path, good_facts())
    assert out.status is Status.PASS, out.verdict.reason
    assert out.verdict.figures["objects_checked"] == 12 and out.verdict.figures["backends"] == 3


def test_a_truncated_large_object_fails_naming_it(tmp_path):
    facts = good_facts()
    big = facts["backends"]["azure"]["objects"][3]
    big["read"] = {"status": 200, "size": big["size"] - 65536, "sha256": sha("short")}
    big["direct"] = {"found": True, "size": big["size"] - 65536, "sha256": sha("short")}
    out = verdict(tmp_path, facts)
    assert out.status is Status.FAIL
    assert "azure" in out.verdict.reason and "differs" in out.verdict.reason
    assert any(e.get("read_size") == (64 << 20) - 65536 for e in out.verdict.evidence)


def test_a_direct_read_that_differs_fails_even_when_the_target_reads_right(tmp_path):
    facts = good_facts()
    facts["backends"]["gcs"]["objects"][2]["direct"]["sha256"] = sha("other")
    out = verdict(tmp_path, facts)
    assert out.status is Status.FAIL and "backend holds other bytes" in out.verdict.reason


def test_an_object_missing_from_the_backend_fails(tmp_path):
    facts = good_facts()
    facts["backends"]["s3"]["overwrite"]["direct"] = {"found": False}
    assert verdict(tmp_path, facts).status is Status.FAIL


def test_a_failed_put_list_or_delete_fails(tmp_path):
    for mutate in (lambda b: b["objects"][0]["put"].update(status=502),
                   lambda b: b["list"].update(names=b["list"]["names"][1:]),
                   lambda b: b["list"].update(direct=[*b["list"]["direct"], "ghost"]),
                   lambda b: b["delete"][0].update(after=200),
                   lambda b: b["delete"][1].update(direct={"found": True, "size": 1, "sha256": "x"})):
        facts = good_facts()
        mutate(facts["backends"]["s3"])
        assert verdict(tmp_path / str(id(mutate)), facts).status is Status.FAIL


def test_a_paused_backend_must_give_an_error_and_no_corrupted_object(tmp_path):
    accepted = good_facts()
    accepted["chaos"]["s3"]["put"] = {"status": 201}
    assert verdict(tmp_path / "a", accepted).status is Status.FAIL
    corrupted = good_facts()
    corrupted["chaos"]["gcs"]["direct_after"] = {"found": True, "size": 8 << 20, "sha256": sha("half")}
    out = verdict(tmp_path / "b", corrupted)
    assert out.status is Status.FAIL and "corrupted" in out.verdict.reason
    whole = good_facts()  # the backend finished the upload after the resume: whole, so fine
    whole["chaos"]["azure"]["direct_after"] = {"found": True, "size": 16 << 20, "sha256": sha("chaos")}
    whole["chaos"]["azure"]["read_after"] = {"status": 200, "size": 16 << 20, "sha256": sha("chaos")}
    assert verdict(tmp_path / "c", whole).status is Status.PASS


def test_missing_evidence_is_unknown_never_pass(tmp_path):
    cases = []
    no_backend = good_facts()
    del no_backend["backends"]["gcs"]
    cases.append(no_backend)
    small = good_facts()
    small["backends"]["s3"]["objects"] = small["backends"]["s3"]["objects"][:3]  # no 64 MiB object
    small["backends"]["s3"]["list"]["expected"] = small["backends"]["s3"]["list"]["names"] = \
        small["backends"]["s3"]["list"]["direct"] = sorted(o["name"] for o in small["backends"]["s3"]["objects"])
    cases.append(small)
    unreadable = good_facts()
    unreadable["backends"]["azure"]["objects"][3]["direct"] = {"error": "ReadTimeout"}
    cases.append(unreadable)
    no_pause = good_facts()
    no_pause["chaos"]["gcs"]["paused"] = False
    cases.append(no_pause)
    no_chaos = copy.deepcopy(good_facts())
    del no_chaos["chaos"]
    cases.append(no_chaos)
    cases.append({"unavailable": "blob emulators not installed: Azurite"})
    for i, facts in enumerate(cases):
        out = verdict(tmp_path / str(i), facts)
        assert out.status is Status.UNKNOWN, (i, out.verdict.reason)


def test_not_run_without_facts_and_not_applicable_without_the_capability(tmp_path):
    assert verdict(tmp_path / "a", None).status is Status.NOT_RUN
    run = make_run(tmp_path / "b", good_facts(), capabilities=("kv",))
    result = next(r for r in judge_run(run).results if r.criterion.id == "cloud")
    assert result.status is Status.NOT_APPLICABLE and "blobs" in result.verdict.reason
    phase_said = {"not_applicable": "target 'x' has no blob backends (capability \"blobs\")"}
    assert verdict(tmp_path / "c", phase_said).status is Status.NOT_APPLICABLE

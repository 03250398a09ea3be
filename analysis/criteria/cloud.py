"""Cloud adapters: write to AWS S3, read back identical data; repeat for Azure Blob and GCP Cloud Storage.

Facts (facts/cloud.json, tier7/verify/criteria/cloud.py): per backend, each object's size, the SHA-256 the
harness computed of the bytes it sent, the PUT answer, the read back through another node (size and SHA-256
of what arrived) and the direct read from the emulator through the SDK; an overwrite; the list through the
target and directly; deletes (answer, a GET after, a direct read after); chaos: per backend an upload
during which the emulator was paused, its answer, and what the target and the backend hold after the resume.

PASS only when every byte matches on every backend (target read AND direct read), the list and deletes
agree, and every paused upload was answered with an error and left no corrupted object. FAIL names the
first mismatch. UNKNOWN when evidence is missing (a backend not exercised, a direct read that could not be
made, the emulators unavailable, the largest object under the [evidence] floor). NOT APPLICABLE when the
target has no "blobs" capability.
"""

from __future__ import annotations

from typing import Any

from ..facts import RunFacts
from ..plan import CRITERIA_BY_ID
from ..verdict import Status, Verdict
from .result import CriterionResult, phase_outcome, result

PHASE = "cloud"


def _matches(seen: dict[str, Any] | None, size: int, sha: str) -> bool:
    return bool(seen) and seen.get("size") == size and seen.get("sha256") == sha


def object_problems(backend: str, obj: dict[str, Any], what: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(mismatches, missing evidence) of one object written, read back and read directly."""
    bad: list[dict[str, Any]] = []
    missing: list[str] = []
    base = {"backend": backend, "object": obj.get("name"), "check": what, "size": obj.get("size")}
    size, sha = obj.get("size"), obj.get("sha256")
    answer = obj.get("put") or {}
    if answer.get("status") != 201:
        bad.append({**base, "problem": f"PUT answered {answer.get('status')} {answer.get('code') or answer.get('error')}"})
        return bad, missing
    if answer.get("sha256") not in (None, sha) or answer.get("size") not in (None, size):
        bad.append({**base, "problem": "PUT answer names other bytes", "answered_size": answer.get("size"),
                    "answered_sha256": answer.get("sha256"), "sent_sha256": sha})
    read = obj.get("read") or {}
    if read.get("status") != 200 or "sha256" not in read:
        bad.append({**base, "problem": f"read through the target failed: {read.get('status')} {read.get('error', '')}"})
    elif not _matches(read, size, sha):
        bad.append({**base, "problem": "read through the target differs", "read_size": read.get("size"),
                    "read_sha256": read.get("sha256"), "expected_sha256": sha})
    direct = obj.get("direct") or {}
    if "error" in direct or not direct:
        missing.append(f"{backend}/{obj.get('name')}: direct read failed ({direct.get('error', 'not made')})")
    elif not direct.get("found"):
        bad.append({**base, "problem": "not in the backend (direct read through the SDK)"})
    elif not _matches(direct, size, sha):
        bad.append({**base, "problem": "the backend holds other bytes (direct read through the SDK)",
                    "direct_size": direct.get("size"), "direct_sha256": direct.get("sha256"), "expected_sha256": sha})
    return bad, missing


def backend_problems(backend: str, rec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    bad: list[dict[str, Any]] = []
    missing: list[str] = []
    for obj in rec.get("objects", []):
        b, m = object_problems(backend, obj, "write/read")
        bad += b
        missing += m
    if rec.get("overwrite"):
        b, m = object_problems(backend, rec["overwrite"], "overwrite")
        bad += b
        missing += m
    else:
        missing.append(f"{backend}: no overwrite recorded")
    deleted = {d.get("name") for d in rec.get("delete", [])}
    listing = rec.get("list") or {}
    expected = set(listing.get("expected", []))
    if listing.get("status") != 200 or "names" not in listing:
        bad.append({"backend": backend, "check": "list", "problem": f"list answered {listing.get('status')} "
                    f"{listing.get('error', '')}"})
    elif set(listing["names"]) != expected:
        bad.append({"backend": backend, "check": "list", "problem": "list through the target differs",
                    "missing": sorted(expected - set(listing["names"])),
                    "extra": sorted(set(listing["names"]) - expected)})
    direct = listing.get("direct")
    if not isinstance(direct, list):
        missing.append(f"{backend}: direct list failed ({(direct or {}).get('error', 'not made')})")
    elif set(direct) != expected:
        bad.append({"backend": backend, "check": "list", "problem": "the backend lists other objects",
                    "missing": sorted(expected - set(direct)), "extra": sorted(set(direct) - expected)})
    if not deleted:
        missing.append(f"{backend}: no delete recorded")
    for d in rec.get("delete", []):
        base = {"backend": backend, "check": "delete", "object": d.get("name")}
        if d.get("status") != 200:
            bad.append({**base, "problem": f"DELETE answered {d.get('status')} {d.get('error', '')}"})
        elif d.get("after") != 404:
            bad.append({**base, "problem": f"GET after the delete answered {d.get('after')}, not 404"})
        elif (d.get("direct") or {}).get("found") is not False:
            if "error" in (d.get("direct") or {}):
                missing.append(f"{backend}/{d.get('name')}: direct read after delete failed")
            else:
                bad.append({**base, "problem": "still in the backend after the delete (direct read)"})
    return bad, missing


def chaos_problems(backend: str, rec: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """A paused emulator: an error answer, and after the resume no object or the exact object."""
    if not rec:
        return [], [f"{backend}: no paused-upload run"]
    if not rec.get("paused"):
        return [], [f"{backend}: the emulator was not paused ({rec.get('pause_error', 'no reason')})"]
    bad: list[dict[str, Any]] = []
    missing: list[str] = []
    base = {"backend": backend, "check": "paused upload", "size": rec.get("size")}
    answer = rec.get("put") or {}
    status = answer.get("status")
    if status is not None and status < 500:
        bad.append({**base, "problem": f"answered {status} while the backend was paused (expected an error)"})
    sha, size = rec.get("expected_sha256"), rec.get("size")
    read = rec.get("read_after") or {}
    if read.get("status") == 200 and not _matches(read, size, sha):
        bad.append({**base, "problem": "after the resume the target serves a corrupted object",
                    "read_size": read.get("size"), "read_sha256": read.get("sha256"), "expected_sha256": sha})
    elif read.get("status") not in (200, 404):
        missing.append(f"{backend}: read after the resume answered {read.get('status')} {read.get('error', '')}")
    direct = rec.get("direct_after") or {}
    if "error" in direct or not direct:
        missing.append(f"{backend}: direct read after the resume failed ({direct.get('error', 'not made')})")
    elif direct.get("found") and not _matches(direct, size, sha):
        bad.append({**base, "problem": "after the resume the backend holds a corrupted object",
                    "direct_size": direct.get("size"), "direct_sha256": direct.get("sha256"), "expected_sha256": sha})
    return bad, missing


def judge(facts: RunFacts, analysis: Any = None) -> CriterionResult:
    criterion = CRITERIA_BY_ID["cloud"]
    cfg, floors = facts.plan["cloud"], facts.plan["evidence"]
    backends = list(cfg["backends"])
    threshold = (f"every byte identical (SHA-256) through the target and directly on {', '.join(backends)}; "
                 "a paused backend: an error, never a corrupted object")
    recorded = facts.get(PHASE)
    if early := phase_outcome(criterion, recorded, PHASE, threshold, "evidence/cloud.json"):
        return early
    if "unavailable" in recorded:
        return result(criterion, Status.UNKNOWN, f"blob emulators unavailable: {recorded['unavailable']}", threshold)
    bad: list[dict[str, Any]] = []
    missing: list[str] = []
    figures: dict[str, Any] = {"objects_checked": 0, "bytes_checked": 0}
    for backend in backends:
        rec = (recorded.get("backends") or {}).get(backend)
        if not rec:
            missing.append(f"{backend}: not exercised")
            continue
        b, m = backend_problems(backend, rec)
        bad += b
        missing += m
        objects = rec.get("objects", [])
        figures["objects_checked"] += len(objects)
        figures["bytes_checked"] += sum(int(o.get("size") or 0) for o in objects)
        largest = max((int(o.get("size") or 0) for o in objects), default=0)
        if largest < int(floors["cloud_min_large_bytes"]):
            missing.append(f"{backend}: largest object {largest} B, under the floor {floors['cloud_min_large_bytes']} B")
        b, m = chaos_problems(backend, (recorded.get("chaos") or {}).get(backend))
        bad += b
        missing += m
    figures["backends"] = len([b for b in backends if (recorded.get("backends") or {}).get(b)])
    measured = (f"{figures['objects_checked']} objects ({figures['bytes_checked'] / 2**20:.1f} MiB) on "
                f"{figures['backends']} backend(s); {len(bad)} mismatch(es)")
    if bad:
        verdict = Verdict(criterion.id, Status.FAIL, f"{bad[0]['backend']} {bad[0]['check']}: {bad[0]['problem']}",
                          bad, figures)
    elif missing:
        verdict = Verdict(criterion.id, Status.UNKNOWN, f"evidence missing: {missing[0]}", figures=figures)
    else:
        verdict = Verdict(criterion.id, Status.PASS, figures=figures)
    out = CriterionResult(criterion, verdict, measured, threshold, "evidence/cloud.json")
    out.evidence_doc = {"figures": figures, "mismatches": bad, "missing": missing,
                        "emulators_start_s": recorded.get("emulators_start_s"), "seconds": recorded.get("seconds")}
    return out

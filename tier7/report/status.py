"""Updating STATUS.md: the 45-04 section is replaced in place (idempotent), other sections untouched."""

from __future__ import annotations

import re
from pathlib import Path

START = "<!-- tier7:{plan}:start -->"
END = "<!-- tier7:{plan}:end -->"


def replace_section(existing: str, plan_id: str, section: str) -> str:
    """``existing`` with the plan's section (between tier7 markers) set to ``section``.

    Replaces the marked block if present; else a hand-written ``## ... <plan_id> ...`` section up to the
    next ``## `` heading; else appends. Running it twice gives the same text.
    """
    start, end = START.format(plan=plan_id), END.format(plan=plan_id)
    block = f"{start}\n{section.strip()}\n{end}\n"
    if start in existing and end in existing:
        before, rest = existing.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        return before + block + (("\n" + after) if after else "")
    heading = re.search(rf"^##[^\n]*{re.escape(plan_id)}[^\n]*$", existing, flags=re.MULTILINE)
    if heading:
        following = re.search(r"^## ", existing[heading.end():], flags=re.MULTILINE)
        stop = heading.end() + following.start() if following else len(existing)
        after = existing[stop:]
        return existing[:heading.start()] + block + (("\n" + after) if after else "")
    if not existing.strip():
        existing = "# Phase 45: tier verification — status\n"
    return existing.rstrip("\n") + "\n\n" + block


def update_status_file(path: Path, plan_id: str, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(replace_section(existing, plan_id, section), encoding="utf-8")
    tmp.replace(path)

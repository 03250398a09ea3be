"""Plan 45-04: its numbers and its success criteria, from the one data file ``analysis/plan.toml``.

The judges (``analysis.criteria``) and the checkers read every threshold from here; the orchestration
(``tier7 verify``, ``tier7 load``) reads the sizes and writes the plan it used into the run folder
(``<run>/plan.json``), so ``tier7 analyze`` re-judges a run with the numbers it ran with.
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLAN_FILE = Path(__file__).with_name("plan.toml")
PLAN_COPY = "plan.json"          # the plan a run used, in its folder
OVERRIDE_FILE = "thresholds.toml"  # optional user override in a run folder (keys override, table by table)


@dataclass(frozen=True)
class Criterion:
    """One success criterion. ``phases``: what a verification run must do to produce its evidence;
    ``capabilities``: what the target must be able to do (else NOT APPLICABLE naming them)."""

    id: str          # short name used on the command line (--only) and in evidence paths
    text: str        # the plan's words
    built: bool      # False until the issue that builds it lands: reported NOT RUN with ``pending``
    pending: str = ""
    phases: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    """Tables of ``extra`` update those of ``base`` key by key (other top-level values replace)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value


def load_plan(quick: bool = False, path: Path = PLAN_FILE) -> dict[str, Any]:
    """The plan's numbers; with ``quick`` the ``[quick.<table>]`` tables override their tables."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    quick_tables = data.pop("quick", {})
    if quick:
        _merge(data, quick_tables)
    data["quick"] = quick
    return data


def criteria_of(plan: dict[str, Any]) -> list[Criterion]:
    """The plan's ``[[criterion]]`` tables, in report order."""
    return [Criterion(c["id"], c["text"], bool(c.get("built", True)), c.get("pending", ""),
                      tuple(c.get("phases", ())), tuple(c.get("capabilities", ())))
            for c in plan.get("criterion", [])]


CRITERIA: list[Criterion] = criteria_of(load_plan())
CRITERIA_BY_ID = {c.id: c for c in CRITERIA}


def write_plan_copy(run_dir: Path, plan: dict[str, Any]) -> Path:
    """Write the plan a run uses into ``<run>/plan.json`` (no secrets in it)."""
    path = Path(run_dir) / PLAN_COPY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def run_plan(run_dir: Path) -> dict[str, Any]:
    """The plan a run was made with: its folder's ``plan.json`` (the bundled plan for an older folder),
    then the folder's ``thresholds.toml`` overrides, if any."""
    folder = Path(run_dir)
    plan = load_plan()
    saved = folder / PLAN_COPY
    if saved.is_file():
        try:
            copied = json.loads(saved.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            copied = None
        if isinstance(copied, dict):
            # tables the copy lacks (a newer plan's) fall back to the bundled ones
            plan = {**plan, **copy.deepcopy(copied)}
    override = folder / OVERRIDE_FILE
    if override.is_file():
        _merge(plan, tomllib.loads(override.read_text(encoding="utf-8")))
    return plan

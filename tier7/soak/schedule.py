"""The soak's fault schedule: weighted, seeded choice of the next fault from a TOML file (faults.toml)."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Tier7Error


@dataclass
class Fault:
    """One planned fault: the experiment to run through ``tier7 chaos run`` and its ``--var`` items."""

    name: str
    experiment: str
    var_items: list[str]


@dataclass
class Schedule:
    """Timing rules (seconds) and the weighted fault list."""

    min_gap_s: float
    first_after_s: float
    needs_s: float
    max_faults: int | None
    faults: list[dict[str, Any]]

    def pick(self, rng: random.Random) -> Fault:
        """The next fault: weighted choice of a [[fault]], then one value per var list."""
        entry = rng.choices(self.faults, weights=[float(f.get("weight", 1)) for f in self.faults])[0]
        items = [f"{key}={rng.choice(list(values))}" for key, values in sorted(entry.get("vars", {}).items())]
        return Fault(str(entry["name"]), str(entry["experiment"]), items)

    def may_start(self, now: float, last_end: float | None, window_left: float, started: int) -> bool:
        """Whether a fault may start now (monotonic s): gap since the last one, time left in the window, cap."""
        if self.max_faults is not None and started >= self.max_faults:
            return False
        if last_end is not None and now - last_end < self.min_gap_s:
            return False
        return window_left >= self.needs_s


def load_schedule(path: Path) -> Schedule:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        timing, faults = data["schedule"], data["fault"]
        if not faults or any(float(f.get("weight", 1)) <= 0 or not f["experiment"] for f in faults):
            raise ValueError("needs at least one [[fault]] with an experiment and a positive weight")
        for f in faults:
            for key, values in f.get("vars", {}).items():
                if not isinstance(values, list) or not values:
                    raise ValueError(f"fault {f.get('name')!r}: vars.{key} must be a non-empty list")
        cap = timing.get("max_faults")
        return Schedule(float(timing["min_gap_s"]), float(timing["first_after_s"]), float(timing["needs_s"]),
                        None if cap is None else int(cap), faults)
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Tier7Error(f"fault schedule {path}: {exc.__class__.__name__}: {exc}") from None

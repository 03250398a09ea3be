"""The soak's load curve and its Locust ``LoadTestShape``.

``users_at(profile, t)`` is pure (t in seconds of soak time); ``shape_from_env()`` builds the LoadTestShape a
window's ``tier7 load`` process uses when ``$TIER7_SOAK_SHAPE`` names its profile and the window's offset,
so the curve continues across windows (each window is its own process: memory does not grow with hours).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from ..errors import Tier7Error

HERE = Path(__file__).parent
ENV = "TIER7_SOAK_SHAPE"


def profile_path(name: str) -> Path:
    """A profile name (``soak``, ``smoke``: tier7/soak/<name>.toml) or a TOML file path."""
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        return path
    path = HERE / f"{name}.toml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in HERE.glob("*.toml") if not p.stem.startswith("faults")))
        raise Tier7Error(f"soak profile {name!r}: no such profile ({choices}) or TOML file")
    return path


def load_profile(name: str) -> dict[str, Any]:
    path = profile_path(name)
    try:
        profile = tomllib.loads(path.read_text(encoding="utf-8"))
        soak, curve = profile["soak"], profile["curve"]
        if float(soak["window_s"]) < 5 or float(curve["period_s"]) <= 0 or float(soak["spawn_rate"]) <= 0:
            raise ValueError("window_s must be >= 5 and period_s, spawn_rate positive")
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Tier7Error(f"soak profile {path}: {exc.__class__.__name__}: {exc}") from None
    profile["_path"] = str(path)
    return profile


def users_at(profile: dict[str, Any], t: float) -> int:
    """Users wanted at soak time ``t`` (s): ramp x daily-like sine, plus spikes, at least min_users."""
    curve, spikes = profile["curve"], profile.get("spikes", {})
    ramp = min(1.0, t / float(curve["ramp_s"])) if float(curve.get("ramp_s", 0)) > 0 else 1.0
    wave = float(curve["base"]) + float(curve["amplitude"]) * math.sin(2 * math.pi * t / float(curve["period_s"]))
    users = ramp * wave
    every = float(spikes.get("every_s", 0))
    if every > 0 and t % every < float(spikes.get("length_s", 0)) and t >= every:
        users += float(spikes.get("users", 0))
    return max(int(profile["soak"].get("min_users", 1)), round(users))


def shape_env(profile: dict[str, Any], offset_s: float, duration_s: float) -> str:
    """The ``$TIER7_SOAK_SHAPE`` value for a window starting at soak time ``offset_s``."""
    return json.dumps({"profile": profile["_path"], "offset_s": offset_s, "duration_s": duration_s})


def shape_from_env() -> Any:
    """A LoadTestShape instance when ``$TIER7_SOAK_SHAPE`` is set (a soak window), else None."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    spec = json.loads(raw)
    profile = load_profile(spec["profile"])
    from locust import LoadTestShape

    class SoakShape(LoadTestShape):
        """Users from the soak curve at (window offset + run time); stops after the window's duration + 30 s
        (the window's runner stops it at its duration; the margin covers tenant setup)."""

        def tick(self) -> tuple[int, float] | None:
            run_time = self.get_run_time()
            if run_time > float(spec["duration_s"]) + 30.0:
                return None
            return users_at(profile, float(spec["offset_s"]) + run_time), float(profile["soak"]["spawn_rate"])

    return SoakShape()

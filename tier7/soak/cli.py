"""``tier7 soak`` arguments and entry (issue 15)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from ..errors import Tier7Error

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``8h``, ``20m``, ``60s``, ``90`` (s) -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not found or float(found.group(1)) <= 0:
        raise Tier7Error(f"--duration {text!r}: give a positive number with s, m, h or d (e.g. 8h, 20m, 60s)")
    seconds = float(found.group(1)) * UNITS[found.group(2) or "s"]
    if seconds > 7 * 86400:
        raise Tier7Error("--duration must be at most 7 days")
    return seconds


def add_parser(sub: argparse._SubParsersAction) -> None:
    soak = sub.add_parser("soak", help="hours of shaped Locust load with random faults, judged window by window")
    soak.add_argument("--duration", default="8h", help="load time: 8h, 20m, 60s ... (default 8h)")
    soak.add_argument("--profile", default="soak",
                      help="load-shape profile: soak, smoke or a TOML file (tier7/soak/<name>.toml; default soak)")
    soak.add_argument("--faults", type=Path, default=None,
                      help="fault schedule TOML (default: the one the profile names)")
    soak.add_argument("--target", default=None, metavar="TARGET",
                      help="testbed folder or cluster file (default: results/testbed)")
    soak.add_argument("--seed", type=int, default=0, help="random seed of faults and load (0: pick one)")
    soak.add_argument("--run-dir", type=Path, default=None, help="run folder (default results/<UTC time>-soak)")


def soak_command(args: argparse.Namespace) -> int:
    import random

    from .runner import Soak
    from .schedule import load_schedule
    from .shape import load_profile

    duration = parse_duration(args.duration)
    profile = load_profile(args.profile)
    faults = args.faults or Path(profile["_path"]).parent / profile.get("faults", {}).get("file", "faults.toml")
    schedule = load_schedule(faults)
    seed = args.seed or random.SystemRandom().randrange(1, 2**31)
    run_dir = args.run_dir or Path("results") / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-soak")
    print(f"soak: {duration:g} s of load ({Path(profile['_path']).stem}), windows of "
          f"{profile['soak']['window_s']} s, faults from {faults}, seed {seed}; run folder {run_dir}", flush=True)
    return Soak(run_dir, profile, schedule, duration, args.target, seed).run()

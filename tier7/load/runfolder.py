"""Run folder bookkeeping (docs/run-folder.md): the folder and ``latest`` link, ``run.json``, ``target/*.json``
at the start, ``logs/`` and ``metrics/`` copies at the end. Secrets are redacted from everything written."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .. import __version__
from .target import LoadTarget

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDACTED = "<redacted>"


def new_run_dir(kind: str = "load", results: Path = Path("results")) -> Path:
    """``results/<UTC time>-<kind>`` (suffixed ``-2``, ``-3``... if taken); not created yet."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = results / f"{stamp}-{kind}"
    number = 2
    while candidate.exists():
        candidate = results / f"{stamp}-{kind}-{number}"
        number += 1
    return candidate


def create(run_dir: Path) -> Path:
    """Create the folder and point ``<parent>/latest`` at it (relative symlink, replaced atomically)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{time.monotonic_ns()}"
    try:
        tmp.symlink_to(run_dir.name)
        tmp.replace(link)
    except OSError:
        tmp.unlink(missing_ok=True)
    return run_dir


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def write_json(path: Path, data: Any, secrets: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(json.dumps(data, indent=2, default=str), secrets) + "\n")
    tmp.replace(path)


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "tier7": __version__}
    try:
        import locust

        found["locust"] = locust.__version__
    except ImportError:  # pragma: no cover - locust is a dependency
        pass
    return found


def write_target(run_dir: Path, target: LoadTarget, contract: dict[str, Any]) -> None:
    """``target/ring.json``, ``target/config.json``, ``target/nodes.json``."""
    write_json(run_dir / "target" / "ring.json", contract["ring"], target.secrets)
    write_json(run_dir / "target" / "config.json", contract["config"], target.secrets)
    nodes = [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in target.nodes]
    write_json(run_dir / "target" / "nodes.json", nodes, target.secrets)


def run_info(kind: str, argv: list[str], seed: int, target: LoadTarget, extra: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "argv": argv, "seed": seed, "started_wall": time.time(), "ended_wall": None,
            "target": target.describe(), "versions": versions(), "git_commit": git_commit(), **extra}


def copy_logs(run_dir: Path, target: LoadTarget, max_bytes: int = 64 << 20) -> int:
    """Copy each node's log (last ``max_bytes`` bytes), secrets redacted. Returns files copied."""
    copied = 0
    for name, path in target.log_files.items():
        try:
            with open(path, "rb") as source:
                source.seek(0, 2)
                size = source.tell()
                source.seek(max(0, size - max_bytes))
                text = source.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        out = run_dir / "logs" / f"{name}.log"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(redact(text, target.secrets))
        copied += 1
    return copied


def copy_metrics(run_dir: Path, target: LoadTarget, timeout: float = 2.0) -> int:
    """``GET /metrics`` of each node into ``metrics/<node>.prom``. Returns files written."""
    written = 0
    with httpx.Client(timeout=timeout) as client:
        for node in target.nodes:
            try:
                response = client.get(f"{node.url}/metrics")
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                out = run_dir / "metrics" / f"{node.name}.prom"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(redact(response.text, target.secrets))
                written += 1
    return written


def redact_argv(argv: list[str], secrets: list[str]) -> list[str]:
    """The command line with secret values (and anything after ``--*token*`` flags) redacted."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag.startswith("--") and ("token" in flag or "secret" in flag or "password" in flag):
            if eq:
                out.append(f"{flag}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact(arg, secrets))
    return out


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]

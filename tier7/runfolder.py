"""The run folder every command writes (docs/run-folder.md): a unique ``results/<UTC time>-<kind>/`` with
``results/latest`` pointing at it, JSON files and copies of the target's logs and metrics. Secrets are
redacted (tier7.report.redact) from everything written here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from .report.redact import MARK, literal_secrets, redact

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOG_CHUNK_BYTES = 8 << 20


def create(run_dir: Path) -> Path:
    """Create ``run_dir`` and point ``<parent>/latest`` at it (relative symlink, replaced atomically; a
    ``latest`` that is not a symlink is left alone)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return point_latest(run_dir)


def point_latest(run_dir: Path) -> Path:
    """Point ``<parent>/latest`` at ``run_dir`` (a command does it once its run has really started, so a
    command that cannot start never moves ``latest`` away from the last real run)."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{time.monotonic_ns()}"
    try:
        tmp.symlink_to(run_dir.name)
        tmp.replace(link)
    except OSError:
        tmp.unlink(missing_ok=True)
    return run_dir


def discard(run_dir: Path) -> None:
    """Remove a run folder a command created and could not use (its run never started): no empty or
    half-made folder is left beside the real runs. Only a folder under a results folder, never a link."""
    if run_dir.is_dir() and not run_dir.is_symlink():
        shutil.rmtree(run_dir, ignore_errors=True)


def new_run_dir(kind: str, results: Path = Path("results"), link: bool = True) -> Path:
    """Create and return ``<results>/<UTC time>-<kind>`` (suffixed ``-2``, ``-3``... if taken); with
    ``link`` point ``<results>/latest`` at it now, else the caller does (``point_latest``) once it started."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results.mkdir(parents=True, exist_ok=True)
    candidate = results / f"{stamp}-{kind}"
    number = 2
    while True:
        try:
            candidate.mkdir()
            break
        except FileExistsError:
            candidate = results / f"{stamp}-{kind}-{number}"
            number += 1
    return point_latest(candidate) if link else candidate


def write_json(path: Path, data: Any, secrets: Iterable[str] = ()) -> Path:
    """Write ``data`` as indented JSON, secrets redacted, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(json.dumps(data, indent=2, default=str), secrets) + "\n")
    tmp.replace(path)
    return path


def git_commit() -> str:
    """The harness's git commit, or ``unknown`` outside a checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (done.stdout.strip() or "unknown") if done.returncode == 0 else "unknown"


def package_versions(names: Iterable[str] = ("locust", "chaostoolkit", "pandas", "plotly", "pysyncobj")) -> dict[str, str]:
    """Installed versions of the packages a run depends on (a missing one is just not listed)."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


CONSOLE_FILE = "stdout.log"  # a node's stdout + stderr, next to its log (tier7.targets.testbed spawns it so)
CONSOLE_DIR = "logs/console"  # logs/console/<node>.log in the run folder (analysis.logfiles reads it)


def console_files(log_files: Mapping[str, Path]) -> dict[str, Path]:
    """Each node's console capture: ``stdout.log`` in the folder of the node's log, where the testbed
    driver (``processes.spawn``) sends the node's stdout and stderr. Only for logs in a folder of their own
    (a folder shared by several nodes' logs cannot tell whose console it is) and captures that exist."""
    folders = [path.parent for path in log_files.values()]
    return {name: path.parent / CONSOLE_FILE for name, path in log_files.items()
            if folders.count(path.parent) == 1 and (path.parent / CONSOLE_FILE).is_file()}


def _copy_tail(path: Path, out: Path, literal: list[str], max_bytes: int) -> None:
    """Copy the last ``max_bytes`` of ``path`` to ``out`` from a line start, secrets redacted, streaming in
    chunks cut at line ends (a big file neither fills memory nor splits a secret across two passes)."""
    with open(path, "rb") as source:
        source.seek(0, 2)
        start = max(0, source.tell() - max_bytes)
        source.seek(start)
        if start:
            source.readline()  # the cut fell inside a line: drop its tail rather than copy a torn line
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as sink:
            carry = b""
            while chunk := source.read(LOG_CHUNK_BYTES):
                chunk = carry + chunk
                cut = chunk.rfind(b"\n") + 1
                carry, chunk = (chunk[cut:], chunk[:cut]) if cut else (chunk, b"")
                sink.write(redact(chunk.decode("utf-8", errors="replace"), literal))
            sink.write(redact(carry.decode("utf-8", errors="replace"), literal))


def copy_logs(run_dir: Path, log_files: Mapping[str, Path], secrets: Iterable[str],
              max_bytes: int = 256 << 20, consoles: Mapping[str, Path] | None = None) -> int:
    """Copy each node's log into ``logs/<node>.log`` and its console capture (stdout and stderr, where
    tracebacks land; ``consoles``, by default ``console_files(log_files)``) into
    ``logs/console/<node>.log``: the last ``max_bytes`` bytes of each, secrets redacted.

    Returns the number of logs copied (consoles not counted); unreadable files are skipped (the log scan
    then reports the node's log missing).
    """
    literal = literal_secrets(secrets)
    copied = 0
    for name, path in log_files.items():
        try:
            _copy_tail(path, run_dir / "logs" / f"{name}.log", literal, max_bytes)
        except OSError:
            continue
        copied += 1
    for name, path in (console_files(log_files) if consoles is None else consoles).items():
        try:
            _copy_tail(path, run_dir / CONSOLE_DIR / f"{name}.log", literal, max_bytes)
        except OSError:
            continue
    return copied


def copy_metrics(run_dir: Path, node_urls: Mapping[str, str], secrets: Iterable[str], timeout: float = 5.0) -> int:
    """``GET /metrics`` of each node (name -> base URL) into ``metrics/<node>.prom``. Returns files written."""
    written = 0
    with httpx.Client(timeout=timeout) as client:
        for name, url in node_urls.items():
            try:
                response = client.get(f"{url}/metrics")
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                out = run_dir / "metrics" / f"{name}.prom"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(redact(response.text, secrets))
                written += 1
    return written


def redact_argv(argv: list[str], secrets: Iterable[str]) -> list[str]:
    """The command line with secret values (and the value after ``--*token*`` style flags) redacted."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MARK)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag.startswith("--") and any(word in flag for word in ("token", "secret", "password")):
            if eq:
                out.append(f"{flag}={MARK}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact(arg, secrets))
    return out


def command_line() -> list[str]:
    """This process's command line, program name shortened to its file name."""
    return [Path(sys.argv[0]).name, *sys.argv[1:]]

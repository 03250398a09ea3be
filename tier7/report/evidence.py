"""The evidence zip: the run folder's logs, configs, histories, metrics, journals, stats and dashboard,
every text file redacted, and the finished zip scanned once more for secrets."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import Tier7Error
from .redact import find_secrets, redact

TEXT_SUFFIXES = {".json", ".jsonl", ".log", ".csv", ".md", ".txt", ".prom", ".html", ".toml", ".yaml", ".yml"}
SKIP_DIRS = {"nodes", "testbed"}  # raw node data folders (journals) stay out; logs are copied to logs/


def write_evidence_zip(run_dir: Path, zip_path: Path, secrets: Iterable[str]) -> list[str]:
    """Zip every file under ``run_dir`` (except the zip itself and raw node data); returns the member names.

    Raises Tier7Error if a secret is still found in the finished zip (it is then deleted).
    """
    secrets = [s for s in secrets if s]
    members: list[str] = []
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(run_dir.rglob("*")):
            relative = path.relative_to(run_dir)
            if not path.is_file() or path == zip_path or relative.parts[0] in SKIP_DIRS or path.is_symlink():
                continue
            name = relative.as_posix()
            if path.suffix in TEXT_SUFFIXES:
                archive.writestr(name, redact(path.read_text(encoding="utf-8", errors="replace"), secrets))
            else:
                archive.write(path, name)
            members.append(name)
    leaks = scan_zip(zip_path, secrets)
    if leaks:
        zip_path.unlink(missing_ok=True)
        raise Tier7Error(f"evidence zip withheld: {len(leaks)} secret(s) survived redaction (first in {leaks[0]})")
    return members


def scan_zip(zip_path: Path, secrets: Iterable[str]) -> list[str]:
    """Member names of ``zip_path`` that still contain a secret (empty when clean)."""
    secrets = list(secrets)
    dirty = []
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", errors="replace")
            if find_secrets(text, secrets):
                dirty.append(name)
    return dirty

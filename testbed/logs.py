"""Structured JSON log lines, one file per node (``<node dir>/node.log``)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str, group: str, region: str) -> None:
        super().__init__()
        self.static = {"node": node, "group": group, "region": region}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": "CRITICAL" if record.levelno >= logging.CRITICAL else record.levelname,
            "logger": record.name,
            **self.static,
            "event": getattr(record, "event", None) or "message",
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class PeerGoneFilter(logging.Filter):
    """Hypercorn (the inter-node HTTP/2 listener) lets asyncio log "SSL shutdown timed out" as an ERROR
    when a peer disappears during a TLS close (a killed or partitioned node): nothing of this node failed,
    so the line is a WARNING (the log scan judges ERROR lines as bugs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno >= logging.ERROR and isinstance(error, TimeoutError) and "SSL shutdown" in str(error):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"peer gone during TLS close ({error}): {record.msg}"
        return True


def setup(path: Path, node: str, group: str, region: str) -> logging.Logger:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter(node, group, region))
    handler.addFilter(PeerGoneFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.Formatter.converter = time.gmtime
    return logging.getLogger("testbed")


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, name, extra={"event": name, "fields": fields})

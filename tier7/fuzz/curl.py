"""Reproductions: a curl command line for one fuzz request, the token shown as ``<redacted ...>`` and
big repetitive bodies, headers and paths written as a short Python expression instead of megabytes."""

from __future__ import annotations

import shlex

SHORT = 400  # bytes: a body, header or path up to this long is written out literally


def _literal(data: bytes) -> str:
    """``data`` as a double-quoted Python bytes literal with no single quote in it (it sits inside a
    single-quoted shell string)."""
    out = []
    for byte in data:
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in "\\\"'" else f"\\x{byte:02x}")
    return 'b"' + "".join(out) + '"'


def _run_at(data: bytes, i: int) -> tuple[bytes, int]:
    """The 1-4 byte unit repeated most (in bytes covered) from ``i``, and its count."""
    best_unit, best_count = data[i:i + 1], 1
    for width in (1, 2, 3, 4):
        unit, count = data[i:i + width], 1
        while data[i + count * width:i + (count + 1) * width] == unit:
            count += 1
        if count > 1 and count * width > best_count * len(best_unit):
            best_unit, best_count = unit, count
    return best_unit, best_count


def _compress(data: bytes) -> str:
    """A Python bytes expression for ``data``: runs of a repeated 1-4 byte unit as ``b"x" * n``."""
    parts, i, start = [], 0, 0
    while i < len(data):
        unit, count = _run_at(data, i)
        if count > 8:
            if start < i:
                parts.append(_literal(data[start:i]))
            parts.append(f"{_literal(unit)} * {count}")
            i += count * len(unit)
            start = i
        else:
            i += 1
    if start < len(data):
        parts.append(_literal(data[start:]))
    return " + ".join(parts) or 'b""'


def _generated(data: bytes) -> str:
    return f"\"$(python3 -c 'import sys; sys.stdout.buffer.write({_compress(data)})')\""


def curl(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes | None, token_kind: str,
         has_token: bool) -> str:
    """The curl line that sends the same request to ``base_url``."""
    url = base_url.rstrip("/") + path
    parts = ["curl", "-sS", "-i", "-X", method]
    parts.append(shlex.quote(url) if len(url) <= SHORT else _generated(url.encode()))
    if has_token:
        parts += ["-H", shlex.quote(f"Authorization: Bearer <redacted {token_kind} token>")]
    for name, value in headers.items():
        line = f"{name}: {value}"
        parts += ["-H", shlex.quote(line) if len(line) <= SHORT else _generated(line.encode("latin-1", "replace"))]
    if body is not None:
        if not any(k.lower() == "content-type" for k in headers):
            parts += ["-H", "'content-type: application/json'"]
        printable = len(body) <= SHORT and all(32 <= b < 127 for b in body)
        parts += ["--data-binary", shlex.quote(body.decode()) if printable else
                  f"@<(python3 -c 'import sys; sys.stdout.buffer.write({_compress(body)})')"]
    return " ".join(parts)

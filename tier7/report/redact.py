"""Secrets never reach evidence: admin and tenant tokens, cluster secrets, cloud keys are replaced by
``[REDACTED]`` in every file copied into a report, log copy or zip."""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "[REDACTED]"

PATTERNS = [
    re.compile(r"tk\.[A-Za-z0-9][A-Za-z0-9_-]*\.[0-9a-f]{40}"),                 # testbed tenant tokens
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),                          # Authorization headers
    re.compile(r"AKIA[0-9A-Z]{16}"),                                             # AWS access key ids
    re.compile(r"(?i)(aws_secret_access_key|aws_session_token)(\"?\s*[:=]\s*\"?)[^\s\"',]+"),
    re.compile(r"(?i)(AccountKey=)[^;\s\"']+"),                                  # Azure connection strings
    re.compile(r"(?i)(SharedAccessSignature=|sig=)[^;&\s\"']+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),  # GCP keys
    re.compile(r"(?i)(\"(?:admin_token|secret|token|password|private_key|account_key)\"\s*:\s*\")[^\"]+"),
]


def literal_secrets(secrets: Iterable[str]) -> list[str]:
    """The secrets a pattern would not catch anyway (tenant tokens are; there may be a thousand of them)."""
    return sorted({s for s in secrets if s and len(s) >= 6 and not any(p.fullmatch(s) for p in PATTERNS)},
                  key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every secret-shaped string replaced by ``[REDACTED]``."""
    for secret in literal_secrets(secrets):
        text = text.replace(secret, MARK)
    for pattern in PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups >= 1 and m.group(1) else "")
                           + ((m.group(2) or "") if m.re.groups >= 2 else "") + MARK, text)
    return text


def find_secrets(text: str, secrets: Iterable[str] = ()) -> list[str]:
    """Secrets still present in ``text`` (for tests and the zip's final scan); empty means clean."""
    found = [s for s in literal_secrets(secrets) if s in text]
    found += [m.group(0) for p in PATTERNS[:1] + PATTERNS[2:3] for m in p.finditer(text)]
    return found

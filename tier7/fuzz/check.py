"""What one answer must satisfy (docs/openapi.yaml and docs/contract.md), as problem names:

- ``server_error``: any 5xx (bad input never gets a 500; a healthy cluster never 503/504s a fuzz call);
- ``undocumented_status``: a status the document does not list for the operation;
- ``schema``: a JSON answer that does not match the documented schema of its status, or an error
  answer that is not ``{"error": {"code", "message"}}`` with a documented code;
- ``foreign_token_accepted``: a data call with a token that is not the caller's own succeeded;
- ``invalid_accepted``: bad input got a 2xx; ``valid_refused``: valid input got a 4xx;
- ``no_answer``: the connection failed or timed out on an ordinary request.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from .cases import FOREIGN_KINDS, Case
from .document import Operation

# Answers of the HTTP layer (the server stack before the application) to requests it will not parse:
# allowed for the unknown-method and transport cases, checked for status only.
HTTP_LAYER = {400, 404, 405, 411, 413, 414, 431}
NO_SUCH = {"no_such_path": {404, 405}, "no_such_method": {405, 400}}
BENIGN = {"GET": {404}, "POST": {409}}  # KV answers that are a success of the call: absent key, CAS mismatch


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def schema_errors(schema: dict[str, Any] | None, body: Any) -> list[str]:
    """Messages of the (at most 3) ways ``body`` breaks ``schema``; none when there is no schema."""
    if schema is None:
        return []
    validator = _validator(json.dumps(schema, sort_keys=True))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
            for e in list(validator.iter_errors(body))[:3]]


def problems(case: Case, op: Operation | None, status: int | None, body: bytes, content_type: str,
             error_schema: dict[str, Any], transport_error: str | None = None) -> list[str]:
    """The problems of one exchange (empty when the answer is as the contract says)."""
    if status is None:
        return [] if case.op == "transport" else ["no_answer"]
    found: list[str] = []
    if status >= 500:
        found.append("server_error")
    if op is not None:
        allowed = set(op.responses)
    elif case.op in NO_SUCH:
        allowed = NO_SUCH[case.op] | (HTTP_LAYER if case.op == "no_such_method" else set())
    else:
        allowed = HTTP_LAYER | {200}
    if status not in allowed and status < 500:
        found.append("undocumented_status")
    decoded: Any = None
    if case.method == "HEAD":  # a HEAD answer has headers only: its status is all there is to check
        content_type = ""
    if "json" in content_type:
        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            found.append("schema")
    if decoded is not None and status < 500:
        if op is not None and status in op.responses:
            if schema_errors(op.responses[status], decoded):
                found.append("schema")
        elif status >= 400 and case.op in NO_SUCH and schema_errors(error_schema, decoded):
            found.append("schema")
    elif decoded is None and op is not None and status in op.responses and op.responses[status] is not None \
            and "schema" not in found and case.method != "HEAD":
        found.append("schema")  # the document says JSON, the answer is not
    success = 200 <= status < 300
    if success and case.token in FOREIGN_KINDS and op is not None and op.secured:
        found.append("foreign_token_accepted")
    if case.expect == "reject" and success and "foreign_token_accepted" not in found:
        found.append("invalid_accepted")
    if case.expect == "ok" and 400 <= status < 500 and status not in BENIGN.get(case.method, set()):
        found.append("valid_refused")
    return found


def answer_errors(op: Operation | None, status: int | None, body: bytes) -> list[str]:
    """The schema messages behind a ``schema`` problem (for the evidence)."""
    if op is None or status is None or status not in op.responses:
        return []
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ["the answer is not JSON"]
    return schema_errors(op.responses[status], decoded)

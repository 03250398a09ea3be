"""Shared bench helpers: a throwaway testbed cluster and a tenant on it."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tier7.contract import ContractClient
from tier7.targets.testbed import TestbedTarget


@contextmanager
def testbed_cluster(**kwargs) -> Iterator[TestbedTarget]:
    with tempfile.TemporaryDirectory(prefix="tier7-bench-") as tmp:
        target = TestbedTarget.create(Path(tmp) / "tb", **kwargs)
        try:
            target.start(timeout=30)
            yield target
        finally:
            target.stop()


def tenant_token(target: TestbedTarget, http: httpx.Client) -> tuple[str, str]:
    name = "bench" + secrets.token_hex(3)
    answer = ContractClient(target.nodes()[0].url, target.admin_token(), client=http).create_tenant(name)
    if answer.status != 201:
        raise SystemExit(f"cannot create tenant: {answer}")
    return name, answer.body["token"]

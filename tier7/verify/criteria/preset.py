"""The preset phase: every node's /v1/config, recorded (facts/preset.json) for the preset criterion."""

from __future__ import annotations

from ..context import RunContext
from ..httpjson import get_json


def run(ctx: RunContext) -> None:
    configs = {node.name: get_json(f"{node.url}/v1/config") for node in ctx.nodes()}
    ctx.record("preset", {"configs": configs})

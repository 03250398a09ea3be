"""The harness's own consistent-hash ring, written from docs/contract.md ("Ring parameters").

The harness never asks the target where a key lives when judging placement: it takes the published
parameters (hash, vnodes, groups, labels) and computes the owner itself.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from .errors import Tier7Error

SUPPORTED_HASH = "sha256-64be"


def ring_position(label: str) -> int:
    """First 8 bytes of SHA-256(label in UTF-8), read as a big-endian unsigned integer."""
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], byteorder="big", signed=False)


@dataclass
class HarnessRing:
    groups: list[str]
    vnodes: int
    epoch: int = 1
    vnode_label: str = "{group}#{index}"
    placement_label: str = "{tenant}/{key}"
    _positions: list[int] = field(default_factory=list, init=False, repr=False)
    _groups_at: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        table = []
        for group in self.groups:
            for index in range(self.vnodes):
                table.append((ring_position(self.vnode_label.format(group=group, index=index)), group))
        table.sort()
        self._positions = [position for position, _ in table]
        self._groups_at = [group for _, group in table]

    @classmethod
    def from_contract(cls, params: dict[str, Any]) -> HarnessRing:
        """Build from the JSON of ``GET /v1/ring``; refuses a hash this harness does not implement."""
        if params.get("hash") != SUPPORTED_HASH:
            raise Tier7Error(f"target ring uses hash {params.get('hash')!r}; this harness implements {SUPPORTED_HASH}")
        try:
            return cls(groups=list(params["groups"]), vnodes=int(params["vnodes"]), epoch=int(params["epoch"]),
                       vnode_label=params.get("vnode_label", "{group}#{index}"),
                       placement_label=params.get("placement_label", "{tenant}/{key}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise Tier7Error(f"target published malformed ring parameters: {exc}") from None

    def group_for(self, tenant: str, key: str) -> str:
        """The group that must own ``key`` of ``tenant``: the first vnode clockwise of its position."""
        position = ring_position(self.placement_label.format(tenant=tenant, key=key))
        slot = bisect_left(self._positions, position)
        if slot == len(self._positions):
            slot = 0
        return self._groups_at[slot]

"""The testbed's consistent-hash ring (the router's side; the contract in docs/contract.md)."""

from __future__ import annotations

import bisect
import hashlib


def point(label: str) -> int:
    """Ring position: the first 8 bytes of SHA-256 of the UTF-8 label, big-endian unsigned."""
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "big")


class Ring:
    def __init__(self, groups: list[str], vnodes: int, epoch: int) -> None:
        self.groups = list(groups)
        self.vnodes = vnodes
        self.epoch = epoch
        entries = sorted((point(f"{g}#{i}"), g) for g in self.groups for i in range(vnodes))
        self._points = [p for p, _ in entries]
        self._owners = [g for _, g in entries]

    def owner(self, tenant: str, key: str) -> str:
        return self.owner_label(f"{tenant}/{key}")

    def owner_label(self, label: str) -> str:
        """The owner of a placement label ``{tenant}/{key}``."""
        position = point(label)
        index = bisect.bisect_left(self._points, position)
        return self._owners[index % len(self._owners)]

    def describe(self) -> dict:
        return {
            "epoch": self.epoch,
            "hash": "sha256-64be",
            "vnodes": self.vnodes,
            "groups": self.groups,
            "vnode_label": "{group}#{index}",
            "placement_label": "{tenant}/{key}",
            "rule": "owner = group of the first vnode point >= point(label), wrapping to the lowest point",
        }

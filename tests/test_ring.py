"""The harness's ring, checked against the contract's published rule (pure logic, no target)."""

from collections import Counter

import pytest

from tier7.errors import Tier7Error
from tier7.ring import HarnessRing, ring_position


def test_position_is_sha256_prefix_big_endian():
    # sha256("") = e3b0c44298fc1c14...
    assert ring_position("") == 0xE3B0C44298FC1C14


def test_owner_is_first_vnode_clockwise_with_wraparound():
    ring = HarnessRing(groups=["g0", "g1"], vnodes=4)
    points = sorted((ring_position(f"{g}#{i}"), g) for g in ["g0", "g1"] for i in range(4))
    for tenant, key in [("a", str(i)) for i in range(200)]:
        p = ring_position(f"{tenant}/{key}")
        expected = next((g for q, g in points if q >= p), points[0][1])
        assert ring.group_for(tenant, key) == expected


def test_spread_over_groups_is_roughly_even():
    ring = HarnessRing(groups=["g0", "g1", "g2"], vnodes=64)
    counts = Counter(ring.group_for("t", f"k{i}") for i in range(9000))
    assert all(2000 < c < 4000 for c in counts.values()), counts


def test_unknown_hash_is_refused():
    with pytest.raises(Tier7Error, match="hash"):
        HarnessRing.from_contract({"hash": "md5", "groups": ["g0"], "vnodes": 1, "epoch": 1})


def test_malformed_parameters_are_refused():
    with pytest.raises(Tier7Error, match="malformed"):
        HarnessRing.from_contract({"hash": "sha256-64be", "groups": ["g0"], "epoch": 1})

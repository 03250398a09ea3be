"""Placement with the load's local reads (issue 9 generators): a ``consistency=local`` read answered 404 by a
node outside the owner group is no placement evidence (the contract says so for every other group's node);
a local read that found the key on a wrong group's node still fails placement."""

from __future__ import annotations

from analysis.checkers.placement import check_placement
from analysis.verdict import Status
from tests.analysis_history import History
from tests.test_analysis_checkers import RING, placed
from tier7.ring import HarnessRing


def test_local_misses_on_other_groups_are_not_misplacements_but_local_hits_count():
    ring = HarnessRing.from_contract(RING)
    owner = ring.group_for("t", "x")
    other = next(g for g in RING["groups"] if g != owner)
    base = History().put("a", "v", 0, 1, group=owner)
    miss = base.get("b", None, 2, 3, consistency="local", group=other, status=404)
    verdict = check_placement(placed(miss), RING)
    assert verdict.status is Status.PASS and verdict.figures["operations"] == 1
    hit = History().put("a", "v", 0, 1, group=owner).get("b", "v", 2, 3, consistency="local", group=other, status=200)
    assert check_placement(placed(hit), RING).status is Status.FAIL

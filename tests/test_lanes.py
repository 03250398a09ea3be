"""The background lane of `make test` (tests/lanes.toml, tests/lanes.py): this test runs last, waits for
the lane's pytest and fails with its output when any of its tests failed (or it ran out of time)."""

import pytest

from tests.conftest import background_lane


def test_the_background_lane_passed(capsys):
    lane = background_lane()
    if lane is None:
        pytest.skip("no background lane in this session (make test sets TIER7_TEST_LANES=1)")
    code, output = lane.wait()
    with capsys.disabled():  # the lane's dots, slowest tests and summary belong in the suite's log
        print(f"\n--- background lane ({len(lane.nodeids)} tests, tests/lanes.toml) ---\n{output.strip()}\n---")
    assert code == 0, f"the background lane failed (exit {code}):\n{output[-6000:]}"

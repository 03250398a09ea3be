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


def test_a_failing_test_in_a_lane_fails_the_lane(tmp_path):
    from tests.lanes import start_lane

    (tmp_path / "test_x.py").write_text("def test_fine():\n    pass\n\n\ndef test_wrong():\n    assert 1 == 2\n")
    lane = start_lane([str(tmp_path / "test_x.py")], 120)
    code, output = lane.wait()
    lane.output.unlink()
    assert code == 1 and "1 failed, 1 passed" in output, output


def test_a_lane_past_its_timeout_is_stopped_and_fails(tmp_path):
    from tests.lanes import start_lane
    from tier7.targets.processes import is_running

    (tmp_path / "test_slow.py").write_text("import time\n\n\ndef test_slow():\n    time.sleep(60)\n")
    lane = start_lane([str(tmp_path / "test_slow.py")], 3)
    code, output = lane.wait()
    lane.output.unlink()
    assert code == -1 and "stopped after 3 s" in output
    assert not is_running(lane.process.pid, [])

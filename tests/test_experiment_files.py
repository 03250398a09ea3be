"""Every bundled experiment loads; a broken one is refused with one line naming the file, the field and
the values it allows (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tier7 import chaosrun
from tier7.errors import Tier7Error

BUNDLED = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.json"))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_experiments_are_valid(path):
    assert chaosrun.load(path)["title"]


def broken(tmp_path: Path, change) -> Path:
    experiment = json.loads((BUNDLED[0].parent / "kill-raft-leader.json").read_text())
    change(experiment)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(experiment))
    return path


def set_in(activity_field: str, value):
    def change(experiment):
        *parents, last = activity_field.split(".")
        node = experiment["method"][0]
        for name in parents:
            node = node[name]
        node[last] = value
    return change


@pytest.mark.parametrize("change, words", [
    (set_in("type", "actionz"), ["method[0].type", "'actionz'", "allowed: action, probe"]),
    (set_in("provider.type", "pythonx"), ["method[0].provider.type", "allowed: python, process, http"]),
    (set_in("provider.func", "no_such_func"), ["method[0].provider.func", "allowed:", "kill_leader"]),
    (set_in("provider.arguments", {"bogus": 1}), ["method[0].provider.arguments.bogus", "allowed:"]),
])
def test_a_broken_experiment_names_file_field_and_choices(tmp_path, change, words):
    path = broken(tmp_path, change)
    with pytest.raises(Tier7Error) as caught:
        chaosrun.load(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message, message

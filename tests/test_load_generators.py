"""The load's generators as units (issue 9, "Generators"): key and value shapes stay inside the contract's
limits (read from docs/contract.md here, not from the target) and cover its character classes; the
generator options are on by default, validated, forwarded and recorded; the recording client marks
write-once puts and local reads and sends JSON both as \\u escapes and as raw UTF-8."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import unicodedata
from argparse import Namespace
from pathlib import Path

import pytest

from tests.test_recording_client import ScriptedServer
from tier7.client import RecordingClient
from tier7.errors import Tier7Error
from tier7.history import HistoryWriter, read_events
from tier7.load.cli import GENERATOR_HELP
from tier7.load.options import DEFAULTS, LoadOptions
from tier7.load.rereads import Rereads
from tier7.load.shapes import Shapes, catalogue, utf8_len

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "contract.md"


def contract_limits() -> tuple[int, int, int]:
    """(key min bytes, key max bytes, value max bytes) from the contract's "Limits" table."""
    text = CONTRACT.read_text()
    key = re.search(r"^\| key \| (\d+)-(\d+) bytes of UTF-8", text, re.M)
    value = re.search(r"^\| value \| a JSON string of at most ([\d,]+) bytes", text, re.M)
    assert key and value, "docs/contract.md lost its Limits table"
    return int(key.group(1)), int(key.group(2)), int(value.group(1).replace(",", ""))


def test_the_catalogue_limits_are_the_contracts():
    limits = catalogue()["limits"]
    assert (limits["key_min_bytes"], limits["key_max_bytes"], limits["value_max_bytes"]) == contract_limits()


@pytest.mark.parametrize("seed", [1, 2, 99])
def test_every_key_shape_stays_inside_the_limits_and_keys_are_distinct(seed):
    shapes = Shapes.for_target(seed, 1.0, None)
    keys = [shapes.key(i) for i in range(2000)]
    assert all(1 <= utf8_len(k) <= 256 for k in keys)
    assert {shapes.key_shape(i) for i in range(2000)} == {k["name"] for k in catalogue()["key"]} - {"plain"} | {"exact"}
    shaped = [k for i, k in enumerate(keys) if shapes.key_shape(i) != "plain" and shapes.key_shape(i) != "exact"]
    assert len(shaped) == len(set(shaped)), "two indices share a non-exact key"
    assert any(utf8_len(k) == 256 for k in keys) and any(utf8_len(k) == 1 for k in keys)
    rng = random.Random(seed)
    once = [shapes.write_once_key(rng, "w0-u1", n)[0] for n in range(500)]
    assert len(set(once)) == 500 and all(1 <= utf8_len(k) <= 256 for k in once)


def test_the_shapes_cover_the_character_classes_the_contract_allows():
    shapes = Shapes.for_target(3, 1.0, None)
    text = "".join(shapes.key(i) for i in range(2000))
    checks = {
        "slash": "/" in text, "percent": "%" in text, "space": " " in text, "nul": "\x00" in text,
        "json": '"' in text and "\\" in text and "\n" in text,
        "2-byte": any(0x80 <= ord(c) <= 0x7FF for c in text), "3-byte": any(0x800 <= ord(c) <= 0xFFFF for c in text),
        "4-byte": any(ord(c) > 0xFFFF for c in text), "combining": any(unicodedata.combining(c) for c in text),
        "rtl": any(unicodedata.bidirectional(c) in ("R", "AL") for c in text),
        "bidi override": "\u202e" in text, "zero width": "\u200b" in text,
        "dot segments": {".", ".."} <= {shapes.key(i) for i in range(2000)},
        "normalisation twins": {"é", "e\u0301"} <= {shapes.key(i) for i in range(2000)},
    }
    assert [name for name, ok in checks.items() if not ok] == []


def test_values_reach_the_limit_and_stay_unique_and_inside_it():
    shapes = Shapes.for_target(5, 1.0, None)
    rng = random.Random(5)
    drawn = [shapes.value(rng, f"p:{i}", allow_empty=i % 2 == 0) for i in range(4000)]
    kinds = {shape for _, shape in drawn}
    assert kinds == {v["name"] for v in catalogue()["value"]} - {"plain"}
    assert all(utf8_len(v) <= 65536 for v, _ in drawn)
    assert any(utf8_len(v) == 65536 and ord(v[-1]) > 0xFFFF for v, s in drawn if s == "max")
    assert all(v.startswith(f"p:{i}") for i, (v, s) in enumerate(drawn) if s != "empty")
    assert all(i % 2 == 0 for i, (_, s) in enumerate(drawn) if s == "empty"), "empty only where allowed"
    plain = Shapes.for_target(5, 0.0, None)
    assert all(plain.value(rng, f"p:{i}")[1] == "plain" and plain.key_shape(i) == "plain" for i in range(500))


def test_shapes_are_seeded_and_follow_smaller_published_limits():
    a, b = Shapes.for_target(7, 0.5, None), Shapes.for_target(7, 0.5, None)
    assert [a.key(i) for i in range(300)] == [b.key(i) for i in range(300)]
    assert [a.key(i) for i in range(300)] != [Shapes.for_target(8, 0.5, None).key(i) for i in range(300)]
    small = Shapes.for_target(7, 1.0, {"max_key_bytes": 40, "max_value_bytes": 2000})
    assert small.describe()["key_max_bytes"] == 40 and small.describe()["value_max_bytes"] == 2000
    assert all(1 <= utf8_len(small.key(i)) <= 40 for i in range(1000))
    rng = random.Random(1)
    assert all(utf8_len(small.value(rng, f"p:{i}", True)[0]) <= 2000 for i in range(1000))
    big = Shapes.for_target(7, 1.0, {"max_key_bytes": 10_000, "max_value_bytes": 10**7})  # not promised: capped
    assert big.key_max_bytes == 256 and big.value_max_bytes == 65536


def test_generator_options_are_on_by_default_validated_and_forwarded():
    options = LoadOptions.from_parsed(None)
    assert options.write_once_ratio > 0 and options.reread_ratio > 0 and options.hot_keys > 0
    assert options.hot_ratio > 0 and options.delete_ratio > 0 and options.local_read_ratio > 0
    assert options.shape_ratio > 0
    assert set(GENERATOR_HELP) <= set(options.public())
    bad = [({"write_once_ratio": 1.5}, "--write-once-ratio"), ({"hot_keys": -1}, "--hot-keys"),
           ({"hot_keys": 0, "hot_ratio": 0.5}, "--hot-ratio needs"), ({"delete_ratio": 0.5, "read_ratio": 0.6},
                                                                      "plus --delete-ratio"),
           ({"write_once_ratio": 0.6, "reread_ratio": 0.6}, "plus --reread-ratio"), ({"shape_ratio": "x"}, "float")]
    for change, message in bad:
        with pytest.raises(Tier7Error, match=re.escape(message)):
            LoadOptions.from_parsed(Namespace(**{**DEFAULTS, **change}))
    LoadOptions.from_parsed(Namespace(**{**DEFAULTS, "keyspace": 1}))  # fewer keys than hot keys: all of them hot


def test_tier7_load_forwards_the_generator_options_to_locust():
    """In a subprocess: the runner imports locust, whose gevent patching must not reach this test process."""
    script = """
import json, sys
from argparse import Namespace
from tier7.load.runner import locust_arguments
from tier7.load.cli import GENERATOR_HELP
from tier7.load.options import DEFAULTS
values = {name: DEFAULTS[name] for name in GENERATOR_HELP} | {"hot_keys": 7}
args = Namespace(users=1, spawn_rate=1, tenants=1, keyspace=10, read_ratio=0.5, cas_ratio=0.1, keys_per_tenant=1,
                 tenant_passes=0, seed=3, op_timeout=5.0, reconnect_backoff=0.0, target_file="", target_endpoints="",
                 run_dir=None, no_final_read=False, workers=0, **values)
print(json.dumps(locust_arguments(args)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    argv = json.loads(done.stdout.strip().splitlines()[-1])
    assert argv[argv.index("--hot-keys") + 1] == "7"
    assert all("--" + name.replace("_", "-") in argv for name in GENERATOR_HELP)


def test_the_client_records_write_once_puts_and_local_reads_and_sends_both_json_forms(tmp_path):
    server = ScriptedServer()
    try:
        path = tmp_path / "h.jsonl"
        client = RecordingClient(f"http://127.0.0.1:{server.port}", "tok", HistoryWriter(path), "p", tenant="t")
        server.replies += [(200, {"version": 1})] * 2 + [(404, {"error": {"code": "not_found"}})] + [(200, {})]
        client.put("once/1", "é😀", once=True)
        client.ascii_json = False
        client.put("k", "é😀")
        client.get("k", consistency="local")
        client.get("k")
    finally:
        server.close()
    events = list(read_events(path))
    invokes = [e for e in events if e["type"] == "invoke"]
    assert invokes[0].get("once") is True and "once" not in invokes[1]
    assert invokes[2]["consistency"] == "local" and "consistency" not in invokes[3]
    bodies = [r.split(b"\r\n\r\n", 1)[1] for r in server.requests[:2]]
    assert bodies[0] == json.dumps({"value": "é😀"}).replace(" ", "").encode()  # \u escapes
    assert bodies[1] == '{"value":"é😀"}'.encode()  # raw UTF-8


def test_write_once_keys_are_re_read_until_their_reads_are_used_up():
    rereads = Rereads(reads_per_key=2)
    rereads.add("a")
    rereads.add("b")
    assert [rereads.next() for _ in range(5)] == ["a", "b", "a", "b", None]

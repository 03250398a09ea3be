"""`tier7 selftest`: the catalogue is valid, its outcomes are judged right, and real mutants are caught."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tier7.errors import Tier7Error
from tier7.plan import CRITERIA_BY_ID
from tier7.selftest.catalogue import CATALOGUE_FILE, Mutant, load_catalogue, select
from tier7.selftest.command import check_switches
from tier7.selftest.outcome import judge
from tier7.selftest.table import markdown, rate, verdict

ROOT = Path(__file__).resolve().parents[1]


def tier7(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "tier7", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


# -- the catalogue --

def test_bundled_catalogue_is_valid_and_complete():
    mutants = load_catalogue()
    ids = {m.id for m in mutants}
    assert {"healthy", "misrouted-keys", "lost-writes", "stale-reads", "tenant-leak", "critical-log",
            "slow-election", "kill-misses-leader"} <= ids
    for m in mutants:
        assert all(c in CRITERIA_BY_ID and CRITERIA_BY_ID[c].built for c in m.only + m.must_fail + m.must_not_fail)
        assert m.healthy == (not m.switches), m.id  # only the baseline runs without a switch
    assert not [m for m in mutants if m.healthy and set(m.must_not_fail) != set(m.only)]
    # the false-FAIL baseline judges every built criterion (it once left out the four added last)
    built = {c.id for c in CRITERIA_BY_ID.values() if c.built}
    assert [set(m.only) for m in mutants if m.healthy] == [built]


def test_every_switch_is_accepted_by_the_testbed_itself():
    check_switches(load_catalogue())  # `python -m testbed init --test-faults ...` per mutant


def test_a_misspelt_switch_is_refused_by_the_testbed():
    with pytest.raises(Tier7Error, match="unknown test fault 'misroute_fractoin'"):
        check_switches([Mutant("typo", "x", {"misroute_fractoin": 0.1}, ("federation",), ("federation",))])


def write_catalogue(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


ENTRY = """[[mutant]]
id = "m"
story = "s"
switches = {{}}
only = {only}
must_fail = {must_fail}
must_not_fail = []
"""


# A criterion the plan has not built yet (None once all are): a mutant may not claim it.
UNBUILT = next((c for c, criterion in CRITERIA_BY_ID.items() if not criterion.built), None)


@pytest.mark.parametrize("only, must_fail, message", [
    ('["federation"]', '["no-such"]', "unknown criterion 'no-such'"),
    ('["federation"]', '["tenants"]', "'tenants' is judged but not in 'only'"),
    pytest.param(f'["{UNBUILT}"]', f'["{UNBUILT}"]', "not built yet",
                 marks=pytest.mark.skipif(UNBUILT is None, reason="every criterion of the plan is built")),
    ('[]', '[]', "must name at least one criterion"),
    ('["preset"]', '[]', "claims nothing"),
])
def test_bad_catalogue_is_a_one_line_error(tmp_path, only, must_fail, message):
    path = write_catalogue(tmp_path / "c.toml", ENTRY.format(only=only, must_fail=must_fail))
    with pytest.raises(Tier7Error, match=message):
        load_catalogue(path)
    done = tier7("selftest", "--catalogue", str(path), "--out", str(tmp_path / "r"), timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_unknown_mutant_is_refused():
    with pytest.raises(Tier7Error, match="unknown mutant 'nope'"):
        select(load_catalogue(), ["nope"])


# -- judging a run's verdicts --

MUTANT = Mutant("m", "s", {"x": True}, ("preset", "federation", "linearizable"), ("federation",), ("preset",))


def verdicts(**statuses):
    return {cid.replace("_", "-"): {"status": s, "reason": f"why {cid}"} for cid, s in statuses.items()}


@pytest.mark.parametrize("seen, result", [
    (dict(preset="PASS", federation="FAIL", linearizable="FAIL"), "caught"),  # linearizable may go either way
    (dict(preset="PASS", federation="PASS", linearizable="PASS"), "missed"),
    (dict(preset="PASS", federation="UNKNOWN", linearizable="PASS"), "missed"),  # UNKNOWN is not a catch
    (dict(preset="PASS", federation="NOT RUN", linearizable="PASS"), "missed"),
    (dict(preset="FAIL", federation="FAIL", linearizable="PASS"), "false FAIL"),
    (dict(preset="FAIL", federation="PASS", linearizable="PASS"), "missed + false FAIL"),
])
def test_outcome(seen, result):
    outcome = judge(MUTANT, verdicts(**seen), 1, 10.0, 1, Path("r"))
    assert outcome.result == result
    assert outcome.ok == (result == "caught")


def test_no_verdicts_is_an_error_and_not_a_catch():
    outcome = judge(MUTANT, None, 1, 3.0, 2, None)
    assert outcome.result == "error" and not outcome.ok and outcome.missed == ["federation"]


def test_healthy_baseline_is_clean_unless_something_fails():
    healthy = Mutant("healthy", "s", {}, ("preset", "logs"), (), ("preset", "logs"))
    assert judge(healthy, verdicts(preset="PASS", logs="UNKNOWN"), 1, 1.0, 0, None).result == "clean"
    assert judge(healthy, verdicts(preset="PASS", logs="FAIL"), 1, 1.0, 1, None).result == "false FAIL"


def test_detection_rate_and_partial_table():
    runs = [judge(MUTANT, verdicts(preset="PASS", federation=s, linearizable="PASS"), i, 5.0, 1, None)
            for i, s in enumerate(["FAIL", "PASS", "FAIL"])]
    assert rate(MUTANT, runs) == "2/3" and verdict(MUTANT, runs) == "missed"
    interrupted = judge(MUTANT, None, 9, 2.0, None, None, interrupted=True)
    assert rate(MUTANT, [interrupted]) == "-" and verdict(MUTANT, [interrupted]) == "interrupted"
    table = markdown([(MUTANT, runs), (MUTANT, [])], ["# t"])
    assert "| m | x=True | federation |" in table and "2/3" in table and "not run" in table
    rows, _, below = table.partition("## How each was caught")
    assert "why federation" not in rows  # reasons go below the table
    assert "- m (seed 0): federation FAIL: why federation" in below
    assert "(seed 1): missed — federation: PASS" in below.partition("## Not caught")[2]


# -- real runs (a fresh testbed each) --

def _bundled_entry(mutant_id: str) -> str:
    """The bundled catalogue's entry ``mutant_id`` as TOML text (so this test follows the catalogue)."""
    entry = next(m for m in tomllib.loads(CATALOGUE_FILE.read_text())["mutant"] if m["id"] == mutant_id)
    switches = ", ".join(f"{k} = {json.dumps(v)}" for k, v in entry["switches"].items())
    return (f'[[mutant]]\nid = "{entry["id"]}"\nstory = {json.dumps(entry["story"])}\nswitches = {{ {switches} }}\n'
            f'only = {json.dumps(entry["only"])}\nmust_fail = {json.dumps(entry["must_fail"])}\n'
            f'must_not_fail = {json.dumps(entry.get("must_not_fail", []))}\n\n')


def test_a_real_mutant_is_caught_and_a_claim_that_cannot_hold_is_missed(tmp_path):
    """One selftest run (the suite's time, issue 9): the catalogue's cheapest real mutant (critical-log) is
    caught, and an entry with no switch that claims the preset FAILs is reported missed (exit 1). The
    crash-on-value mutant is caught by tests/test_contract_run.py, misrouted keys, lost writes and a tenant
    leak by tests/test_verify.py, the whole catalogue by `tier7 selftest --quick` (docs/selftest.md)."""
    catalogue = write_catalogue(tmp_path / "c.toml", _bundled_entry("critical-log") + """[[mutant]]
id = "no-switch-claims-fail"
story = "no switch is on, yet the catalogue says the preset criterion FAILs: selftest must say missed"
switches = {}
only = ["preset"]
must_fail = ["preset"]
must_not_fail = []
""")
    done = tier7("selftest", "--catalogue", str(catalogue), "--quick", "--seed", "3", "--out", str(tmp_path / "r"))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    folder = next((tmp_path / "r").glob("*-selftest"))
    report = json.loads((folder / "selftest.json").read_text())
    results = {m["id"]: m for m in report["mutants"]}
    assert results["critical-log"]["result"] == "caught"
    assert results["critical-log"]["runs"][0]["statuses"]["logs"] == "FAIL"
    assert results["no-switch-claims-fail"]["result"] == "missed"
    assert results["no-switch-claims-fail"]["runs"][0]["statuses"] == {"preset": "PASS"}
    assert report["complete"] is True
    table = (folder / "selftest.md").read_text()
    assert "| critical-log |" in table and "| no-switch-claims-fail |" in table
    assert "critical-log" in done.stdout and "caught" in done.stdout and "missed" in done.stdout
    assert not (ROOT / ".planning").exists() or not _touched_since(ROOT / ".planning", folder)


def _touched_since(path: Path, folder: Path) -> bool:
    stamp = folder.stat().st_mtime
    return any(p.stat().st_mtime > stamp for p in path.rglob("STATUS.md"))

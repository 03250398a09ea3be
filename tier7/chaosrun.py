"""``tier7 chaos run <experiment> [--var key=value ...]``: run a Chaos Toolkit experiment as part of the
harness, with the verdict the harness needs.

Differences from ``chaos run`` (docs/faults.md):

- a steady-state hypothesis that failed *before* the method is a failure (``chaos run`` exits 0 then),
  and so is a method activity that failed, a failed rollback or a deviation;
- rollbacks always run, also on Ctrl-C or SIGTERM; after them a safety net undoes whatever is still in
  force on the target (paused or stopped nodes, network faults), bounded in time and deaf to a second
  Ctrl-C, and says what it had to undo;
- nemesis events go to ``<run>/history/`` (chaos/controls.py), the journal to
  ``<run>/chaos/<experiment>/journal.json`` (``<experiment>-2``... when it ran before in the same run
  folder), Chaos Toolkit's log and the wrapper's verdict (``verdict.json``) next to it; a method action
  that failed (chaoslib still says ``completed``), e.g. a kill that did not take effect, is a FAIL.

Exit codes: 0 passed; 1 failed, deviated or left faults behind; 2 usage error (malformed experiment,
unknown action argument, unreachable target: one line); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .errors import Tier7Error

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = PROJECT_ROOT / "experiments"
HEAL_TIMEOUT_S = 60.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    chaos = sub.add_parser("chaos", help="run Chaos Toolkit experiments (experiments/) against the target")
    csub = chaos.add_subparsers(dest="action", required=True)
    run = csub.add_parser("run", help="run one experiment; fails on a failed hypothesis, even before the method")
    run.add_argument("experiment", help="experiment name in experiments/ (e.g. kill-raft-leader) or a file path")
    run.add_argument("--var", action="append", default=[], metavar="KEY[:TYPE]=VALUE",
                     help="configuration value, as `chaos run --var` (TYPE: int, float, str, bytes)")
    run.add_argument("--run-dir", type=Path, default=None,
                     help="run folder (default $TIER7_RUN_DIR, else a new results/<UTC>-chaos)")
    run.add_argument("--testbed-dir", type=Path, default=None,
                     help="the target testbed (default $TIER7_TESTBED_DIR, else results/testbed)")
    heal = csub.add_parser("heal", help="undo every fault on the testbed: resume, restart, remove network faults")
    heal.add_argument("--testbed-dir", type=Path, default=None, help="default $TIER7_TESTBED_DIR or results/testbed")
    csub.add_parser("list", help="list the bundled experiments")


def command(args: argparse.Namespace) -> int:
    if args.action == "list":
        for path in sorted(EXPERIMENTS.glob("*.json")):
            print(f"{path.stem:<20} {json.loads(path.read_text()).get('title', '')}")
        return 0
    if args.action == "heal":
        done = heal_target({"tier7_testbed_dir": str(args.testbed_dir)} if args.testbed_dir else {})
        print(f"healed: {json.dumps(done)}")
        return 0
    return run_experiment(args.experiment, args.var, args.run_dir, args.testbed_dir)


def experiment_path(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    bundled = EXPERIMENTS / (name if name.endswith(".json") else f"{name}.json")
    if bundled.is_file():
        return bundled
    known = ", ".join(p.stem for p in sorted(EXPERIMENTS.glob("*.json")))
    raise Tier7Error(f"no experiment {name!r} (not a file, not in {EXPERIMENTS}); bundled: {known}")


def load(path: Path) -> dict[str, Any]:
    """Load and validate an experiment; any problem is one line naming the file."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    try:
        experiment = load_experiment(str(path))
    except (ChaosException, ValueError, OSError) as exc:
        raise Tier7Error(f"malformed experiment {path}: {exc}") from None
    if not isinstance(experiment, dict):
        raise Tier7Error(f"malformed experiment {path}: not a JSON/YAML object")
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise Tier7Error(f"invalid experiment {path}: {exc}") from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise Tier7Error(f"invalid experiment {path}: {exc.__class__.__name__}: {exc}") from None
    return experiment


def parse_vars(items: list[str]) -> dict[str, Any]:
    from chaoslib import convert_vars

    try:
        return convert_vars(items)
    except ValueError as exc:
        raise Tier7Error(f"--var: {exc} (expected KEY[:TYPE]=VALUE)") from None


def preflight(experiment: dict[str, Any], config_vars: dict[str, Any]) -> dict[str, Any]:
    """The experiment's configuration with the vars applied; fails clearly when the target is unreachable."""
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ActivityFailed, ChaosException

    from chaos.target import resolve, topology

    try:
        configuration = load_configuration(experiment.get("configuration", {}), dict(config_vars))
    except ChaosException as exc:
        raise Tier7Error(f"configuration: {exc}") from None
    try:
        topology(resolve(configuration))
    except ActivityFailed as exc:
        raise Tier7Error(str(exc)) from None
    return configuration


def judge(journal: dict[str, Any]) -> list[str]:
    """Why the run failed (empty: it passed): the offline check's own judgement of a journal
    (``analysis.journals.problems``), so ``tier7 chaos run`` and ``tier7 analyze`` agree."""
    from analysis.journals import problems

    return problems(journal)


def experiment_folder(run_dir: Path, stem: str) -> Path:
    """A new ``<run>/chaos/<stem>`` folder, or ``<stem>-2``, ``-3``... when the experiment already ran in this run
    folder (verify runs one kill per group): each run keeps its own journal, none overwrites another's."""
    base = run_dir / "chaos"
    base.mkdir(parents=True, exist_ok=True)
    for index in range(1, 10_000):
        folder = base / (stem if index == 1 else f"{stem}-{index}")
        try:
            folder.mkdir()  # atomic: two concurrent runs never share a folder
            return folder
        except FileExistsError:
            continue
    raise Tier7Error(f"too many runs of {stem} in {base}")


def write_verdict(folder: Path, verdict: dict[str, Any]) -> None:
    """The wrapper's verdict beside the journal (``verdict.json``), read by the offline check."""
    from analysis.journals import VERDICT_FILE  # lazily: analysis loads pandas

    (folder / VERDICT_FILE).write_text(json.dumps(verdict, indent=2, default=str))


def heal_target(configuration: dict[str, Any]) -> dict[str, Any]:
    """Undo every fault still in force (testbed driver); bounded by ``HEAL_TIMEOUT_S`` seconds."""
    from chaoslib.exceptions import ActivityFailed

    from chaos.target import resolve
    from tier7.targets.testbed import TestbedTarget

    try:
        target = resolve(configuration)
    except ActivityFailed as exc:
        raise Tier7Error(str(exc)) from None
    if not isinstance(target, TestbedTarget):
        return {"note": f"no safety net for target {target.name!r}: rollbacks only"}
    return target.heal(HEAL_TIMEOUT_S)


def _logging(folder: Path) -> list[logging.Handler]:
    logger = logging.getLogger("chaostoolkit")
    logger.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s] %(message)s", "%H:%M:%S"))
    folder.mkdir(parents=True, exist_ok=True)
    file = logging.FileHandler(folder / "chaostoolkit.log")
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for handler in (console, file):
        logger.addHandler(handler)
    return [console, file]


def run_experiment(name: str, var_items: list[str], run_dir: Path | None, testbed_dir: Path | None) -> int:
    path = experiment_path(name)
    experiment = load(path)
    config_vars = parse_vars(var_items)
    if testbed_dir is not None:
        config_vars["tier7_testbed_dir"] = str(testbed_dir)
    from tier7 import runfolder

    named = run_dir or os.environ.get("TIER7_RUN_DIR")
    run_dir = runfolder.create(Path(named).resolve()) if named else runfolder.new_run_dir("chaos").resolve()
    config_vars["tier7_run_dir"] = str(run_dir)
    configuration = preflight(experiment, config_vars)
    folder = experiment_folder(run_dir, path.stem)
    handlers = _logging(folder)
    started = time.time()
    journal: dict[str, Any] | None = None
    leftovers: dict[str, Any] = {}
    try:
        journal = _run(experiment, config_vars)
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the safety net must finish
        try:
            leftovers = heal_target(configuration)
        except Tier7Error as exc:
            leftovers = {"error": str(exc)}
        finally:
            signal.signal(signal.SIGINT, previous)
            for handler in handlers:
                logging.getLogger("chaostoolkit").removeHandler(handler)
                handler.close()
        _record_safety_net(run_dir, leftovers)
        if journal is None:  # the experiment raised: the offline check must still see a failed experiment
            write_verdict(folder, {"experiment": path.stem, "verdict": "FAIL", "exit_code": 1,
                                   "problems": ["tier7 chaos run ended before the experiment finished (no journal)"],
                                   "safety_net": leftovers, "experiment_file": str(path)})
    problems = judge(journal) + _left_behind(leftovers)
    interrupted = journal.get("status") == "interrupted"
    verdict = "PASS" if not problems else ("INTERRUPTED" if interrupted else "FAIL")
    code = 130 if interrupted else (1 if problems else 0)
    journal["tier7"] = {"verdict": "FAIL" if problems else "PASS", "problems": problems, "safety_net": leftovers,
                        "experiment_file": str(path), "vars": {k: str(v) for k, v in config_vars.items()}}
    (folder / "journal.json").write_text(json.dumps(journal, indent=2, default=str))
    write_verdict(folder, {"experiment": path.stem, **journal["tier7"], "status": journal.get("status"),
                           "exit_code": code})
    _run_json(run_dir, path, var_items, started, configuration)
    print(f"tier7 chaos: {path.stem}: {verdict}" + "".join(f"\n  - {p}" for p in problems))
    print(f"  journal: {folder / 'journal.json'}\n  history: {run_dir / 'history'}")
    return code


def _run(experiment: dict[str, Any], config_vars: dict[str, Any]) -> dict[str, Any]:
    from chaoslib.run import Runner
    from chaoslib.types import Schedule, Strategy

    settings = {"runtime": {"rollbacks": {"strategy": "always"}, "hypothesis": {"strategy": "default"}}}
    with Runner(Strategy.DEFAULT, Schedule()) as runner:
        return runner.run(experiment, settings=settings, experiment_vars=(dict(config_vars), {}))


def _left_behind(leftovers: dict[str, Any]) -> list[str]:
    if "error" in leftovers:
        return [f"safety net could not heal the target: {leftovers['error']}"]
    undone = [f"{k}: {v}" for k, v in leftovers.items() if k in ("resumed", "started") and v]
    undone += [f"network {k}: {len(v)}" for k, v in (leftovers.get("network") or {}).items() if v]
    return [f"faults left behind after the rollbacks, undone by the safety net ({'; '.join(undone)})"] if undone else []


def _record_safety_net(run_dir: Path, leftovers: dict[str, Any]) -> None:
    """A heal the safety net had to do is a nemesis event too (its own file and process name)."""
    if not _left_behind(leftovers):
        return
    from .history import HistoryWriter

    with HistoryWriter(run_dir / "history" / f"nemesis-{os.getpid()}-safety-net.jsonl") as writer:
        op = writer.invoke("nemesis-safety-net", "heal-all", value={"phase": "rollbacks", "heal": True})
        writer.complete("ok" if "error" not in leftovers else "fail", "nemesis-safety-net", op, "heal-all",
                        value={"heal": True, **leftovers})


def _run_json(run_dir: Path, path: Path, var_items: list[str], started: float, configuration: dict[str, Any]) -> None:
    file = run_dir / "run.json"
    if file.exists():
        return
    from .runfolder import git_commit

    file.write_text(json.dumps({
        "kind": "chaos", "command": sys.argv, "experiment": str(path), "vars": var_items,
        "start_wall": started, "end_wall": time.time(), "git_commit": git_commit(),
        "target": {"kind": configuration.get("tier7_target", "testbed"),
                   "testbed_dir": configuration.get("tier7_testbed_dir")}}, indent=2))

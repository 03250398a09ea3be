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
                     help="run folder (default $TIER7_RUN_DIR, else the load run in progress on the same "
                          "target, else a new results/<UTC>-chaos)")
    run.add_argument("--new-run", action="store_true",
                     help="record in a new results/<UTC>-chaos folder even when a load run is in progress")
    from .targetarg import HELP as TARGET_HELP

    # --target is the one name for the cluster across tier7 (tier7/targetarg.py, resolved by tier7/cli.py);
    # --testbed-dir is its old name, kept working but hidden.
    run.add_argument("--target", default=None, metavar="TARGET", help=TARGET_HELP + " (default: testbed)")
    run.add_argument("--testbed-dir", type=Path, default=None, help=argparse.SUPPRESS)
    heal = csub.add_parser("heal", help="undo every fault on the target: resume, restart, remove every toxic but "
                                        "the geography; then check nothing is left (exit 1 if something is)")
    heal.add_argument("--target", default=None, metavar="TARGET", help=TARGET_HELP + " (default: testbed)")
    heal.add_argument("--testbed-dir", type=Path, default=None, help=argparse.SUPPRESS)
    csub.add_parser("list", help="list the bundled experiments with their variables and defaults")


def command(args: argparse.Namespace) -> int:
    if args.action == "list":
        print(list_text())
        return 0
    if args.action == "heal":
        configuration = {"tier7_testbed_dir": str(args.testbed_dir)} if args.testbed_dir else {}
        for item in getattr(args, "var", []):  # tier7/cli.py puts a --target file there
            if item.startswith("tier7_target="):
                configuration["tier7_target"] = item.split("=", 1)[1]
        return heal_command(configuration)
    return run_experiment(args.experiment, args.var, args.run_dir, args.testbed_dir,
                          new_run=getattr(args, "new_run", False))


HARNESS_VARS = ("tier7_target", "tier7_testbed_dir", "tier7_run_dir")  # set by --target / --run-dir


def variables(experiment: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, default as text) of an experiment's configuration values a ``--var`` may set, the harness's
    own (``tier7_*``, set through --target / --run-dir) left out."""
    found = []
    for name, value in (experiment.get("configuration") or {}).items():
        if name in HARNESS_VARS:
            continue
        if isinstance(value, dict) and value.get("type") == "env":
            shown = f"{value.get('default', '')!r} (env ${value.get('key')})"
        else:
            shown = json.dumps(value)
        found.append((name, shown))
    return found


def list_text() -> str:
    """``tier7 chaos list``: each bundled experiment, its title and its variables with their defaults."""
    lines = []
    for path in sorted(EXPERIMENTS.glob("*.json")):
        experiment = json.loads(path.read_text())
        lines.append(f"{path.stem:<20} {experiment.get('title', '')}")
        shown = variables(experiment)
        lines.append("    vars: " + (", ".join(f"{name}={value}" for name, value in shown) if shown else "none"))
    lines.append("\nset a variable with --var NAME=VALUE (typed: --var NAME:int=VALUE), e.g. "
                 "tier7 chaos run kill-raft-leader --var group=g1")
    return "\n".join(lines)


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
        from .experiment_check import explain

        # the field and the allowed values where this harness can tell them, else chaoslib's words
        raise Tier7Error(explain(experiment, path) or f"invalid experiment {path}: {exc}") from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise Tier7Error(f"invalid experiment {path}: {exc.__class__.__name__}: {exc}") from None
    return experiment


VAR_TYPES = ("int", "float", "str", "bytes")


def parse_vars(items: list[str]) -> dict[str, Any]:
    """``--var KEY[:TYPE]=VALUE`` items as Chaos Toolkit reads them; a malformed one is a one-line error
    naming it (chaoslib itself says "not enough values to unpack")."""
    from chaoslib import convert_vars

    for item in items:
        key, eq, _ = item.partition("=")
        name, colon, kind = key.partition(":")
        if not eq or not name.strip():
            raise Tier7Error(f"--var {item!r}: expected KEY[:TYPE]=VALUE, e.g. --var group=g1")
        if colon and kind not in VAR_TYPES:
            raise Tier7Error(f"--var {item!r}: unknown type {kind!r}; one of {', '.join(VAR_TYPES)}")
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
    from tier7.targets.capabilities import SafetyNet

    try:
        target = resolve(configuration)
    except ActivityFailed as exc:
        raise Tier7Error(str(exc)) from None
    if not isinstance(target, SafetyNet):
        return {"note": f"no safety net for target {target.name!r}: rollbacks only"}
    return target.heal(HEAL_TIMEOUT_S)


def heal_command(configuration: dict[str, Any]) -> int:
    """``tier7 chaos heal``: heal, then ask ``faults_in_force`` (the same probe experiments use) what is
    still in force, so "healed" is only printed when the two agree. Exit 0 healed, 1 something remains."""
    from chaoslib.exceptions import ActivityFailed

    from chaos.probes import faults_in_force

    done = heal_target(configuration)
    print(f"undone: {json.dumps(done)}")
    try:
        found = faults_in_force(configuration)
    except ActivityFailed as exc:
        raise Tier7Error(f"healed, but cannot check what is still in force: {exc}") from None
    remaining = {k: v for k, v in found.items() if k != "network" and v}
    remaining.update({f"network {k}": v for k, v in (found.get("network") or {}).items() if v})
    if remaining:
        print("NOT healed, still in force: " + "; ".join(f"{k}: {', '.join(map(str, v))}"
                                                         for k, v in sorted(remaining.items())))
        return 1
    print("healed: nothing in force (faults_in_force agrees)")
    return 0


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


def run_experiment(name: str, var_items: list[str], run_dir: Path | None, testbed_dir: Path | None,
                   new_run: bool = False) -> int:
    path = experiment_path(name)
    experiment = load(path)
    config_vars = parse_vars(var_items)
    if testbed_dir is not None:
        config_vars["tier7_testbed_dir"] = str(testbed_dir)
    run_dir, joined, said = select_run_dir(run_dir, new_run, config_vars)
    config_vars["tier7_run_dir"] = str(run_dir)
    try:
        configuration = preflight(experiment, config_vars)
    except BaseException:
        # a chaos run that cannot start (unreachable or stopped target) leaves no empty run folder
        # behind, and `latest` was not moved to it (select_run_dir leaves that to a started run)
        if not joined and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise
    print(said, file=sys.stderr, flush=True)
    if not joined:
        from tier7 import runfolder

        runfolder.point_latest(run_dir)
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
    if joined:
        print(f"  joined the load run in progress: {run_dir} (its web UI's Faults tab and `tier7 analyze` show it)")
    return code


def target_folder(config_vars: dict[str, Any]) -> Path:
    """The folder of the target's cluster or target file (where a load run in progress leaves its
    ``live-run.json``): the testbed folder, or the target file's folder."""
    from chaos.target import TARGET_KEY, setting, testbed_dir

    kind = setting(config_vars, TARGET_KEY, "TIER7_TARGET", "testbed")
    return (testbed_dir(config_vars) if kind == "testbed" else Path(kind).parent).resolve()


def select_run_dir(explicit: Path | None, new_run: bool, config_vars: dict[str, Any]) -> tuple[Path, bool, str]:
    """The run folder this chaos run records into (tier7/liverun.py: ``--run-dir``, ``--new-run``,
    ``$TIER7_RUN_DIR``, the load run in progress on the same target, else a new ``results/<UTC>-chaos``),
    (folder, whether it joined a load run, the line saying which: printed once the target answered, so a
    start-up error stays one line). A joined run's folder is not made ``results/latest`` again: the load
    run owns it."""
    from tier7 import liverun, runfolder

    if explicit is not None and new_run:
        raise Tier7Error("--run-dir and --new-run contradict each other: give one")
    chosen, why = liverun.choose_run_dir(explicit, new_run, os.environ.get("TIER7_RUN_DIR"), target_folder(config_vars))
    joined = why.startswith("joined")
    said = f"tier7 chaos: {why if joined else 'recording into ' + why}"
    if chosen is None:
        return runfolder.new_run_dir("chaos", link=False).resolve(), False, said
    if not joined:
        chosen.resolve().mkdir(parents=True, exist_ok=True)  # `latest` moves once the run has started
    return chosen.resolve(), joined, said


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

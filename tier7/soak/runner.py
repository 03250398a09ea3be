"""The soak loop: one ``tier7 load`` process per window (history rotated by window, so memory stays bounded
whatever the duration), faults through ``tier7 chaos run`` while it runs (one at a time), ``tier7 analyze``
on the finished window, ``soak.json`` rewritten after every window (a crash leaves complete windows and
their checkpoint verdicts), and ``tier7 chaos heal`` at the end whatever happened.

SIGINT/SIGTERM: the soak forwards one SIGINT to the running load and fault (chaos run rolls back on it,
then its safety net heals), waits for them, analyses the partial window and heals. Children run in their
own sessions so a terminal's Ctrl-C reaches them only once, through the soak.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .schedule import Schedule
from .shape import ENV, shape_env
from .summary import combine, window_summary

CHILD_WAIT_S = 240.0  # a stopping load or fault (rollbacks + safety net) gets this long after SIGINT
ANALYZE_TIMEOUT_S = 600.0
POLL_S = 0.2


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process (KiB, /proc/<pid>/status VmRSS); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Soak:
    """One soak run: ``run()`` returns the exit status (0 PASS, 1 otherwise, 130 interrupted)."""

    def __init__(self, run_dir: Path, profile: dict[str, Any], schedule: Schedule, duration_s: float,
                 target: str | None, seed: int) -> None:
        self.run_dir, self.profile, self.schedule = run_dir, profile, schedule
        self.duration_s, self.target, self.seed = duration_s, target, seed
        self.rng = random.Random(seed)
        self.stop_signal: str | None = None
        self.children: list[subprocess.Popen[bytes]] = []
        self.signalled: set[int] = set()  # children the signal handler already sent SIGINT
        self.windows: list[dict[str, Any]] = []
        # (seconds since start, harness RSS, the running window's load process RSS) every memory_sample_s
        self.memory: list[dict[str, float | int]] = []
        self.memory_every_s = float(profile["soak"].get("memory_sample_s", 60.0))
        self.started = time.monotonic()
        self.faults_started = 0
        self.last_fault_end: float | None = None
        self.started_wall = time.time()
        self.heal: dict[str, Any] | None = None

    # --- processes -------------------------------------------------------------------------------------
    def _tier7(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tier7", *args]

    def _target_args(self) -> list[str]:
        return ["--target", self.target] if self.target else []

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=env, cwd=os.getcwd())
        self.children.append(child)
        return child

    def _finish(self, child: subprocess.Popen[bytes], limit_s: float, stoppable: bool = True) -> int:
        """Wait for ``child``: SIGINT once the soak is stopping (``stoppable``: not the analysis of the last
        window, which must still be written) or after ``limit_s``; SIGKILL of its group as last resort."""
        deadline = time.monotonic() + limit_s
        interrupted = False
        while child.poll() is None:
            if child.pid in self.signalled and not interrupted:  # the handler sent it: never a second SIGINT
                interrupted, deadline = True, time.monotonic() + CHILD_WAIT_S
            if ((stoppable and self.stop_signal) or time.monotonic() > deadline) and not interrupted:
                child.send_signal(signal.SIGINT)
                interrupted, deadline = True, time.monotonic() + CHILD_WAIT_S
            elif interrupted and time.monotonic() > deadline:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(10)
                break
            time.sleep(POLL_S)
        self.children.remove(child)
        return int(child.returncode)

    def on_signal(self, signum: int, _frame: Any) -> None:
        if self.stop_signal is None:
            self.stop_signal = signal.Signals(signum).name
            print(f"soak: {self.stop_signal}: stopping; rolling back the fault in progress", flush=True)
            for child in list(self.children):
                if child.poll() is None:
                    self.signalled.add(child.pid)
                    child.send_signal(signal.SIGINT)

    # --- one window ------------------------------------------------------------------------------------
    def run_fault(self, folder: Path, log: Path) -> None:
        fault = self.schedule.pick(self.rng)
        self.faults_started += 1
        print(f"soak: fault {self.faults_started}: {fault.name} ({fault.experiment} {' '.join(fault.var_items)})",
              flush=True)
        argv = self._tier7("chaos", "run", fault.experiment, "--run-dir", str(folder), *self._target_args())
        for item in fault.var_items:
            argv += ["--var", item]
        code = self._finish(self._spawn(argv, log), CHILD_WAIT_S)
        self.last_fault_end = time.monotonic()
        print(f"soak: fault {fault.name} exit {code}", flush=True)

    def run_window(self, index: int, offset_s: float, length_s: float) -> dict[str, Any]:
        folder = self.run_dir / "windows" / f"w{index:03d}"
        log = self.run_dir / "logs" / f"w{index:03d}.log"
        env = {**os.environ, ENV: shape_env(self.profile, offset_s, length_s)}
        soak = self.profile["soak"]
        argv = self._tier7("load", "--profile", str(soak["load_profile"]), "--users", "1",
                           "--spawn-rate", str(soak["spawn_rate"]), "--duration", f"{length_s:g}",
                           "--tenants", str(soak.get("tenants", 1)),
                           "--seed", str(self.seed + index), "--run-dir", str(folder), "--quiet",
                           *self._target_args())
        began = time.monotonic()
        load = self._spawn(argv, log, env)
        ready = time.monotonic() + 300.0  # tenant setup and target checks before the users start
        while load.poll() is None and not self.stop_signal and time.monotonic() < ready \
                and not (folder / "run.json").is_file():
            time.sleep(POLL_S)
        start = time.monotonic()
        end = start + length_s
        while load.poll() is None and not self.stop_signal and time.monotonic() < end + 600.0:
            now = time.monotonic()
            self.sample_memory(now, load.pid)
            if now - start >= self.schedule.first_after_s and \
                    self.schedule.may_start(now, self.last_fault_end, end - now, self.faults_started):
                self.run_fault(folder, log)
                continue
            time.sleep(POLL_S)
        code = self._finish(load, max(0.0, end + 300.0 - time.monotonic()))
        analyse = self._spawn(self._tier7("analyze", str(folder), "--no-dashboard"), log)
        self._finish(analyse, ANALYZE_TIMEOUT_S, stoppable=False)
        summary = window_summary(folder, soak.get("judged"))
        summary.update({"index": index, "offset_s": offset_s, "length_s": length_s, "load_exit": code,
                        "complete": self.stop_signal is None and code == 0,
                        "wall_s": round(time.monotonic() - began, 1), "harness_rss_kib": rss_kib(),
                        "children_max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss})
        print(f"soak: window {index} ({offset_s:g}-{offset_s + length_s:g} s): {summary['verdict']}  "
              f"faults {len(summary['faults'])}  harness RSS {summary['harness_rss_kib']} KiB", flush=True)
        return summary

    def sample_memory(self, now: float, load_pid: int) -> None:
        """Note the harness's and the load process's RSS (KiB) once every ``memory_sample_s`` seconds."""
        if self.memory and now - self.started - float(self.memory[-1]["t_s"]) < self.memory_every_s:
            return
        self.memory.append({"t_s": round(now - self.started, 1), "harness_rss_kib": rss_kib(),
                            "load_rss_kib": rss_kib(load_pid)})

    # --- the whole run ---------------------------------------------------------------------------------
    def write(self, complete: bool) -> dict[str, Any]:
        combined = combine(self.windows, self.heal, complete)
        doc = {"kind": "soak", "seed": self.seed, "duration_s": self.duration_s, "profile": self.profile["_path"],
               "started_wall": self.started_wall, "updated_wall": time.time(), "complete": complete,
               "interrupted_by": self.stop_signal, "result": combined["result"],
               "verdicts": {"result": combined["result"], "criteria": combined["criteria"]},
               "figures": combined["figures"], "final_heal": self.heal, "windows": self.windows,
               "memory": self.memory}
        tmp = self.run_dir / "soak.json.tmp"
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.run_dir / "soak.json")  # atomic: a crash never leaves half a file
        return doc

    def final_heal(self) -> None:
        argv = self._tier7("chaos", "heal", *self._target_args())
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=180.0, start_new_session=True)
            self.heal = {"exit_code": done.returncode, "output": (done.stdout + done.stderr).strip()[-2000:]}
        except subprocess.TimeoutExpired:
            self.heal = {"exit_code": None, "output": "tier7 chaos heal timed out after 180 s"}
        print(f"soak: final heal exit {self.heal['exit_code']}: {self.heal['output'].splitlines()[-1:]}", flush=True)

    def run(self) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "run.json").write_text(json.dumps(
            {"kind": "soak", "argv": sys.argv, "seed": self.seed, "started_wall": self.started_wall}, indent=2))
        previous = {s: signal.signal(s, self.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        window_s = float(self.profile["soak"]["window_s"])
        offset, index = 0.0, 1
        try:
            while offset < self.duration_s - 1.0 and not self.stop_signal and index <= 100_000:
                length = min(window_s, self.duration_s - offset)
                self.windows.append(self.run_window(index, offset, length))
                self.write(complete=False)
                offset, index = offset + length, index + 1
        finally:
            self.final_heal()  # also after a crash of the loop: nothing stays in force
            for s, handler in previous.items():
                signal.signal(s, handler)
            doc = self.write(complete=self.stop_signal is None and bool(self.windows))
        print(f"soak: {doc['result']} — {len(self.windows)} window(s): "
              + ", ".join(f"{c['id']} {c['status']}" for c in doc["verdicts"]["criteria"]), flush=True)
        if self.memory:
            first, last = self.memory[0], self.memory[-1]
            print(f"soak: memory (KiB): harness {first['harness_rss_kib']} at {first['t_s']:g} s -> "
                  f"{last['harness_rss_kib']} at {last['t_s']:g} s; load process up to "
                  f"{max(int(m['load_rss_kib']) for m in self.memory)} (soak.json \"memory\")", flush=True)
        print(f"run folder: {self.run_dir}", flush=True)
        if self.stop_signal:
            return 130
        return 0 if doc["result"] == "PASS" else 1

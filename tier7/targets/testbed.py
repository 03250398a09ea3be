"""Driver for the bundled testbed: starts its nodes as subprocesses (``python -m testbed``), remembers
their PIDs in ``<dir>/state.json``, and kills, pauses, restarts and stops them by PID.

When the cluster file has a ``geo`` section (simulated regions), the driver also runs the fault proxy
(``python -m chaos.proxy``, its own process group, PID in ``state.json`` as ``proxy_pid``), creates one
proxy per inter-region link with the region pair's baseline latency before any node starts, and stops
it after the nodes. Network faults between regions go through ``network()``.

This module never imports ``testbed``; it reads the cluster file the testbed writes (JSON data).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from ..topology import Topology, observe
from ..toxiproxy import ToxiproxyClient, ToxiproxyError
from ..waiting import DeadlineExceeded, GiveUp, wait_until
from . import processes
from .base import Capability, NodeInfo
from .network import RegionNetwork

DEFAULT_DIR = Path(os.environ.get("TIER7_TESTBED_DIR", "results/testbed"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class TestbedTarget:
    """A testbed cluster on loopback, operated through its processes and observed through its contract."""

    __test__ = False  # not a pytest test class
    name = "testbed"
    capabilities = frozenset({Capability.KILL, Capability.RESTART, Capability.PAUSE, Capability.LOGS})
    PROXY_START_S = 10.0  # seconds to wait for the fault proxy's API to answer

    def __init__(self, directory: Path, python: str | None = None) -> None:
        self.dir = Path(directory).resolve()
        self.python = python or sys.executable
        self.cluster_file = self.dir / "cluster.json"
        self.state_file = self.dir / "state.json"
        try:
            self.cluster: dict[str, Any] = json.loads(self.cluster_file.read_text())
        except FileNotFoundError:
            raise Tier7Error(f"no testbed in {self.dir} (no cluster.json); run `tier7 testbed up` first") from None
        except json.JSONDecodeError as exc:
            raise Tier7Error(f"{self.cluster_file} is not valid JSON: {exc}") from None
        self.pids: dict[str, int] = {}
        self.proxy_pid: int | None = None
        if self.state_file.exists():
            try:
                state = json.loads(self.state_file.read_text())
                self.pids = {k: int(v) for k, v in state["pids"].items()}
                self.proxy_pid = int(state["proxy_pid"]) if state.get("proxy_pid") else None
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise Tier7Error(f"{self.state_file} is corrupt ({exc}); stop the nodes by hand") from None
        self._network: RegionNetwork | None = None
        if self.cluster.get("geo"):
            self.capabilities = self.capabilities | {Capability.NETWORK}

    # -- creation --

    @classmethod
    def create(cls, directory: Path, preset: str = "god-tier", admin_token: str | None = None,
               test_faults: dict[str, Any] | None = None, python: str | None = None,
               geo: str | None = None) -> TestbedTarget:
        """Write a fresh cluster file for ``preset`` into ``directory`` (old node data is wiped).

        ``geo``: simulated-regions profile of the preset (default the preset's own; ``"none"``: direct).
        """
        directory = Path(directory).resolve()
        existing = directory / "state.json"
        if existing.exists():
            old = cls(directory)
            if old.running() or old.proxy_running():
                raise Tier7Error(f"a testbed is already running in {directory}; run `tier7 testbed down` first")
        shutil.rmtree(directory / "nodes", ignore_errors=True)
        existing.unlink(missing_ok=True)
        argv = [python or sys.executable, "-m", "testbed", "init", "--preset", preset, "--dir", str(directory)]
        if admin_token:
            argv += ["--admin-token", admin_token]
        if test_faults:
            argv += ["--test-faults", json.dumps(test_faults)]
        if geo:
            argv += ["--geo", geo]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["testbed init failed"])[-1]
            raise Tier7Error(message.removeprefix("testbed: error: "))
        return cls(directory, python)

    # -- Target protocol --

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo(n["name"], n["group"], n["region"], f"http://{n['host']}:{n['http_port']}")
                for n in self.cluster["nodes"]]

    def node(self, name: str) -> NodeInfo:
        for info in self.nodes():
            if info.name == name:
                return info
        raise Tier7Error(f"no node named {name!r}; nodes: {', '.join(n.name for n in self.nodes())}")

    def admin_token(self) -> str:
        return self.cluster["admin_token"]

    def secrets(self) -> list[str]:
        """Strings that must never appear in evidence (redacted by the report writer)."""
        return [self.cluster["admin_token"], self.cluster["secret"]]

    def node_dir(self, name: str) -> Path:
        return Path(next(n["dir"] for n in self.cluster["nodes"] if n["name"] == name))

    def log_files(self) -> dict[str, Path]:
        return {n.name: self.node_dir(n.name) / "node.log" for n in self.nodes()}

    def _marker(self, name: str) -> list[str]:
        return ["testbed", "node", "--name", name, str(self.cluster_file)]

    def start_node(self, name: str) -> None:
        self.node(name)
        if name in self.pids and processes.is_running(self.pids[name], self._marker(name)):
            return
        self.start_proxy()
        node_dir = self.node_dir(name)
        node_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        argv = [self.python, "-m", "testbed", "node", "--config", str(self.cluster_file), "--name", name]
        self.pids[name] = processes.spawn(argv, node_dir / "stdout.log", env=env, cwd=PROJECT_ROOT)
        self._save()

    def kill_node(self, name: str) -> None:
        """SIGKILL the node's process group and wait until it is gone."""
        self.node(name)
        pid = self.pids.get(name)
        if pid is None or not processes.kill(pid, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def pause_node(self, name: str) -> None:
        if not processes.send(self.pids.get(name, -1), signal.SIGSTOP, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def resume_node(self, name: str) -> None:
        if not processes.send(self.pids.get(name, -1), signal.SIGCONT, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def stop_node(self, name: str) -> None:
        pid = self.pids.get(name)
        if pid is not None:
            processes.stop(pid, self._marker(name))

    def is_running(self, name: str) -> bool:
        pid = self.pids.get(name)
        return pid is not None and processes.is_running(pid, self._marker(name))

    def running(self) -> list[str]:
        return [n for n in self.pids if self.is_running(n)]

    def is_paused(self, name: str) -> bool:
        """True when the node's process is stopped (SIGSTOP)."""
        pid = self.pids.get(name)
        return pid is not None and self.is_running(name) and processes.state(pid) == "T"

    def paused(self) -> list[str]:
        return [n for n in self.pids if self.is_paused(n)]

    # -- the fault proxy (simulated regions) --

    def network(self) -> RegionNetwork | None:
        """The inter-region links and their faults, or None when the cluster has no simulated regions."""
        geo = self.cluster.get("geo")
        if not geo:
            return None
        if self._network is None:
            self._network = RegionNetwork.from_geo(geo, self.cluster["preset"]["cluster"]["regions"])
        return self._network

    def _proxy_marker(self) -> list[str]:
        return ["chaos.proxy", f"tier7-testbed:{self.cluster_file}"]

    def proxy_running(self) -> bool:
        return self.proxy_pid is not None and processes.is_running(self.proxy_pid, self._proxy_marker())

    def start_proxy(self) -> None:
        """Start the fault proxy if the cluster has simulated regions and it is not running, then make sure
        every link exists with its baseline latency (seconds: at most ``PROXY_START_S`` to come up)."""
        network = self.network()
        if network is None or self.proxy_running():
            return
        host, port = self.cluster["geo"]["proxy_api"].rsplit(":", 1)
        argv = [self.python, "-m", "chaos.proxy", "--host", host, "--port", port,
                "--label", f"tier7-testbed:{self.cluster_file}"]
        log = self.dir / "proxy.log"
        self.proxy_pid = processes.spawn(argv, log, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=PROJECT_ROOT)
        self._save()
        client = ToxiproxyClient(network.api, timeout=1.0)

        def answering() -> bool:
            if not self.proxy_running():
                raise GiveUp("the fault proxy exited at start")  # the caller adds "; see <log>"
            return bool(client.version())

        try:
            wait_until(answering, self.PROXY_START_S, 0.05, "the fault proxy's API to answer")
            network.install()
        except (DeadlineExceeded, ToxiproxyError) as exc:
            self.stop_proxy()
            raise Tier7Error(f"{exc}; see {log}") from None
        except Tier7Error:
            self.stop_proxy()
            raise
        finally:
            client.close()

    def stop_proxy(self) -> None:
        if self.proxy_pid is not None:
            processes.stop(self.proxy_pid, self._proxy_marker())
            self.proxy_pid = None
            self._save()

    def heal(self, timeout: float = 30.0) -> dict[str, Any]:
        """Undo every fault: resume paused nodes, start the stopped ones this driver had started, remove
        network faults; then wait (seconds: ``timeout``) until the cluster is healthy. Returns what was done.
        A testbed that was never started (or was brought down) is refused, never started."""
        if not self.pids:
            raise Tier7Error(f"the testbed in {self.dir} is not up (no node PIDs in {self.state_file.name}); "
                             "nothing to heal: start it with `tier7 testbed up`")
        resumed = self.paused()
        for name in resumed:
            processes.send(self.pids[name], signal.SIGCONT, self._marker(name))
        self.start_proxy()
        network = self.network()
        undone = network.heal() if network is not None else {}
        started = [name for name in self.pids if not self.is_running(name)]
        for name in started:
            self.start_node(name)
        self.wait_healthy(timeout)
        return {"resumed": resumed, "started": started, "network": undone}

    # -- whole cluster --

    def start(self, timeout: float = 30.0) -> Topology:
        """Start the fault proxy (simulated regions) and every node, and wait (seconds: ``timeout``) until
        each group has an agreed leader."""
        self.start_proxy()
        for info in self.nodes():
            self.start_node(info.name)
        return self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0) -> Topology:
        def ready() -> Topology | None:
            dead = [n.name for n in self.nodes() if not self.is_running(n.name)]
            if dead:
                raise GiveUp(f"node(s) exited: {', '.join(dead)}; see {self.node_dir(dead[0]) / 'stdout.log'}")
            topology = observe(self.nodes(), timeout=1.0)
            return topology if topology.healthy() else None

        try:
            return wait_until(ready, timeout, 0.1, "every Raft group to elect an agreed leader")
        except DeadlineExceeded as exc:
            raise Tier7Error(str(exc)) from None

    def _reload_pids(self) -> dict[str, set[int]]:
        """Every PID known for each node: ours and those another process (e.g. a `tier7 chaos run` that
        restarted a node) saved in state.json since we read it."""
        known = {name: {pid} for name, pid in self.pids.items()}
        try:
            saved = json.loads(self.state_file.read_text())
            for name, pid in saved.get("pids", {}).items():
                known.setdefault(name, set()).add(int(pid))
            if saved.get("proxy_pid") and not self.proxy_pid:
                self.proxy_pid = int(saved["proxy_pid"])
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        return known

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL), then the fault proxy, and forget the PIDs."""
        every = [(name, pid) for name, pids in self._reload_pids().items() for pid in sorted(pids)]
        for name, pid in every:  # all at once, so shutdowns overlap
            processes.send(pid, signal.SIGTERM, self._marker(name))
            processes.send(pid, signal.SIGCONT, self._marker(name))
        for name, pid in every:
            processes.stop(pid, self._marker(name))
        self.pids = {}
        if self.proxy_pid is not None:
            processes.stop(self.proxy_pid, self._proxy_marker())
            self.proxy_pid = None
        if self._network is not None:
            self._network.close()
        self.state_file.unlink(missing_ok=True)

    def _save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cluster_file": str(self.cluster_file), "pids": self.pids,
                                   "proxy_pid": self.proxy_pid}, indent=2))
        tmp.replace(self.state_file)

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
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from ..errors import Tier7Error
from ..topology import Topology, observe
from ..toxiproxy import ToxiproxyClient, ToxiproxyError
from ..waiting import DeadlineExceeded, GiveUp, wait_until
from . import processes
from .base import Capability, NodeInfo
from .emulators import Emulators
from .network import RegionNetwork

DEFAULT_DIR = Path(os.environ.get("TIER7_TESTBED_DIR", "results/testbed"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class TestbedTarget:
    """A testbed cluster on loopback, operated through its processes and observed through its contract."""

    __test__ = False  # not a pytest test class
    name = "testbed"
    capabilities = frozenset({Capability.KILL, Capability.RESTART, Capability.PAUSE, Capability.LOGS,
                              Capability.SCALE, Capability.BLOBS})
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
        return [self.cluster["admin_token"], self.cluster["secret"], *self.emulators().secrets(),
                *self._tls_key_lines()]

    def _tls_key_lines(self) -> list[str]:
        """The base64 lines of the cluster's TLS key (adaptive transport), each a secret on its own."""
        path = (self.cluster.get("transport") or {}).get("key")
        try:
            text = Path(path).read_text() if path else ""
        except OSError:
            return []
        return [line for line in text.splitlines() if line and not line.startswith("-----")]

    def emulators(self) -> Emulators:
        """The blob emulators of this testbed (started on demand: the cloud phase, `tier7 testbed up`)."""
        return Emulators(self.dir, self.python)

    def node_dir(self, name: str) -> Path:
        return Path(next(n["dir"] for n in self.cluster["nodes"] if n["name"] == name))

    def log_files(self) -> dict[str, Path]:
        """Every node's log, the drained (removed) nodes' included: their logs stay evidence."""
        removed = {n["name"]: Path(n["dir"]) / "node.log" for n in self.cluster.get("removed_nodes", [])}
        return {**removed, **{n.name: self.node_dir(n.name) / "node.log" for n in self.nodes()}}

    def _marker(self, name: str) -> list[str]:
        return ["testbed", "node", "--name", name, str(self.cluster_file)]

    def _pid(self, name: str) -> int | None:
        """The node's PID: ours while it runs, else the one another process (a `tier7 chaos run` that restarted
        the node) saved in state.json since we read it, if that one runs. A stale PID would make a kill
        "miss" a running node and a heal start a second one on the same ports."""
        pid = self.pids.get(name)
        if pid is not None and processes.is_running(pid, self._marker(name)):
            return pid
        for other in self._reload_pids().get(name, set()) - {pid}:
            if processes.is_running(other, self._marker(name)):
                self.pids[name] = other
                return other
        return pid

    def start_node(self, name: str) -> None:
        self.node(name)
        if self.is_running(name):
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
        pid = self._pid(name)
        if pid is None or not processes.kill(pid, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def pause_node(self, name: str) -> None:
        if not processes.send(self._pid(name) or -1, signal.SIGSTOP, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def resume_node(self, name: str) -> None:
        if not processes.send(self._pid(name) or -1, signal.SIGCONT, self._marker(name)):
            raise Tier7Error(f"node {name} is not running")

    def stop_node(self, name: str) -> None:
        pid = self._pid(name)
        if pid is not None:
            processes.stop(pid, self._marker(name))

    def is_running(self, name: str) -> bool:
        pid = self._pid(name)
        return pid is not None and processes.is_running(pid, self._marker(name))

    def running(self) -> list[str]:
        return [n for n in self.pids if self.is_running(n)]

    def is_paused(self, name: str) -> bool:
        """True when the node's process is stopped (SIGSTOP)."""
        pid = self._pid(name)
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
        self.emulators().stop()  # blob emulators (tier7/targets/emulators.py), by their PIDs
        self.state_file.unlink(missing_ok=True)

    # -- scaling (capability "scale"; tier7/targets/scaling.py, docs/contract.md "Scaling (v3)") --

    GROUP_START_S = 30.0  # seconds for a new group's nodes to elect a leader
    ADMIN_TIMEOUT_S = 15.0  # seconds for the admin rebalance call

    def scale_out(self, n: int = 3) -> str:
        """Add a Raft group of ``n`` new nodes (one per region; ``n`` must equal the region count): write
        them and their fault-proxy links into the cluster file, start them, wait for their leader, then
        ask the cluster to rebalance onto them (``POST /v1/admin/rebalance`` add). Does not wait for the
        rebalance. Returns the new group's name."""
        regions = list(self.cluster["preset"]["cluster"]["regions"])
        if n != len(regions):
            raise Tier7Error(f"scale_out adds one node per region: n must be {len(regions)}, got {n}")
        used = {node["group"] for node in self.cluster["nodes"] + self.cluster.get("removed_nodes", [])}
        index = 0
        while f"g{index}" in used:  # never reuse a drained group's name (its old data folders stay as evidence)
            index += 1
        group, host = f"g{index}", self.cluster["preset"]["cluster"]["host"]
        self._note_current_ring()
        geo = self.cluster.get("geo")
        links_per_node = 2 * (len(regions) - 1) if geo else 0
        ports = iter(_free_ports(n * (2 + links_per_node), host))
        fresh = [{"name": f"{group}-{region}", "group": group, "region": region, "host": host,
                  "http_port": next(ports), "raft_port": next(ports),
                  "dir": str((self.dir / "nodes" / f"{group}-{region}").resolve())} for region in regions]
        for node in fresh:
            shutil.rmtree(node["dir"], ignore_errors=True)
        self.cluster["nodes"].extend(fresh)
        if geo:
            for node in fresh:  # same shape as testbed/geo.py: <kind>.<from region>.<to node>
                for kind in ("raft", "http"):
                    for region in regions:
                        if region != node["region"]:
                            port = node["raft_port"] if kind == "raft" else node["http_port"]
                            geo["links"].append({"name": f"{kind}.{region}.{node['name']}", "kind": kind,
                                                 "from_region": region, "to_node": node["name"],
                                                 "to_region": node["region"], "listen": f"{host}:{next(ports)}",
                                                 "upstream": f"{host}:{port}"})
        self._save_cluster()
        if geo and self.proxy_running():
            if self._network is not None:
                self._network.close()
            self._network = None
            self.network().install()  # the new links, with their baseline latency, before the nodes start
        for node in fresh:  # spawned at once: their start-ups overlap
            self.start_node(node["name"])
        self._wait_group_leader(group, self.GROUP_START_S)
        self._rebalance("add", group)
        return group

    def _wait_group_leader(self, group: str, timeout: float) -> None:
        """Wait (seconds: ``timeout``) for the new group's agreed leader; only its nodes are polled (the
        others serve load meanwhile: polling all of them each round only slowed this down)."""
        infos = [info for info in self.nodes() if info.group == group]

        def ready() -> bool:
            dead = [i.name for i in infos if not self.is_running(i.name)]
            if dead:
                raise GiveUp(f"node(s) exited: {', '.join(dead)}; see {self.node_dir(dead[0]) / 'stdout.log'}")
            return observe(infos, timeout=1.0, client=http).healthy()

        with httpx.Client() as http:
            try:
                wait_until(ready, timeout, 0.05, f"the new group {group} to elect an agreed leader")
            except DeadlineExceeded as exc:
                raise Tier7Error(str(exc)) from None

    def scale_in(self, group: str) -> None:
        """Ask the cluster to drain ``group`` (``POST /v1/admin/rebalance`` remove); does not wait."""
        if not any(node["group"] == group for node in self.cluster["nodes"]):
            raise Tier7Error(f"no group {group!r}; groups: {', '.join(sorted({n['group'] for n in self.cluster['nodes']}))}")
        self._rebalance("remove", group)

    def finish_scale_in(self, group: str, timeout: float) -> None:
        """Wait (seconds: ``timeout``) until every node reports the drain of ``group`` finished, then stop the
        group's nodes (SIGTERM: they exit cleanly) and forget them (``nodes()`` no longer lists them; their
        logs stay listed by ``log_files()``)."""
        members = [node for node in self.cluster["nodes"] if node["group"] == group]
        if not members:
            raise Tier7Error(f"no group {group!r} to finish draining")

        def finished() -> bool:
            answers = []
            with httpx.Client(timeout=2.0) as http:
                for info in self.nodes():
                    if not self.is_running(info.name):
                        continue
                    body = http.get(f"{info.url}/v1/rebalance").json()
                    if body.get("state") == "failed":
                        raise GiveUp(f"the drain of {group} failed (node {info.name})")
                    answers.append(body.get("state") == "finished" and body.get("action") == "remove"
                                   and body.get("group") == group)
            return bool(answers) and all(answers)

        try:
            wait_until(finished, timeout, 0.2, f"the drain of {group} to finish on every node")
        except DeadlineExceeded as exc:
            raise Tier7Error(str(exc)) from None
        for node in members:
            self.stop_node(node["name"])
            self.pids.pop(node["name"], None)
        self.cluster["nodes"] = [node for node in self.cluster["nodes"] if node["group"] != group]
        self.cluster.setdefault("removed_nodes", []).extend(members)
        self._save_cluster()
        self._save()

    def _note_current_ring(self) -> None:
        """Write the cluster's current ring into the cluster file, so nodes started from it (the new group's)
        route by it from their first request rather than by the epoch the cluster was created with. The ring
        is a routing hint there; which group serves a key is decided in that group's Raft log."""
        with httpx.Client(timeout=2.0) as http:
            for info in self.nodes():
                if not self.is_running(info.name):
                    continue
                try:
                    ring = http.get(f"{info.url}/v1/ring").json()
                    self.cluster["ring"].update(epoch=int(ring["epoch"]), groups=list(ring["groups"]))
                    return
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    continue

    def _rebalance(self, action: str, group: str) -> None:
        body = {"action": action, "group": group}
        headers = {"authorization": f"Bearer {self.admin_token()}"}
        errors = []
        with httpx.Client(timeout=self.ADMIN_TIMEOUT_S) as http:
            for info in self.nodes():  # any node of a ring group answers; the first that does decides
                if info.group == group and action == "add" or not self.is_running(info.name):
                    continue
                try:
                    response = http.post(f"{info.url}/v1/admin/rebalance", json=body, headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(f"{info.name}: {exc.__class__.__name__}")
                    continue
                if response.status_code == 202:
                    return
                try:
                    error = response.json().get("error", {})
                except ValueError:
                    error = {}
                if response.status_code == 503:
                    errors.append(f"{info.name}: {error.get('message', 503)}")
                    continue
                raise Tier7Error(f"rebalance {action} {group} refused: {response.status_code} "
                                 f"{error.get('code', '?')}: {error.get('message', '')}")
        raise Tier7Error(f"rebalance {action} {group}: no node accepted it ({'; '.join(errors[:3])})")

    def _save_cluster(self) -> None:
        tmp = self.cluster_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.cluster, indent=2))
        tmp.replace(self.cluster_file)

    def _save(self) -> None:
        """Write state.json. A node another process restarted since we read the file (a `tier7 chaos run`)
        keeps its new PID there: writing our dead one back would make every later stop miss it (a node
        left running after its group was drained, and after the run)."""
        for name in list(self.pids):
            self._pid(name)  # adopts the running PID another process saved, if ours is gone
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cluster_file": str(self.cluster_file), "pids": self.pids,
                                   "proxy_pid": self.proxy_pid}, indent=2))
        tmp.replace(self.state_file)


def _free_ports(count: int, host: str) -> list[int]:
    """Ports the kernel says are free right now (bound together, then released)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports

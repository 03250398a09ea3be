"""Presets and cluster files.

A *preset* (``presets/<name>.toml``) describes a cluster's shape and tuning. ``init`` turns it into a
*cluster file* (JSON): concrete nodes with loopback ports and data folders, the admin token and the
cluster secret that signs tenant tokens. Every node process reads the same cluster file.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .faults import FaultSwitchError
from .faults import validate as validate_faults
from .geo import TRANSPORT_KINDS, GeoError, build_geo, choose_profile, links_needed, validate_geo

PRESET_DIR = Path(__file__).parent / "presets"

# Features this build of the testbed implements. A preset may request more; /v1/config reports the
# difference instead of pretending.
BUILT_FEATURES = frozenset({"multi_raft", "federation", "crdt", "geo_replication", "intelligent_routing",
                            "pipeline_parallelism", "auto_scaling", "adaptive_transport"})

REQUIRED_PRESET_KEYS = {
    "cluster": {"regions": list, "groups": int, "host": str},
    "ring": {"vnodes": int},
    "raft": {
        "min_timeout": float,
        "max_timeout": float,
        "append_entries_period": float,
        "connection_timeout": float,
        "connection_retry": float,
        "commit_timeout": float,
        "tick_period": float,
        "leader_fallback": float,
    },
    "limits": {"max_key_bytes": int, "max_value_bytes": int, "max_body_bytes": int, "max_tenant_name_bytes": int},
    "forwarding": {"retry_deadline": float, "retry_backoff": float, "request_timeout": float},
    "features": {},
}


class ConfigError(Exception):
    """A preset or cluster file that cannot be used; the message is one line for the user."""


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_preset(name_or_path: str) -> dict[str, Any]:
    """Load and validate a preset by name (``god-tier``) or by path to a TOML file."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.exists()):
        path = PRESET_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(
                f"unknown preset {name_or_path!r}; available: {', '.join(available_presets())}"
            )
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"malformed preset file {path}: {exc}") from None
    validate_preset(data, str(path))
    return data


def validate_preset(data: dict[str, Any], where: str) -> None:
    for section, keys in REQUIRED_PRESET_KEYS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"preset {where}: missing table [{section}]")
        for key, kind in keys.items():
            value = table.get(key)
            ok = isinstance(value, kind) or (kind is float and isinstance(value, int))
            if not ok or isinstance(value, bool):
                raise ConfigError(f"preset {where}: [{section}].{key} must be a {kind.__name__}")
    cluster = data["cluster"]
    if cluster["groups"] < 1 or not cluster["regions"]:
        raise ConfigError(f"preset {where}: need at least one group and one region")
    if not all(isinstance(r, str) and r for r in cluster["regions"]):
        raise ConfigError(f"preset {where}: regions must be non-empty strings")
    if not all(isinstance(v, bool) for v in data["features"].values()):
        raise ConfigError(f"preset {where}: every [features] value must be true or false")
    crdt = data.get("crdt", {})  # optional: testbed/crdt_sync.py has defaults
    if not isinstance(crdt, dict) or any(isinstance(v, bool) or not isinstance(v, int | float) or v <= 0
                                         for v in crdt.values()):
        raise ConfigError(f"preset {where}: every [crdt] value must be a number > 0")
    if not str(data.get("name", "")):
        raise ConfigError(f"preset {where}: missing name")
    try:
        validate_geo(data, where)
    except GeoError as exc:
        raise ConfigError(str(exc)) from None
    if data.get("transport") is not None:
        from .transport_policy import PolicyConfig, PolicyError

        try:
            PolicyConfig.from_preset(data["transport"])
        except (PolicyError, TypeError) as exc:
            raise ConfigError(f"preset {where}: {exc}") from None


def free_ports(count: int, host: str) -> list[int]:
    """Ports the kernel says are free right now (bound and released at once)."""
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


def free_dual_ports(count: int, host: str) -> list[int]:
    """Ports free right now for both TCP and UDP (the transport listener binds both; the probe echo UDP)."""
    found: list[int] = []
    held: list[socket.socket] = []
    try:
        for _ in range(count * 20):  # bounded: a TCP-free port is almost always UDP-free too
            if len(found) == count:
                break
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.bind((host, 0))
            held.append(tcp)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((host, tcp.getsockname()[1]))
            except OSError:
                udp.close()
                continue
            held.append(udp)
            found.append(tcp.getsockname()[1])
    finally:
        for sock in held:
            sock.close()
    return found


def build_cluster(preset: dict[str, Any], directory: Path, admin_token: str | None = None,
                  geo: str | None = None) -> dict[str, Any]:
    """A cluster file for ``preset`` with fresh loopback ports and data folders under ``directory``.

    ``geo`` picks the simulated-regions profile (default: the preset's; ``"none"``: direct connections).
    """
    cluster = preset["cluster"]
    regions, host = cluster["regions"], cluster["host"]
    groups = [f"g{i}" for i in range(cluster["groups"])]
    try:
        profile = choose_profile(preset, geo)
    except GeoError as exc:
        raise ConfigError(str(exc)) from None
    node_count = len(groups) * len(regions)
    link_count = len(links_needed([{"region": r} for _ in groups for r in regions], regions))
    transport = bool((preset.get("transport") or {}).get("enabled"))
    transport_links = node_count * (len(regions) - 1) * len(TRANSPORT_KINDS) if transport else 0
    udp_links = node_count * (len(regions) - 1) * 2 if transport and profile else 0  # h3 and probe relays
    dual_ports = free_dual_ports(2 * node_count + udp_links if transport else 0, host)
    dual = iter(dual_ports)
    wanted = 2 * node_count + (link_count + transport_links + 1 if profile else 0)
    # two allocations: a port the first released may come back in the second, so never take it twice
    ports = iter([p for p in free_ports(wanted + len(dual_ports), host) if p not in set(dual_ports)][:wanted])
    nodes = []
    for group in groups:
        for region in regions:
            name = f"{group}-{region}"
            nodes.append(
                {
                    "name": name,
                    "group": group,
                    "region": region,
                    "host": host,
                    "http_port": next(ports),
                    "raft_port": next(ports),
                    "dir": str((directory / "nodes" / name).resolve()),
                }
            )
            if transport:
                nodes[-1].update({"xport_port": next(dual), "probe_port": next(dual)})
    data: dict[str, Any] = {
        "format": 1,
        "preset": preset,
        "admin_token": admin_token or os.environ.get("TESTBED_ADMIN_TOKEN") or "adm-" + secrets.token_hex(16),
        "secret": secrets.token_hex(32),
        "ring": {"epoch": 1, "vnodes": preset["ring"]["vnodes"], "groups": groups},
        "nodes": nodes,
        "test_faults": {},
    }
    if profile:
        data["geo"] = build_geo(preset, profile, nodes, host, ports, dual)
    if transport:
        from .tls import make_cluster_tls

        data["transport"] = make_cluster_tls(directory, host)
    return data


@dataclass(frozen=True)
class NodeSpec:
    name: str
    group: str
    region: str
    host: str
    http_port: int
    raft_port: int
    dir: Path
    xport_port: int = 0  # inter-node transport listener, h2 on TCP + h3 on UDP (0: none; issue 13)
    probe_port: int = 0  # UDP echo for the transport's RTT/loss probes (0: none)

    @property
    def raft_address(self) -> str:
        return f"{self.host}:{self.raft_port}"

    @property
    def http_base(self) -> str:
        return f"http://{self.host}:{self.http_port}"


@dataclass(frozen=True)
class Cluster:
    data: dict[str, Any]
    path: Path | None = None  # the cluster file (a node re-reads it to learn a group added by scale-out)

    @property
    def preset(self) -> dict[str, Any]:
        return self.data["preset"]

    @property
    def nodes(self) -> list[NodeSpec]:
        return [NodeSpec(**{**n, "dir": Path(n["dir"])}) for n in self.data["nodes"]]

    def node(self, name: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise ConfigError(f"no node named {name!r} in the cluster file")

    def members(self, group: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.group == group]

    @property
    def admin_token(self) -> str:
        return os.environ.get("TESTBED_ADMIN_TOKEN") or self.data["admin_token"]

    @property
    def secret(self) -> bytes:
        return bytes.fromhex(self.data["secret"])

    @property
    def test_faults(self) -> dict[str, Any]:
        return self.data.get("test_faults") or {}


def load_cluster(path: str | Path) -> Cluster:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"cluster file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"malformed cluster file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != 1 or not isinstance(data.get("nodes"), list):
        raise ConfigError(f"cluster file {path} is not a testbed cluster file (format 1)")
    validate_preset(data.get("preset") or {}, str(path))
    try:
        data["test_faults"] = validate_faults(data.get("test_faults") or {})
    except FaultSwitchError as exc:
        raise ConfigError(f"cluster file {path}: {exc}") from None
    try:
        Cluster(data).nodes  # noqa: B018 - validates every node entry
    except TypeError as exc:
        raise ConfigError(f"cluster file {path}: bad node entry: {exc}") from None
    return Cluster(data, Path(path).resolve())

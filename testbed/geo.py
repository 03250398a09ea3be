"""Simulated regions: the inter-region links that go through the fault proxy, and their baseline RTT.

The preset's ``[geo]`` table names the round trip (ms) between every pair of regions, per profile.
``init`` turns it into the cluster file's ``geo`` section: the chosen profile's table, the fault proxy's
API address and one *link* per (source region, destination node, kind) where the regions differ:

    {"name": "raft.us-east.g0-eu-west", "kind": "raft", "from_region": "us-east", "to_node": "g0-eu-west",
     "to_region": "eu-west", "listen": "127.0.0.1:41234", "upstream": "127.0.0.1:40001"}

A node in ``us-east`` reaches ``g0-eu-west``'s Raft port at that link's ``listen`` address. The harness's
testbed driver starts the proxy, creates one proxy per link and adds the baseline latency; the testbed
only routes through the addresses. Without a ``geo`` section nodes connect directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LINK_KINDS = ("raft", "http")
# The adaptive transport's links (issue 13), for nodes that have a transport listener: kind -> (node port
# field, proxy protocol). h2 and h3 share the port number (TCP and UDP); probes go to the UDP echo.
TRANSPORT_KINDS = {"h2": ("xport_port", "tcp"), "h3": ("xport_port", "udp"), "probe": ("probe_port", "udp")}
NO_PROXY = "none"


class GeoError(ValueError):
    """A bad [geo] table or profile; the message is one line for the user."""


def pair_key(a: str, b: str) -> str:
    return f"{a}/{b}"


def rtt_ms(table: dict[str, float], a: str, b: str) -> float:
    """The round trip between regions ``a`` and ``b`` (either order in the table; 0 within a region)."""
    if a == b:
        return 0.0
    value = table.get(pair_key(a, b), table.get(pair_key(b, a)))
    if value is None:
        raise GeoError(f"no round-trip time for regions {a} and {b}")
    return float(value)


def validate_geo(preset: dict[str, Any], where: str) -> None:
    geo = preset.get("geo")
    if geo is None:
        return
    if not isinstance(geo, dict) or not isinstance(geo.get("proxy"), bool):
        raise GeoError(f"preset {where}: [geo].proxy must be true or false")
    tables = geo.get("rtt_ms")
    if not isinstance(tables, dict) or not tables:
        raise GeoError(f"preset {where}: [geo.rtt_ms.<profile>] tables are missing")
    if geo.get("profile") not in tables:
        raise GeoError(f"preset {where}: [geo].profile must name one of: {', '.join(tables)}")
    regions = preset["cluster"]["regions"]
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise GeoError(f"preset {where}: [geo.rtt_ms.{name}] must be a table")
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise GeoError(f"preset {where}: [geo.rtt_ms.{name}].{key} must be a number >= 0")
        for i, a in enumerate(regions):
            for b in regions[i + 1:]:
                try:
                    rtt_ms(table, a, b)
                except GeoError as exc:
                    raise GeoError(f"preset {where}: [geo.rtt_ms.{name}]: {exc}") from None


def choose_profile(preset: dict[str, Any], requested: str | None) -> str | None:
    """The profile to use (``None``: no proxy). ``requested`` overrides the preset's default."""
    geo = preset.get("geo")
    if requested == NO_PROXY or geo is None or not geo["proxy"]:
        if requested not in (None, NO_PROXY):
            raise GeoError(f"--geo {requested}: this preset has no simulated regions (no [geo] with proxy = true)")
        return None
    profile = requested or geo["profile"]
    if profile not in geo["rtt_ms"]:
        raise GeoError(f"unknown geo profile {profile!r}; available: {', '.join([*geo['rtt_ms'], NO_PROXY])}")
    return profile


def links_needed(nodes: list[dict[str, Any]], regions: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, source region, destination node) for every inter-region link, in a stable order."""
    return [(kind, region, node) for node in nodes for kind in LINK_KINDS for region in regions
            if region != node["region"]]


def build_geo(preset: dict[str, Any], profile: str, nodes: list[dict[str, Any]], host: str,
              ports: Iterator[int], udp_ports: Iterator[int] | None = None) -> dict[str, Any]:
    """The cluster file's ``geo`` section for ``profile``; ``ports`` supplies free loopback ports, ``udp_ports``
    ports free for UDP too (the UDP relay links' listen addresses; default ``ports``)."""
    regions = preset["cluster"]["regions"]
    table = preset["geo"]["rtt_ms"][profile]
    links = []
    for kind, region, node in links_needed(nodes, regions):
        port = node["raft_port"] if kind == "raft" else node["http_port"]
        links.append({"name": f"{kind}.{region}.{node['name']}", "kind": kind, "from_region": region,
                      "to_node": node["name"], "to_region": node["region"],
                      "listen": f"{host}:{next(ports)}", "upstream": f"{node['host']}:{port}"})
    for node in nodes:
        for kind, (field, protocol) in TRANSPORT_KINDS.items():
            if not node.get(field):
                continue
            for region in regions:
                if region != node["region"]:
                    links.append({"name": f"{kind}.{region}.{node['name']}", "kind": kind, "from_region": region,
                                  "to_node": node["name"], "to_region": node["region"],
                                  "listen": f"{host}:{next(udp_ports or ports) if protocol == 'udp' else next(ports)}",
                                  "upstream": f"{node['host']}:{node[field]}",
                                  "protocol": protocol})
    rtts = {pair_key(a, b): rtt_ms(table, a, b) for i, a in enumerate(regions) for b in regions[i + 1:]}
    return {"profile": profile, "rtt_ms": rtts, "proxy_api": f"{host}:{next(ports)}", "links": links}


def routes(cluster: dict[str, Any], from_region: str, kind: str) -> dict[str, str]:
    """node name -> the ``host:port`` a node of ``from_region`` uses for that node's ``kind`` port, for the
    nodes reached through the proxy (others are reached directly)."""
    geo = cluster.get("geo") or {}
    return {link["to_node"]: link["listen"] for link in geo.get("links", [])
            if link["kind"] == kind and link["from_region"] == from_region}

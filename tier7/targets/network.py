"""Network faults between simulated regions, through a Toxiproxy-compatible fault proxy (ours, or a real
Toxiproxy in docker-compose).

The data comes from the target (for the testbed, the cluster file's ``geo`` section): the proxy's API
address, one *link* per proxy (source region -> destination node) and the baseline round trip per
region pair. Toxic names tell what is what:

- ``baseline-up`` / ``baseline-down``: the geography (half the pair's RTT each way); kept by every heal;
- ``chaos-...``: put there by a fault; every heal removes them, and so any other toxic on the proxy
  (put there by another client, e.g. chaostoolkit-toxiproxy, whatever its name, on any of the proxy's
  proxies): ``faults()`` reports what ``heal()`` removes (issue 17).

A partition in ``refuse`` mode disables the region's proxies (connections refused, open ones closed);
in ``blackhole`` mode it adds ``timeout`` toxics (data silently dropped, connections left open), and the
heal bounces those proxies so no half-dropped stream survives. Latencies in milliseconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import Tier7Error
from ..toxiproxy import ToxiproxyClient

BASELINE_PREFIX = "baseline-"
CHAOS_PREFIX = "chaos-"
LATENCY = CHAOS_PREFIX + "latency"
LOSS = CHAOS_PREFIX + "loss"
BLACKHOLE = CHAOS_PREFIX + "blackhole"
PARTITION_MODES = ("refuse", "blackhole")
STREAMS = {"up": "upstream", "down": "downstream"}
DROPPING = ("timeout", "limit_data")  # toxics that lose data: the heal bounces the link so no torn stream survives


def is_geography(on_link: bool, toxic: str) -> bool:
    """True for a link's baseline latency toxic, the one kind of toxic a heal keeps."""
    return on_link and toxic.startswith(BASELINE_PREFIX)


@dataclass(frozen=True)
class Link:
    name: str
    kind: str
    from_region: str
    to_node: str
    to_region: str
    listen: str
    upstream: str
    protocol: str = "tcp"  # "udp" for the UDP relay links (QUIC and probes of the adaptive transport)

    def joins(self, a: str, b: str) -> bool:
        return {self.from_region, self.to_region} == {a, b}

    def touches(self, region: str) -> bool:
        return region in (self.from_region, self.to_region)


def split_rtt(rtt_ms: float) -> tuple[int, int]:
    """Whole milliseconds (Toxiproxy's unit) for the upstream and downstream halves of a round trip."""
    total = max(0, round(rtt_ms))
    return total // 2, total - total // 2


class RegionNetwork:
    def __init__(self, api: str, links: list[Link], rtt_ms: dict[str, float], regions: list[str],
                 profile: str = "") -> None:
        self.api, self.links, self.rtt_ms, self.regions, self.profile = api, links, rtt_ms, regions, profile
        self._client: ToxiproxyClient | None = None

    @classmethod
    def from_geo(cls, geo: dict[str, Any], regions: list[str]) -> RegionNetwork:
        try:
            links = [Link(**{k: link[k] for k in Link.__dataclass_fields__ if k in link or k != "protocol"})
                     for link in geo["links"]]
            return cls(f"http://{geo['proxy_api']}", links, dict(geo["rtt_ms"]), list(regions), geo.get("profile", ""))
        except (KeyError, TypeError) as exc:
            raise Tier7Error(f"malformed geo section in the cluster file: {exc}") from None

    @property
    def client(self) -> ToxiproxyClient:
        if self._client is None:
            self._client = ToxiproxyClient(self.api)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- lookups --

    def baseline_ms(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        return float(self.rtt_ms.get(f"{a}/{b}", self.rtt_ms.get(f"{b}/{a}", 0.0)))

    def _region(self, region: str) -> str:
        if region not in self.regions:
            raise Tier7Error(f"unknown region {region!r}; regions: {', '.join(self.regions)}")
        return region

    def link(self, name: str) -> Link:
        for link in self.links:
            if link.name == name:
                return link
        raise Tier7Error(f"unknown link {name!r}; links are named <raft|http>.<from region>.<to node>, "
                         f"e.g. {self.links[0].name if self.links else '-'}")

    def links_between(self, a: str, b: str) -> list[Link]:
        if self._region(a) == self._region(b):
            raise Tier7Error(f"regions must differ (got {a} twice)")
        return [link for link in self.links if link.joins(a, b)]

    def links_of(self, region: str) -> list[Link]:
        return [link for link in self.links if link.touches(self._region(region))]

    # -- measuring --

    def round_trip_ms(self, region_a: str, region_b: str, samples: int = 7, timeout: float = 10.0) -> dict[str, float]:
        """Fastest HTTP round trip (ms) of ``samples`` ``GET /v1/health`` from ``region_a`` to a node of
        ``region_b`` over the proxied link the nodes use (baseline plus any fault), and the same to that node
        directly. The fastest, not the median: a busy machine only ever adds to a sample. The two kinds are
        taken in turns, so that a busy spell slows both alike (taken one kind after the other, a slow spell
        during the direct samples made the added figure 4.7 ms for a 7 ms link).

        Returns ``{"via_link_ms", "direct_ms", "added_ms"}``; raises Tier7Error when there is no such link or
        the node does not answer."""
        links = [link for link in self.links_between(region_a, region_b)
                 if link.kind == "http" and link.from_region == region_a]
        if not links:
            raise Tier7Error(f"no HTTP link from {region_a} to {region_b}")
        urls = {"via_link_ms": f"http://{links[0].listen}/v1/health",
                "direct_ms": f"http://{links[0].upstream}/v1/health"}
        times: dict[str, list[float]] = {path: [] for path in urls}
        try:
            with httpx.Client(timeout=timeout) as http:
                for url in urls.values():
                    http.get(url)  # open the connections first: a connect is not a round trip
                for _ in range(max(1, int(samples))):
                    for path, url in urls.items():
                        started = time.perf_counter()
                        http.get(url)
                        times[path].append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError as exc:
            raise Tier7Error(f"round trip {region_a} -> {region_b} via {links[0].name}: {exc}") from None
        fastest = {path: round(min(found), 2) for path, found in times.items()}
        return {**fastest, "added_ms": round(fastest["via_link_ms"] - fastest["direct_ms"], 2)}

    # -- set up --

    def install(self) -> None:
        """Create every link's proxy (enabled) and its baseline latency; only what is missing or wrong."""
        current = self.client.proxies()
        wrong = [link for link in self.links if link.name not in current
                 or (current[link.name].get("listen"), current[link.name].get("upstream")) != (link.listen, link.upstream)]
        if wrong:
            self.client.populate([{"name": link.name, "listen": link.listen, "upstream": link.upstream,
                                   "enabled": True, "protocol": link.protocol} for link in wrong])
            current = self.client.proxies()
        for link in self.links:
            have = {t["name"]: t for t in current.get(link.name, {}).get("toxics", [])}
            up, down = split_rtt(self.baseline_ms(link.from_region, link.to_region))
            for suffix, latency in (("up", up), ("down", down)):
                toxic = have.get(BASELINE_PREFIX + suffix)
                if latency > 0 and (toxic is None or toxic["attributes"].get("latency") != latency):
                    self.client.set_toxic(link.name, "latency", {"latency": latency, "jitter": 0},
                                          BASELINE_PREFIX + suffix, STREAMS[suffix])
                elif latency == 0 and toxic is not None:
                    self.client.remove_toxic(link.name, BASELINE_PREFIX + suffix)

    # -- faults --

    def add_latency(self, links: list[Link], rtt_ms: float, jitter_ms: float = 0.0) -> list[str]:
        """Add ``rtt_ms`` (+- ``jitter_ms``) to the round trip of every link: half each way."""
        if rtt_ms < 0 or jitter_ms < 0:
            raise Tier7Error("latency and jitter must be >= 0 ms")
        up, down = split_rtt(rtt_ms)
        jitter_up, jitter_down = split_rtt(jitter_ms)
        for link in links:
            self.client.set_toxic(link.name, "latency", {"latency": up, "jitter": jitter_up},
                                  f"{LATENCY}-up", "upstream")
            self.client.set_toxic(link.name, "latency", {"latency": down, "jitter": jitter_down},
                                  f"{LATENCY}-down", "downstream")
        return [link.name for link in links]

    def add_link_latency(self, link: Link, latency_ms: float, jitter_ms: float, stream: str) -> None:
        """Toxiproxy's own model: delay one direction (``upstream``/``downstream``) or ``both`` by latency_ms."""
        streams = {"upstream": ["up"], "downstream": ["down"], "both": ["up", "down"]}.get(stream)
        if streams is None:
            raise Tier7Error(f"stream must be upstream, downstream or both, not {stream!r}")
        for suffix in streams:
            self.client.set_toxic(link.name, "latency", {"latency": round(latency_ms), "jitter": round(jitter_ms)},
                                  f"{LATENCY}-{suffix}", STREAMS[suffix])

    def add_loss(self, links: list[Link], percent: float, retransmit_ms: float = 200.0) -> list[str]:
        """Lose ``percent`` % of the datagrams (UDP links) / chunks (TCP links: delayed by ``retransmit_ms``,
        a retransmission) each way on every link; the fault proxy's ``loss`` toxic."""
        if not 0 <= percent <= 100 or retransmit_ms < 0:
            raise Tier7Error("loss must be 0..100 % and retransmit_ms >= 0")
        for link in links:
            for suffix, stream in STREAMS.items():
                self.client.set_toxic(link.name, "loss", {"percent": percent, "retransmit": retransmit_ms},
                                      f"{LOSS}-{suffix}", stream)
        return [link.name for link in links]

    def remove_loss(self, links: list[Link]) -> int:
        return sum(self.client.remove_toxic(link.name, f"{LOSS}-{suffix}") for link in links for suffix in STREAMS)

    def remove_latency(self, links: list[Link]) -> int:
        return sum(self.client.remove_toxic(link.name, f"{LATENCY}-{suffix}")
                   for link in links for suffix in STREAMS)

    def partition(self, region: str, mode: str = "refuse") -> list[str]:
        """Cut ``region`` off from every other region; returns the links cut."""
        if mode not in PARTITION_MODES:
            raise Tier7Error(f"partition mode must be one of {', '.join(PARTITION_MODES)}, not {mode!r}")
        links = self.links_of(region)
        for link in links:
            if mode == "refuse":
                self.client.set_enabled(link.name, False)
            else:
                for suffix, stream in STREAMS.items():
                    self.client.set_toxic(link.name, "timeout", {"timeout": 0}, f"{BLACKHOLE}-{suffix}", stream)
        return [link.name for link in links]

    def heal(self) -> dict[str, list[str]]:
        """Back to the geography alone: remove every toxic but a link's baseline (``chaos-`` ones and any
        other client's, on every proxy of the fault proxy), enable every link, restore the baseline. Returns
        what was undone (proxy names, ``proxy/toxic``)."""
        proxies = self.client.proxies()
        undone: dict[str, list[str]] = {"toxics": [], "enabled": [], "bounced": [], "created": []}
        known = {link.name for link in self.links}
        missing = sorted(known - set(proxies))
        if missing:
            undone["created"] = missing
        for name, proxy in sorted(proxies.items()):
            names = [t["name"] for t in proxy.get("toxics", [])]
            for toxic in names:
                if not is_geography(name in known, toxic):
                    self.client.remove_toxic(name, toxic)
                    undone["toxics"].append(f"{name}/{toxic}")
            if name not in known:
                continue  # another client's proxy: its toxics are gone, the proxy itself is theirs
            dropping = [t for t in proxy.get("toxics", []) if t["name"].startswith(BLACKHOLE) or t.get("type") in DROPPING]
            if dropping and proxy.get("enabled"):
                self.client.set_enabled(name, False)  # drop streams that lost data while blackholed
                undone["bounced"].append(name)
            if not proxy.get("enabled") or name in undone["bounced"]:
                self.client.set_enabled(name, True)
                undone["enabled"].append(name)
        self.install()  # recreates lost proxies and baseline toxics (no-op when all is in place)
        return undone

    def faults(self) -> dict[str, list[str]]:
        """What is in force beyond the geography: ``toxics`` (proxy/toxic) and ``disabled`` proxies."""
        proxies = self.client.proxies()
        known = {link.name for link in self.links}
        return {
            "toxics": sorted(f"{name}/{t['name']}" for name, p in proxies.items()
                             for t in p.get("toxics", []) if not is_geography(name in known, t["name"])),
            "disabled": sorted(name for name, p in proxies.items() if name in known and not p.get("enabled")),
            "missing": sorted(known - set(proxies)),
        }

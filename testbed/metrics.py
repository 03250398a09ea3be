"""Prometheus metrics of one node (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


class NodeMetrics:
    def __init__(self, node: str, group: str, region: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"node": node, "group": group, "region": region}
        self.commit_seconds = Histogram(
            "testbed_commit_latency_seconds", "Time from submitting a command to its commit, seconds",
            list(labels), buckets=COMMIT_BUCKETS, registry=self.registry).labels(**labels)
        self.leader_changes = Counter(
            "testbed_leader_changes", "Leader changes seen by this node", list(labels),
            registry=self.registry).labels(**labels)
        self._requests = Counter(
            "testbed_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry)
        self.term = Gauge("testbed_raft_term", "Current Raft term", list(labels), registry=self.registry).labels(**labels)
        self.is_leader = Gauge("testbed_raft_is_leader", "1 while this node leads its group", list(labels),
                               registry=self.registry).labels(**labels)
        self.forwarded = Counter("testbed_forwarded_requests", "Requests forwarded to another group",
                                 ["to_group", "outcome"], registry=self.registry)
        # CRDT anti-entropy (testbed/crdt_sync.py): seconds from a write's apply at its origin node to its
        # apply here, per (origin region, this region); and rounds sent per destination region and outcome.
        self.crdt_lag = Histogram(
            "testbed_crdt_replication_lag_seconds", "Time from a CRDT write's apply at its origin to its apply "
            "on this node, seconds", ["source_region", "dest_region"], buckets=LAG_BUCKETS, registry=self.registry)
        self.crdt_rounds = Counter(
            "testbed_crdt_anti_entropy_rounds", "Anti-entropy requests this node sent, by destination region and "
            "outcome (ok/failed)", ["dest_region", "outcome"], registry=self.registry)

        # Rebalancing (issue 11): the ring epoch this node routes by, and what this node moved as the leader
        # of a source group (summed over nodes, the cluster's total).
        self.ring_epoch = Gauge("tier7_ring_epoch", "Ring epoch this node routes by", list(labels),
                                registry=self.registry).labels(**labels)
        self.keys_moved = Counter("tier7_rebalance_keys_moved", "Keys this node handed off to a new owner group",
                                  list(labels), registry=self.registry).labels(**labels)
        self.bytes_moved = Counter("tier7_rebalance_bytes_moved", "Bytes (keys + values) this node handed off",
                                   list(labels), registry=self.registry).labels(**labels)

    def request(self, route: str, status: int) -> None:
        self._requests.labels(route=route, status=str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""The load's options as Locust custom arguments, so the same locustfile works from the command line, in
the web UI (each shows in the start form) and as a library (``tier7 load`` builds the same arguments)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import Tier7Error

DEFAULTS: dict[str, Any] = {
    "target_file": "", "target_endpoints": "", "tenants": 1000, "keyspace": 1000, "read_ratio": 0.5,
    "cas_ratio": 0.1, "keys_per_tenant": 2, "tenant_passes": 0, "seed": 0, "run_dir": "", "op_timeout": 5.0,
    "reconnect_backoff": 0.05, "no_final_read": False,
    # Generators (issue 9): write-once keys (set-full), hot keys with reads racing writes, deletes, local
    # reads and wide key/value shapes are on by default, so every profile (and verify's failover load) has them.
    "write_once_ratio": 0.1, "reread_ratio": 0.1, "hot_keys": 4, "hot_ratio": 0.2, "delete_ratio": 0.05,
    "local_read_ratio": 0.1, "shape_ratio": 0.3,
    "crdt_keys": 4,  # MultiRegionCrdtWriter (profile crdt): shared keys per CRDT type
}


def add_arguments(parser: Any) -> None:
    """Register the tier7 options on Locust's argument parser (``init_command_line_parser`` listener)."""
    fixed = {"include_in_web_ui": False}  # the target is fixed when Locust starts (run folder, sampler, tabs)
    group = parser  # Locust's own add_argument: it marks which options the web UI's start form shows
    group.add_argument("--target-file", default="", **fixed, help="cluster file: a testbed cluster.json or "
                       "{\"nodes\": [{\"name\",\"group\",\"region\",\"url\"}]} (default: the testbed of "
                       "`tier7 testbed up`, $TIER7_TESTBED_DIR or results/testbed)")
    group.add_argument("--target-endpoints", default="", **fixed, help="comma-separated node URLs (http://host:port); "
                       "overrides --target-file; admin token from $TIER7_ADMIN_TOKEN")
    group.add_argument("--tenants", type=int, default=DEFAULTS["tenants"], help="tenants the run creates (default 1000)")
    group.add_argument("--keyspace", type=int, default=DEFAULTS["keyspace"], help="keys shared by the KV writers")
    group.add_argument("--read-ratio", type=float, default=DEFAULTS["read_ratio"], help="share of KV reads (0-1)")
    group.add_argument("--cas-ratio", type=float, default=DEFAULTS["cas_ratio"], help="share of KV compare-and-sets (0-1)")
    group.add_argument("--keys-per-tenant", type=int, default=DEFAULTS["keys_per_tenant"],
                       help="keys each tenant user writes and reads back per tenant")
    group.add_argument("--tenant-passes", type=int, default=DEFAULTS["tenant_passes"],
                       help="tenant users stop after this many passes over all tenants (0: run until stopped)")
    group.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (0: pick one and record it)")
    group.add_argument("--run-dir", default="", **fixed, help="run folder (default results/<UTC time>-load)")
    group.add_argument("--op-timeout", type=float, default=DEFAULTS["op_timeout"],
                       help="seconds before an operation's outcome is recorded as unknown (info)")
    group.add_argument("--no-final-read", action="store_true", default=False, **fixed,
                       help="skip reading every written key back when the users stop (the no-lost-write "
                            "check then cannot cover the keys)")
    group.add_argument("--write-once-ratio", type=float, default=DEFAULTS["write_once_ratio"],
                       help="share of KV steps that write a fresh key exactly once (no-lost-writes sees a lost "
                            "acknowledgement there; default 0.1)")
    group.add_argument("--reread-ratio", type=float, default=DEFAULTS["reread_ratio"],
                       help="share of KV steps that re-read an acknowledged write-once key (each twice; default 0.1)")
    group.add_argument("--hot-keys", type=int, default=DEFAULTS["hot_keys"],
                       help="keys of the keyspace that get --hot-ratio of the shared-key operations (default 4)")
    group.add_argument("--hot-ratio", type=float, default=DEFAULTS["hot_ratio"],
                       help="share of shared-key operations on the hot keys: reads racing writes (default 0.2)")
    group.add_argument("--delete-ratio", type=float, default=DEFAULTS["delete_ratio"],
                       help="share of shared-key operations that delete (default 0.05)")
    group.add_argument("--local-read-ratio", type=float, default=DEFAULTS["local_read_ratio"],
                       help="share of reads with consistency=local (not judged as linearizable; default 0.1)")
    group.add_argument("--shape-ratio", type=float, default=DEFAULTS["shape_ratio"],
                       help="share of keys and values in a non-plain shape (unicode, '/', '%%', max sizes...; "
                            "tier7/load/shapes.toml; default 0.3)")
    group.add_argument("--crdt-keys", type=int, default=DEFAULTS["crdt_keys"],
                       help="shared keys per CRDT type of the CRDT writers (few: writes from every region collide; "
                            "default 4)")
    group.add_argument("--reconnect-backoff", type=float, default=DEFAULTS["reconnect_backoff"],
                       help="seconds a user waits after its entry node refused a connection, doubling up to "
                            "0.5 s while the node stays down (0: retry at once)")


@dataclass(frozen=True)
class LoadOptions:
    target_file: str
    target_endpoints: str
    tenants: int
    keyspace: int
    read_ratio: float
    cas_ratio: float
    keys_per_tenant: int
    tenant_passes: int
    seed: int
    run_dir: str
    op_timeout: float
    reconnect_backoff: float
    no_final_read: bool
    write_once_ratio: float
    reread_ratio: float
    hot_keys: int
    hot_ratio: float
    delete_ratio: float
    local_read_ratio: float
    shape_ratio: float
    crdt_keys: int

    @classmethod
    def from_parsed(cls, parsed: Any) -> LoadOptions:
        """Read and validate the options from Locust's ``parsed_options`` (a Namespace; web UI values are strings)."""
        values: dict[str, Any] = {}
        for name, default in DEFAULTS.items():
            raw = getattr(parsed, name, default) if parsed is not None else default
            if raw is None or raw == "":
                raw = default
            try:
                values[name] = type(default)(raw)
            except (TypeError, ValueError):
                raise Tier7Error(f"--{name.replace('_', '-')} must be a {type(default).__name__}, not {raw!r}") from None
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        checks = [
            (1 <= self.tenants <= 100_000, "--tenants must be between 1 and 100000"),
            (1 <= self.keyspace <= 10_000_000, "--keyspace must be between 1 and 10000000"),
            (1 <= self.keys_per_tenant <= 100, "--keys-per-tenant must be between 1 and 100"),
            (0 <= self.read_ratio <= 1 and 0 <= self.cas_ratio <= 1, "--read-ratio and --cas-ratio must be within 0-1"),
            (0 <= self.delete_ratio <= 1, "--delete-ratio must be within 0-1"),
            (self.read_ratio + self.cas_ratio + self.delete_ratio <= 1,
             "--read-ratio plus --cas-ratio plus --delete-ratio must not exceed 1"),
            (all(0 <= r <= 1 for r in (self.write_once_ratio, self.reread_ratio, self.hot_ratio,
                                       self.local_read_ratio, self.shape_ratio)),
             "--write-once-ratio, --reread-ratio, --hot-ratio, --local-read-ratio and --shape-ratio must be within 0-1"),
            (self.write_once_ratio + self.reread_ratio <= 1, "--write-once-ratio plus --reread-ratio must not exceed 1"),
            (0 <= self.hot_keys <= 10_000, "--hot-keys must be between 0 and 10000 (at most --keyspace are used)"),
            (self.hot_keys > 0 or self.hot_ratio == 0, "--hot-ratio needs --hot-keys of at least 1"),
            (0.05 <= self.op_timeout <= 120, "--op-timeout must be between 0.05 and 120 seconds"),
            (0 <= self.reconnect_backoff <= 5, "--reconnect-backoff must be between 0 and 5 seconds"),
            (0 <= self.tenant_passes <= 1000, "--tenant-passes must be between 0 and 1000"),
            (self.seed >= 0, "--seed must not be negative"),
            (1 <= self.crdt_keys <= 10_000, "--crdt-keys must be between 1 and 10000"),
        ]
        for ok, message in checks:
            if not ok:
                raise Tier7Error(message)

    def public(self) -> dict[str, Any]:
        """The options as recorded in run.json (nothing secret in them)."""
        return {name: getattr(self, name) for name in DEFAULTS}


def admin_token_from_env() -> str | None:
    return os.environ.get("TIER7_ADMIN_TOKEN") or None

"""``tier7 load``: its arguments (no Locust import here, so other subcommands stay free of gevent)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import DEFAULTS

PROFILES = ("kv", "tenants", "mixed", "crdt")
GENERATOR_HELP = {
    "write_once_ratio": "share of KV steps writing a fresh key exactly once",
    "reread_ratio": "share of KV steps re-reading an acknowledged write-once key",
    "hot_keys": "keys that get --hot-ratio of the shared-key operations",
    "hot_ratio": "share of shared-key operations on the hot keys",
    "delete_ratio": "share of shared-key operations that delete",
    "local_read_ratio": "share of reads with consistency=local",
    "shape_ratio": "share of keys and values in a non-plain shape (tier7/load/shapes.toml)",
    "crdt_keys": "shared keys per CRDT type of the crdt profile's writers",
}


def add_load_parser(sub: argparse._SubParsersAction) -> None:
    load = sub.add_parser("load", help="run recorded Locust load against the target (Locust as a library)")
    load.add_argument("--profile", choices=PROFILES, default="mixed",
                      help="kv: KV writers; tenants: tenant users; mixed: both, half each (default); crdt: "
                           "multi-region CRDT writers (counter, OR-set, LWW register on shared keys)")
    load.add_argument("--users", type=int, default=20, help="simulated users (default 20)")
    load.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second (default 20)")
    load.add_argument("--duration", type=float, default=30.0,
                      help="seconds of load after setup (default 30); the run ends earlier if every user finished")
    load.add_argument("--workers", type=int, default=0,
                      help="local worker processes under a master (0: one process; default 0)")
    load.add_argument("--target-file", default="", help="cluster file (default: the testbed of `tier7 testbed up`)")
    load.add_argument("--target-endpoints", default="", help="comma-separated node URLs; admin token from $TIER7_ADMIN_TOKEN")
    load.add_argument("--tenants", type=int, default=DEFAULTS["tenants"], help="tenants the run creates (default %(default)s)")
    load.add_argument("--keyspace", type=int, default=DEFAULTS["keyspace"], help="keys shared by the KV writers (default %(default)s)")
    load.add_argument("--read-ratio", type=float, default=DEFAULTS["read_ratio"], help="share of KV reads (default %(default)s)")
    load.add_argument("--cas-ratio", type=float, default=DEFAULTS["cas_ratio"], help="share of KV compare-and-sets (default %(default)s)")
    load.add_argument("--keys-per-tenant", type=int, default=DEFAULTS["keys_per_tenant"], help="keys per tenant session (default %(default)s)")
    load.add_argument("--tenant-passes", type=int, default=DEFAULTS["tenant_passes"],
                      help="tenant users stop after this many passes over all tenants (0: until --duration)")
    for name, text in GENERATOR_HELP.items():  # write-once keys, hot keys, deletes, local reads, shapes
        flag = "--" + name.replace("_", "-")
        load.add_argument(flag, type=type(DEFAULTS[name]), default=DEFAULTS[name], help=f"{text} (default %(default)s)")
    load.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (0: pick one; recorded in run.json)")
    load.add_argument("--op-timeout", type=float, default=DEFAULTS["op_timeout"], help="seconds before an outcome is unknown (info)")
    load.add_argument("--reconnect-backoff", type=float, default=DEFAULTS["reconnect_backoff"],
                      help="seconds a user waits after its node refused a connection, doubling to 0.5 s (default %(default)s)")
    load.add_argument("--no-final-read", action="store_true",
                      help="skip reading every written key back at the end (no-lost-writes then stays UNKNOWN)")
    load.add_argument("--run-dir", type=Path, default=None, help="run folder (default results/<UTC time>-load)")
    load.add_argument("--quiet", action="store_true", help="no progress lines")


def validate(args: argparse.Namespace) -> None:
    """Bad input is a one-line error before anything starts (Tier7Error)."""
    from ..errors import Tier7Error
    from .options import LoadOptions

    checks = [(1 <= args.users <= 100_000, "--users must be between 1 and 100000"),
              (0 < args.spawn_rate <= 100_000, "--spawn-rate must be positive"),
              (0 < args.duration <= 7 * 86400, "--duration must be between 0 and 604800 seconds"),
              (0 <= args.workers <= 64, "--workers must be between 0 and 64")]
    for ok, message in checks:
        if not ok:
            raise Tier7Error(message)
    LoadOptions.from_parsed(args)


def load_main(args: argparse.Namespace) -> int:
    validate(args)
    from .runner import run_load  # imports locust (gevent patching) first

    return run_load(args)

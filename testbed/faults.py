"""TEST-ONLY fault switches: the names the testbed knows and the values each accepts.

A switch exists so the harness (``tier7 selftest``) can prove that each of its checks FAILs on the bug it
claims to catch. Every switch is off by default and is only ever set by ``python -m testbed init
--test-faults '{...}'``; a name not listed here is refused there with a one-line error, so a typo can never
leave a "mutant" that is in fact healthy. docs/testbed.md describes each switch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FaultSwitchError(ValueError):
    """An unknown switch name or a value of the wrong kind; the message is one line."""


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultSwitchError(f"test fault {name!r} must be a fraction between 0 and 1, got {value!r}")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FaultSwitchError(f"test fault {name!r} must be true or false, got {value!r}")
    return value


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise FaultSwitchError(f"test fault {name!r} must be a number of seconds in (0, 3600], got {value!r}")
    return float(value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FaultSwitchError(f"test fault {name!r} must be a non-empty string, got {value!r}")
    return value


# name -> (validator, one-line description). The description is what docs/testbed.md says at more length.
SWITCHES: dict[str, tuple[Callable[[str, Any], Any], str]] = {
    "tenant_leak": (_flag, "a tenant token may address another tenant's keys"),
    "misroute_fraction": (_fraction, "a share of keys is stored in the next group on the ring, not the owner"),
    "lose_write_fraction": (_fraction, "a share of puts is acknowledged but not stored"),
    "stale_read_fraction": (_fraction, "a share of linearizable GETs on followers is answered from the "
                                       "follower's own replica instead of through the Raft log"),
    "critical_log_after_s": (_seconds, "the cluster's first node logs one CRITICAL line this long after start"),
    "slow_election_s": (_seconds, "once a group has had a leader (or on a restart), its election timeouts "
                                  "become this long: a new leader after a kill takes at least this long"),
    "crash_on_value_prefix": (_text, "PUT answers 500 (an unhandled exception) for a value starting with this "
                                     "text: a handler bug on valid input"),
    "kill_misses_server": (_flag, "the node process daemonizes its server into another session, so a "
                                  "SIGKILL of the process the supervisor started leaves the server running"),
    "crdt_merge_drops_concurrent": (_flag, "CRDT merges lose one of two concurrent updates: a remote counter "
                                           "delta is merged by keeping the larger total, a remote set remove "
                                           "deletes every tag the receiver holds (not the ones observed)"),
    "crdt_clock_ignores_causality": (_flag, "the LWW register's hybrid clock ignores received timestamps and "
                                            "runs 500 ms x region index behind: a later write can lose"),
    "rebalance_skips_last_batch": (_flag, "a rebalance source hands off its last batch of leaving keys without "
                                          "copying it to the new owner: the migration finishes, those keys are lost"),
    "rebalance_routes_early": (_flag, "during a rebalance the new owner serves a moving key before its data "
                                      "arrived: stale or missing reads, writes the later copy overwrites"),
    "crdt_anti_entropy_stops_after_partition": (_flag, "a node stops CRDT anti-entropy to a peer for good once "
                                                       "sends to it failed for give_up_s (3 s) in a row"),
    "transport_never_switches": (_flag, "the adaptive transport measures its links but never leaves HTTP/2, "
                                        "whatever the latency or loss"),
    "transport_switch_drops_inflight": (_flag, "a transport switch closes the old protocol's connections at "
                                               "once: requests in flight on them fail"),
    "forward_answer_lost_fraction": (_fraction, "the answers of a share of forwarded writes are dropped once "
                                                "after the owning group applied them (the forwarder sees a "
                                                "connection lost after sending)"),
    "sql_drops_group_rows": (_flag, "the SQL coordinator silently leaves the last group's partition out of "
                                    "every query (answers 200 over part of the data)"),
    "blob_truncates_large": (_flag, "the blob API stores objects over 8 MiB without their last 64 KiB; the PUT "
                                    "still answers 201 with the full size and SHA-256 (blobs.toml [faults])"),
    "sql_wrong_null_aggregate": (_flag, "the SQL coordinator loads NULL integers of events.n as 0, so COUNT/"
                                        "AVG/MIN over a column with NULLs are wrong"),
}


def validate(faults: Any) -> dict[str, Any]:
    """The switches of ``faults`` (a JSON object), checked by name and value; raises FaultSwitchError."""
    if not isinstance(faults, dict):
        raise FaultSwitchError("--test-faults must be a JSON object")
    unknown = sorted(set(faults) - set(SWITCHES))
    if unknown:
        raise FaultSwitchError(f"unknown test fault {unknown[0]!r}; known: {', '.join(SWITCHES)}")
    return {name: SWITCHES[name][0](name, value) for name, value in faults.items()}

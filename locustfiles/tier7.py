"""Recorded load for plan 45-04: every call goes through tier7's recording client into the run's history
and into Locust's own statistics.

    locust -f locustfiles/tier7.py                                  # web UI (http://127.0.0.1:8089): each
                                                                    # START is a run folder, STOP finishes it
    locust -f locustfiles/tier7.py --headless -u 120 -r 40 -t 60s   # command line
    tier7 load --profile mixed --users 120 --spawn-rate 40 --duration 60 [--workers 2]   # as a library

Users: ``KvWriter`` (put / get / cas / delete over a shared keyspace with hot keys, write-once keys read
until stable, every key and value shape the contract allows, every written value unique per key) and
``TenantUser`` (works as one of the run's tenants at a time: writes and reads back its own keys, then
tries another tenant's keys with its own token and records whether the target refused). Options:
``--target-file``/``--target-endpoints``, ``--tenants``, ``--keyspace``, ``--read-ratio``, ``--cas-ratio``,
``--delete-ratio``, ``--write-once-ratio``, ``--reread-ratio``, ``--hot-keys``, ``--hot-ratio``,
``--local-read-ratio``, ``--shape-ratio``, ``--seed``, ``--run-dir`` (see ``locust -f locustfiles/tier7.py
--help``). Default target: the testbed that ``tier7 testbed up`` started.
"""

import locust  # noqa: I001 - must come first: gevent monkey-patching before anything imports ssl
from locust import User, constant, events, task
from locust.exception import StopUser

import sys
from pathlib import Path

# Locust imports this file as module "tier7" (its file name) with locustfiles/ first on sys.path, which
# would shadow the tier7 package: import the package from the checkout instead, then restore sys.path.
_HERE = Path(__file__).resolve().parent
if not hasattr(sys.modules.get("tier7"), "__path__"):
    sys.modules.pop("tier7", None)
_saved_path = list(sys.path)
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
try:
    from tier7.errors import Tier7Error
    from tier7.load import options as load_options
    from tier7.load.crdt import CrdtWriter, crdt_available
    from tier7.load.session import SESSION
finally:
    sys.path[:] = _saved_path

assert locust  # imported for its side effect


@events.init_command_line_parser.add_listener
def _arguments(parser, **_kwargs):
    load_options.add_arguments(parser)


@events.init.add_listener
def _init(environment, **_kwargs):
    try:
        SESSION.on_init(environment)
    except Tier7Error as exc:
        if SESSION.managed:
            raise
        print(f"tier7: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


@events.test_start.add_listener
def _test_start(environment, **_kwargs):
    SESSION.on_test_start(environment)


@events.test_stop.add_listener
def _test_stop(environment, **_kwargs):
    SESSION.on_test_stop(environment)


@events.quitting.add_listener
def _quitting(environment, **_kwargs):
    SESSION.on_quitting(environment)


class KvWriter(User):
    """A federated KV writer over ``--keyspace`` keys shared by every writer (one tenant), entering the
    cluster at its own node (regions round-robin). Every written value is unique per key
    (``<process>:<n>`` plus a seeded shape), so every read can be traced to the write it saw.

    Each step, drawn from the user's seeded RNG: re-read an acknowledged write-once key
    (``--reread-ratio``, "read until stable"), write a fresh key exactly once (``--write-once-ratio``:
    a lost acknowledgement there cannot hide behind a later write; read back at once through another
    member of the key's owner group, by the harness's ring, then re-read by others), or work on a shared
    key — one of the ``--hot-keys`` with ``--hot-ratio`` (reads racing writes; a put there is read back
    at once the same way), else any — by get (``--local-read-ratio`` of them at ``consistency=local``),
    cas, delete or put. Keys and values take the contract's shapes
    (``--shape-ratio``; tier7/load/shapes.py); half the users send JSON as raw UTF-8, half as \\u escapes."""

    wait_time = constant(0)
    weight = 1

    def on_start(self):
        self.client, self.rng = SESSION.user_client(self.environment, "kv", SESSION.tokens.get(SESSION.kv_tenant))
        if self.client is not None:
            self.client.tenant = SESSION.kv_tenant
            self.client.ascii_json = self.rng.random() < 0.5
        self.options = SESSION.options
        self.seen = {}  # key -> last value this writer read or wrote there
        self.writes = 0
        self.peers = {}  # node URL -> this user's client there (reads of its own writes elsewhere)

    def on_stop(self):
        for client in [self.client, *self.peers.values()]:
            if client is not None:
                client.close()

    def _read_elsewhere(self, key):
        """Read a just-acknowledged write back at once through another member of the key's owner group."""
        SESSION.peer_client(self.client, SESSION.kv_tenant, key, self.rng, self.peers).get(key)

    def _value(self, allow_empty=False):
        self.writes += 1
        return SESSION.shapes.value(self.rng, f"{self.client.process}:{self.writes}", allow_empty)[0]

    def _shared_key(self):
        """(key, is it a hot key)."""
        options = self.options
        hot = min(options.hot_keys, options.keyspace)
        if hot and self.rng.random() < options.hot_ratio:
            return SESSION.shared_key(self.rng.randrange(hot)), True
        return SESSION.shared_key(self.rng.randrange(options.keyspace)), False

    @task
    def step(self):
        if self.client is None:  # the run's setup failed
            raise StopUser()
        options = self.options
        draw = self.rng.random()
        if draw < options.reread_ratio:
            key = SESSION.next_reread()
            if key is not None:
                self.client.get(key)
                return
        elif draw < options.reread_ratio + options.write_once_ratio:
            self.writes += 1
            key, _shape = SESSION.shapes.write_once_key(self.rng, self.client.base_process, self.writes)
            if self.client.put(key, self._value(allow_empty=True), once=True).ok:
                # read until stable: at once through another member of the owner group (a follower
                # answering from a replica that has not applied the write yet shows there), later by others
                self._read_elsewhere(key)
                SESSION.written_once(key)
            return
        key, hot = self._shared_key()
        draw = self.rng.random()
        if draw < options.read_ratio:
            local = self.rng.random() < options.local_read_ratio
            result = self.client.get(key, consistency="local" if local else "linearizable")
            if result.ok and not local:
                self.seen[key] = result.value
        elif draw < options.read_ratio + options.cas_ratio:
            value = self._value()
            result = self.client.cas(key, self.seen.get(key), value)
            if result.ok:
                self.seen[key] = value
            elif result.body and result.error == "cas_mismatch":
                self.seen[key] = result.body.get("current")
        elif draw < options.read_ratio + options.cas_ratio + options.delete_ratio:
            if self.client.delete(key).ok:
                self.seen[key] = None
        else:
            value = self._value()
            if self.client.put(key, value).ok:
                self.seen[key] = value
                if hot:  # read your own write on a hot key at once, elsewhere: races the next writers too
                    self._read_elsewhere(key)


class TenantUser(User):
    """Works as one tenant at a time (the run creates ``--tenants`` of them): writes ``--keys-per-tenant``
    keys of its own and reads them back (up to 3 attempts each), then tries another tenant's key with its own token through
    ``/v1/tenants/<other>/kv/<key>`` (recorded with ``cross_tenant``: the target must refuse)."""

    wait_time = constant(0)
    weight = 1

    def on_start(self):
        self.client, self.rng = SESSION.user_client(self.environment, "tenant", None)
        self.options = SESSION.options
        self.writes = 0

    def on_stop(self):
        if self.client is not None:
            self.client.close()

    @task
    def tenant_session(self):
        if self.client is None or SESSION.error is not None:
            raise StopUser()
        index = SESSION.next_tenant()
        if index is None:  # --tenant-passes done
            raise StopUser()
        name, token = SESSION.tenant_token(index)
        self.client.token, self.client.tenant = token, name
        keys = [f"key{i}" for i in range(self.options.keys_per_tenant)]
        for key in keys:  # an attempt that did not succeed (timeout, no leader) is retried, at most 3 in all
            for _ in range(3):
                self.writes += 1
                if self.client.put(key, f"{name}:{self.client.process}:{self.writes}").ok:
                    break
        for key in keys:
            for _ in range(3):
                if self.client.get(key).ok:
                    break
        if len(SESSION.tenants) > 1:
            other = SESSION.tenants[(index + 1 + self.rng.randrange(len(SESSION.tenants) - 1)) % len(SESSION.tenants)]
            key = self.rng.choice(keys)
            self.client.get(key, tenant=other, cross_tenant=True)
            self.writes += 1
            self.client.put(key, f"{name}:{self.client.process}:{self.writes}:intrusion", tenant=other,
                            cross_tenant=True)


class MultiRegionCrdtWriter(User):
    """A CRDT writer (``tier7 load --profile crdt``): counter increments, OR-set adds/removes and LWW
    register writes on ``--crdt-keys`` keys per type shared by every writer, through its entry node only (a
    node of its region; users are spread over the nodes, so over the regions), each write with a unique op
    id (tier7/load/crdt.py). Stops at once on a target whose /v1/config does not offer ``crdt``."""

    wait_time = constant(0)
    weight = 1

    def on_start(self):
        self.client, rng = SESSION.user_client(self.environment, "crdt", SESSION.tokens.get(SESSION.kv_tenant))
        self.writer = None
        if self.client is not None and crdt_available(SESSION.run_dir):
            self.client.tenant = SESSION.kv_tenant
            self.writer = CrdtWriter(self.client, rng, SESSION.options.crdt_keys)

    def on_stop(self):
        if self.client is not None:
            self.client.close()

    @task
    def step(self):
        if self.writer is None:  # setup failed, or the target has no CRDTs
            raise StopUser()
        self.writer.step()

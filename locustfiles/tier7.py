"""Recorded load for plan 45-04: every call goes through tier7's recording client into the run's history
and into Locust's own statistics.

    locust -f locustfiles/tier7.py                                  # web UI (http://127.0.0.1:8089)
    locust -f locustfiles/tier7.py --headless -u 120 -r 40 -t 60s   # command line
    tier7 load --profile mixed --users 120 --spawn-rate 40 --duration 60 [--workers 2]   # as a library

Users: ``KvWriter`` (put / get / compare-and-set over a shared keyspace, every written value unique) and
``TenantUser`` (works as one of the run's tenants at a time: writes and reads back its own keys, then
tries another tenant's keys with its own token and records whether the target refused). Options:
``--target-file``/``--target-endpoints``, ``--tenants``, ``--keyspace``, ``--read-ratio``, ``--cas-ratio``,
``--seed``, ``--run-dir`` (see ``locust -f locustfiles/tier7.py --help``). Default target: the testbed
that ``tier7 testbed up`` started.
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


@events.quitting.add_listener
def _quitting(environment, **_kwargs):
    SESSION.on_quitting(environment)


class KvWriter(User):
    """A federated KV writer: put / get / cas on ``--keyspace`` keys shared by every writer (one tenant),
    entering the cluster at its own node (regions round-robin). Each written value is unique
    (``<process>:<n>``), so every read can be traced to the write it saw."""

    wait_time = constant(0)
    weight = 1

    def on_start(self):
        self.client, self.rng = SESSION.user_client(self.environment, "kv", SESSION.tokens.get(SESSION.kv_tenant))
        if self.client is not None:
            self.client.tenant = SESSION.kv_tenant
        self.options = SESSION.options
        self.seen = {}  # key -> last value this writer read or wrote there
        self.writes = 0

    def on_stop(self):
        if self.client is not None:
            self.client.close()

    def _value(self):
        self.writes += 1
        return f"{self.client.process}:{self.writes}"

    @task
    def step(self):
        if self.client is None:  # the run's setup failed
            raise StopUser()
        key = f"k{self.rng.randrange(self.options.keyspace)}"
        draw = self.rng.random()
        if draw < self.options.read_ratio:
            result = self.client.get(key)
            if result.ok:
                self.seen[key] = result.value
        elif draw < self.options.read_ratio + self.options.cas_ratio:
            value = self._value()
            result = self.client.cas(key, self.seen.get(key), value)
            if result.ok:
                self.seen[key] = value
            elif result.body and result.error == "cas_mismatch":
                self.seen[key] = result.body.get("current")
        else:
            value = self._value()
            if self.client.put(key, value).ok:
                self.seen[key] = value


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

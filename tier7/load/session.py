"""What one Locust process knows about the run, and the lifecycle behind the locustfile's listeners.

Roles: ``local`` (a single process: runs users and keeps the run folder), ``master`` (keeps the run folder,
runs no users), ``worker`` (runs users). Under the web UI each START opens a run folder of its own and
STOP finishes it (final read, logs, metrics, run.json's end), so ``tier7 analyze`` can judge it at once;
elsewhere (headless, ``tier7 load``) the process's one run is opened at ``init`` and finished at quit.
While a run is open the master/local process marks it in ``live-run.json`` next to the cluster file
(tier7/liverun.py), so ``tier7 chaos run`` on the same target records its faults into it. Every user-running process writes its own history file
``history/load-w<index>-<pid>.jsonl`` and creates the run's tenants itself (creation is idempotent), so
workers need nothing but the options the master forwards (run folder, seed, tenants...).
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust.runners import MasterRunner, WorkerRunner

from analysis.plan import PLAN_COPY, load_plan, write_plan_copy

from .. import liverun, runfolder
from ..client import RecordingClient, Reporter, Result
from ..errors import Tier7Error
from ..final_read import read_back, written_keys
from ..history import HistoryWriter, history_path
from ..ring import HarnessRing
from . import runinfo
from .messages import ReadableFailure, describe
from .options import LoadOptions
from .rereads import Rereads
from .sampling import SamplerProcess
from .shapes import Shapes
from .stats import TimeSeries, write_csv_tables
from .target import LoadTarget, fetch_contract, normalized_hosts, resolve
from .tenants import create_tenants, tenant_names, tenant_prefix

log = logging.getLogger("tier7.load")
logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per setup/metrics request
ERROR_MESSAGE = "tier7_error"
FINAL_READ_LIMIT_S = 300.0  # seconds the final read may take before the rest of the keys are left unread


class RecordedFailure(ReadableFailure):
    """A call that did not succeed, as Locust's statistics show it: "connection refused (g1-us-east)"
    (the history has the details)."""


class IsolationLeak(ReadableFailure):
    """A cross-tenant call the target accepted."""


class LoadSession:
    def __init__(self) -> None:
        self.environment: Any = None
        self.role = "local"
        self.managed = False  # True when `tier7 load` drives Locust as a library
        self.options: LoadOptions | None = None
        self.target: LoadTarget | None = None
        self.run_dir: Path | None = None
        self.history: HistoryWriter | None = None
        self.tokens: dict[str, str] = {}
        self.tenants: list[str] = []
        self.kv_tenant = ""
        self.proc = "w0"
        self.error: str | None = None
        self.stopping = False  # set on Ctrl-C / SIGTERM: setup gives up quietly
        self.ready = False
        self.run_info: dict[str, Any] = {}
        self.extra_info: dict[str, Any] = {}
        self.sampler: SamplerProcess | None = None
        self.timeseries: TimeSeries | None = None
        self._users = itertools.count()
        self._cursor: Any = itertools.count()
        self._sessions_left: int | None = None
        self._closed = False
        self.shapes: Shapes | None = None
        self.ring: HarnessRing | None = None  # the harness's own placement (target/ring.json), for peer reads
        self._keys: dict[int, str] = {}
        self.rereads = Rereads()  # acknowledged write-once keys to read again ("read until stable")
        # the web UI: one run per START (see the module's docstring)
        self.webui_runs = False
        self.phase = "idle"  # idle | starting | setting up | running | finishing | finished (web UI banner)
        self.setup_progress: tuple[int, int] | None = None  # (tenants created, to create)
        self.users_by_region: collections.Counter[str] = collections.Counter()  # live users per entry region
        self.finisher: gevent.Greenlet | None = None
        self.finished = False
        self.runs = 0
        self.requested_run_dir = ""
        self.picked_seed: int | None = None  # the seed the last web-UI START picked (its --seed was 0)
        self.cli_host: str | None = None
        self.cli_endpoints = ""
        self.default_host = ""
        self.marker_folder: Path | None = None

    # -- init: every process --

    def on_init(self, environment: Any) -> None:
        """Locust ``init``. Master/local: resolve the target and open the run folder (Tier7Error if unreachable)."""
        self._attach(environment)
        runner = environment.runner
        if self.role == "worker":
            return
        if self.role == "master":
            runner.register_message(ERROR_MESSAGE, self._worker_error)
        parsed = environment.parsed_options
        self.webui_runs = (environment.web_ui is not None and not self.managed
                           and not getattr(parsed, "headless", False) and not getattr(parsed, "autostart", False))
        if self.webui_runs:
            self._init_webui(environment)
            return
        if self.run_dir is None:
            self.open_run(environment.parsed_options, environment.host)
        self.phase = "running"
        self.timeseries = TimeSeries(environment, self.run_dir / "locust" / "timeseries.csv").start()
        assert self.target is not None
        for user_class in runner.user_classes:  # shown as the "host" in the web UI (the target is fixed)
            user_class.host = user_class.host or self.target.nodes[0].url
        if environment.web_ui is not None:
            from .webui import install_tab

            install_tab(environment, self)

    def _init_webui(self, environment: Any) -> None:
        """The web UI's process: check the options and the target now (a bad one is one line and exit 2
        at start-up), show the real target as the Host, install the tabs; runs open at START."""
        from .webui import install_tab

        parsed = environment.parsed_options
        options = LoadOptions.from_parsed(parsed)
        self.requested_run_dir = options.run_dir
        self.cli_host, self.cli_endpoints = environment.host, options.target_endpoints
        target = resolve(options, environment.host)
        fetch_contract(target)
        self.target = target
        runinfo.versions(), runinfo.commit()  # now, not after START's click (seconds on a loaded machine)
        # the Host field shows the real target (every node); editing it picks other endpoints (tier7 target
        # endpoints: loopback only), leaving it as shown keeps the target resolved here (its logs, admin token)
        self.default_host = ",".join(node.url for node in target.nodes)
        environment.host = self.default_host
        for user_class in environment.runner.user_classes:
            user_class.host = self.default_host
        install_tab(environment, self)

    def _attach(self, environment: Any) -> None:
        """Learn this process's role (a worker may see ``test_start`` before ``init``: both call this)."""
        self.environment = environment
        runner = environment.runner
        self.role = "master" if isinstance(runner, MasterRunner) else "worker" if isinstance(runner, WorkerRunner) else "local"
        if self.role == "worker":
            locust.runners.WORKER_REPORT_INTERVAL = 1.0  # the master's 1 s time series needs fresh totals

    def open_run(self, parsed: Any, host: str | None = None, argv: list[str] | None = None) -> None:
        """Validate options, resolve the target, create the run folder, write run.json and target/*, start sampling."""
        options = LoadOptions.from_parsed(parsed)
        seed = options.seed or random.SystemRandom().randrange(1, 2**31)
        self.picked_seed = None if options.seed else seed
        target = resolve(options, host)
        contract = fetch_contract(target)
        run_dir = (runfolder.create(Path(options.run_dir).resolve()) if options.run_dir
                   else runfolder.new_run_dir("load").resolve())
        if parsed is not None:  # forwarded to workers with the master's other custom options
            parsed.seed, parsed.run_dir = seed, str(run_dir)
        self.options = LoadOptions(**{**options.public(), "seed": seed, "run_dir": str(run_dir)})
        self.target, self.run_dir = target, run_dir
        runinfo.write_target(run_dir, target, contract)
        if not (run_dir / PLAN_COPY).exists():  # a verify run wrote its own (maybe --quick) plan first
            write_plan_copy(run_dir, load_plan())  # the numbers `tier7 analyze` judges this run with
        argv = runfolder.redact_argv(argv or runfolder.command_line(), target.secrets)
        shapes = Shapes.for_target(seed, self.options.shape_ratio, (contract.get("config") or {}).get("limits"))
        self.run_info = runinfo.run_info("load", argv, seed, target, {"options": self.options.public(),
                                                                         "shapes": shapes.describe(),
                                                                         **self.extra_info})
        self.write_run_info()
        # a load run in progress on this target: `tier7 chaos run` joins it (tier7/liverun.py)
        self.marker_folder = Path(target.source).resolve().parent if target.kind in ("testbed", "file") else None
        if self.marker_folder is not None:
            liverun.write_marker(self.marker_folder, run_dir, float(self.run_info["started_wall"]),
                                 {"kind": "load", "target": target.source, "web_ui": self.webui_runs})
        duration = self.extra_info.get("duration_s")
        self.sampler = SamplerProcess(run_dir, max_seconds=duration + 900 if duration else 7 * 86400).start()

    def write_run_info(self, **updates: Any) -> None:
        self.run_info.update(updates)
        if self.run_dir is not None and self.target is not None:
            runfolder.write_json(self.run_dir / "run.json", self.run_info, self.target.secrets)

    # -- test start: user-running processes --

    def on_test_start(self, environment: Any) -> None:
        """Locust ``test_start``: open this process's history and create the tenants (blocking: users wait).
        Under the web UI the master/local process first opens this START's run folder."""
        # A worker's test_start can fire inside its runner's constructor (the master's spawn message arrives
        # while it connects), before ``environment.runner`` is set: the role read then was "local", and the
        # worker crashed in _prepare while the master ended with exit 0 and no operation. Wait for the
        # runner (bounded, 5 s; gevent.sleep lets the constructor finish), then learn the role again.
        for _ in range(500):
            if environment.runner is not None:
                break
            gevent.sleep(0.01)
        if self.environment is None or self.role == "local":
            self._attach(environment)
        if self.webui_runs and self.role != "worker" and not self._begin_webui_run(environment):
            return
        if self.role == "master":  # the web UI's form may have reset the seed: workers get the recorded one
            parsed = environment.parsed_options
            if self.options is not None and parsed is not None and str(getattr(parsed, "seed", "0")) in ("", "0"):
                parsed.seed = self.options.seed
            return
        try:
            self._prepare(environment)
        except Tier7Error as exc:
            if not self.stopping:
                self.fail(str(exc))

    def _begin_webui_run(self, environment: Any) -> bool:
        """START in the web UI: wait for the previous run's end to be written, then open a new run folder
        (``--run-dir`` for the first START, ``<run-dir>-2``... after; else ``results/<UTC time>-load``) on the
        target the Host field names. False (and the run stopped, the reason on the page) if that fails."""
        if self.finisher is not None:
            self.finisher.join()
        if self.run_dir is not None and not self.finished:
            return True  # this run is open already
        self.runs += 1
        self._reset_run()
        self.phase = "starting"
        parsed = environment.parsed_options
        requested = self.requested_run_dir
        parsed.run_dir = requested if not requested or self.runs == 1 else f"{requested}-{self.runs}"
        if self.picked_seed is not None and str(getattr(parsed, "seed", "")) == str(self.picked_seed):
            parsed.seed = 0  # the seed the last START picked, shown back in the form: pick a new one
        host = normalized_hosts(environment.host)
        if not host or host == normalized_hosts(self.default_host):
            parsed.target_endpoints, host_arg = self.cli_endpoints, self.cli_host
        else:  # the Host field was edited: those endpoints are the target (loopback only)
            parsed.target_endpoints, host_arg = host, None
        try:
            self.open_run(parsed, host_arg)
        except Tier7Error as exc:
            self.fail(str(exc))
            return False
        assert self.run_dir is not None
        self.timeseries = TimeSeries(environment, self.run_dir / "locust" / "timeseries.csv").start()
        log.info("run folder: %s", self.run_dir)
        if self.role == "master":
            self.phase = "running"  # the workers create the tenants
        return True

    def _reset_run(self) -> None:
        """Forget the previous web-UI run (its folder is finished): a new START is a new run."""
        self.error = None
        self.ready = False
        self.finished = False
        self.finisher = None
        self._closed = False
        self.history = None
        self.tokens = {}
        self.tenants = []
        self.run_dir = None
        self.run_info = {}
        self.sampler = None
        self.timeseries = None
        self.setup_progress = None
        self.users_by_region = collections.Counter()
        self.rereads = Rereads()
        self._users = itertools.count()
        if self.environment is not None:
            self.environment.process_exit_code = None

    def on_test_stop(self, environment: Any) -> None:
        """Locust ``test_stop`` (STOP in the web UI, after the users stopped): finish this START's run folder
        in the background (final read, logs, metrics, run.json's end); the page says when it is done."""
        if not self.webui_runs or self.role == "worker":
            return
        if self.run_dir is None:  # STOP before the run folder was opened (or opening it failed)
            self.phase = "idle"
            return
        if self.finished:
            return
        if self.finisher is None:
            self.phase = "finishing"
            self.finisher = gevent.spawn(self._end_webui_run, environment)

    def _end_webui_run(self, environment: Any) -> None:
        try:
            self._finish_run(environment)
        finally:
            self.finished = True
            self.phase = "finished"

    def _prepare(self, environment: Any) -> None:
        parsed = environment.parsed_options
        options = LoadOptions.from_parsed(parsed)
        if self.role == "worker":
            if not options.run_dir:
                raise Tier7Error("worker got no --run-dir from the master")
            if self.run_dir is not None and Path(options.run_dir) != self.run_dir:  # the web UI's next START
                if self.history is not None:
                    self.history.close()
                self.history, self.target, self.tokens, self.rereads = None, None, {}, Rereads()
            self.proc = f"w{getattr(environment.runner, 'worker_index', 0)}"
            if self.target is None:
                self.target = resolve_host(options, environment.host)
            self.run_dir = Path(options.run_dir)
        else:
            assert self.options is not None
            options = LoadOptions(**{**options.public(), "seed": self.options.seed, "run_dir": self.options.run_dir})
        self.options = options
        assert self.target is not None and self.run_dir is not None
        self.shapes = Shapes.for_target(options.seed, options.shape_ratio, published_limits(self.run_dir))
        self._keys = {}
        self.ring = harness_ring(self.run_dir)
        if self.history is None:
            self.history = HistoryWriter(history_path(self.run_dir, f"load-{self.proc}"))
        prefix = tenant_prefix(self.run_dir, self._started_wall())
        self.kv_tenant = f"{prefix}-kv"
        self.tenants = tenant_names(prefix, options.tenants)
        wanted = [n for n in [self.kv_tenant, *self.tenants] if n not in self.tokens]
        if wanted:
            log.info("creating %d tenant(s) on %s", len(wanted), self.target.source)
            self.phase, self.setup_progress = "setting up", (0, len(wanted))
            self.tokens.update(create_tenants(
                wanted, self.target.nodes, self.target.require_admin(), self.history, f"{self.proc}-setup",
                reporter=self.reporter("setup"), timeout=options.op_timeout,
                should_stop=lambda: self.error is not None or self.stopping,
                progress=self._setup_progress))
        workers = max(1, int(getattr(parsed, "expect_workers", 1) or 1)) if self.role == "worker" else 1
        share = -(-options.tenants // workers)  # each process starts at its own share of the tenants
        self._cursor = itertools.count(int(self.proc[1:] or 0) * share)
        self._sessions_left = options.tenant_passes * share if options.tenant_passes else None
        self.ready = True
        self.phase = "running"

    def _setup_progress(self, created: int, total: int) -> None:
        self.setup_progress = (created, total)

    def _started_wall(self) -> float:
        """The run's start (wall seconds) as the master or local process recorded it in run.json."""
        if self.run_info.get("started_wall") is not None:
            return float(self.run_info["started_wall"])
        assert self.run_dir is not None
        try:
            return float(json.loads((self.run_dir / "run.json").read_text())["started_wall"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Tier7Error(f"cannot read the run's start from {self.run_dir / 'run.json'}: {exc}") from None

    def fail(self, message: str) -> None:
        """Record a fatal setup error: one line on stderr, exit code 2, the run stopped."""
        if self.error is not None:
            return
        self.error = message
        print(f"tier7: error: {message}", file=sys.stderr, flush=True)
        environment = self.environment
        if environment is None:
            return
        environment.process_exit_code = 2
        runner = environment.runner
        if self.role == "worker":
            runner.send_message(ERROR_MESSAGE, message)
        elif not self.managed:
            headless = bool(getattr(environment.parsed_options, "headless", False))
            gevent.spawn(runner.quit if headless else runner.stop)

    def _worker_error(self, environment: Any, msg: Any, **kwargs: Any) -> None:
        self.fail(f"worker: {msg.data}")

    # -- users --

    def user_client(self, environment: Any, kind: str, token: str | None) -> tuple[RecordingClient | None, random.Random]:
        """A recording client for a new simulated user (entry node round-robin) and its seeded RNG.

        The client is None when the run cannot go on (setup failed): the user then stops at its first task
        (a StopUser raised in ``on_start`` would print a traceback)."""
        if self.error is not None or not self.ready or self.history is None:
            return None, random.Random(0)
        assert self.target is not None and self.options is not None
        number = next(self._users)
        node = self.target.nodes[number % len(self.target.nodes)]
        process = f"{self.proc}-u{number}"
        region = node.region or "-"
        users = self.users_by_region
        users[region] += 1
        client = RecordingClient(node.url, token, self.history, process, region=node.region,
                                 timeout=self.options.op_timeout, reporter=self.reporter(kind, node.name),
                                 reconnect_backoff_s=self.options.reconnect_backoff,
                                 on_close=lambda: users.subtract([region]))
        return client, random.Random(f"{self.options.seed}/{process}")

    def peer_client(self, user: RecordingClient, tenant: str, key: str, rng: random.Random,
                    peers: dict[str, RecordingClient]) -> RecordingClient:
        """A client of this user on a member of ``key``'s owner group (computed by the harness's ring) other
        than its entry node, for reading a write back at once elsewhere: a follower answering from a replica
        that has not applied the write yet is caught there. ``peers`` caches one client per node (history
        process ``<user process>p<node index>``); the user's own client when no other member is known."""
        assert self.target is not None and self.options is not None
        nodes = self.target.nodes
        group = self.ring.group_for(tenant, key) if self.ring is not None else None
        choices = [i for i, n in enumerate(nodes) if n.group == group and n.url != user.connection.url]
        if not choices:
            return user
        index = rng.choice(choices)
        client = peers.get(nodes[index].url)
        if client is None:
            node = nodes[index]
            client = peers[node.url] = RecordingClient(
                node.url, user.token, user.history, f"{user.base_process}p{index}", region=node.region,
                timeout=self.options.op_timeout, tenant=user.tenant,
                reporter=self.reporter(getattr(user.reporter, "kind", "kv"), node.name),
                reconnect_backoff_s=self.options.reconnect_backoff)
            client.ascii_json = user.ascii_json
        return client

    def shared_key(self, index: int) -> str:
        """Key ``index`` of the KV writers' shared keyspace, in its seeded shape (cached)."""
        key = self._keys.get(index)
        if key is None:
            assert self.shapes is not None
            key = self._keys[index] = self.shapes.key(index)
        return key

    def written_once(self, key: str) -> None:
        """An acknowledged write-once key: queue it for re-reads during the run (tier7.load.rereads)."""
        self.rereads.add(key)

    def next_reread(self) -> str | None:
        """The next write-once key to read again, or None."""
        return self.rereads.next()

    def next_tenant(self) -> int | None:
        """The next tenant (index) for a tenant user to work as; None once ``--tenant-passes`` are done."""
        if self._sessions_left is not None:
            if self._sessions_left <= 0:
                return None
            self._sessions_left -= 1
        return next(self._cursor) % len(self.tenants)

    def reporter(self, kind: str, node: str | None = None) -> Reporter:
        """Report each completion to Locust's statistics as ``<kind> <f>``."""
        fire = self.environment.events.request.fire if self.environment is not None else None

        def report(result: Result, method: str) -> None:
            if fire is None:
                return
            name = f"{kind} {result.f}"
            exception: Exception | None = None
            if result.cross_tenant:
                name = f"cross-tenant {result.f}"
                if result.ok:
                    exception = IsolationLeak(f"{result.f} on another tenant's key was accepted "
                                              f"(HTTP {result.status}, {result.node or node})")
                elif result.error != "forbidden":
                    exception = RecordedFailure(describe(result.type, result.error, result.node or node, result.status))
            elif not result.ok and result.error != "cas_mismatch":
                exception = RecordedFailure(describe(result.type, result.error, result.node or node, result.status))
            fire(request_type=method, name=name, response_time=result.latency_ms, response_length=result.length,
                 exception=exception, context={})

        report.kind = kind  # type: ignore[attr-defined]  # a peer client of this user reports as the same kind
        return report

    # -- the end --

    def on_quitting(self, environment: Any) -> None:
        """Locust ``quitting`` (before Locust stops the users): stop users so every invoke completes, then
        close the history; master/local also finish the run folder (under the web UI: the open START's, and
        wait for a STOP's finishing to be written)."""
        if self.webui_runs and self.role != "worker":
            runner = environment.runner
            if self.finisher is None and self.run_dir is not None and not self.finished:
                if runner is not None and self.role == "local" and runner.user_count:
                    runner.stop()  # fires test_stop: the finisher starts
                if self.finisher is None:
                    self.phase = "finishing"
                    self.finisher = gevent.spawn(self._end_webui_run, environment)
            if self.finisher is not None:
                self.finisher.join(timeout=FINAL_READ_LIMIT_S + 120)
            return
        self._finish_run(environment)

    def _finish_run(self, environment: Any) -> None:
        """Stop users, final read, close the history; master/local write the run folder's end."""
        if self._closed:
            return
        self._closed = True
        runner = environment.runner
        if runner is not None and self.role != "master" and runner.user_count:
            runner.stop()
        if self.role == "local" or (self.role == "master" and self.managed):
            # `tier7 load --workers` quits the master only after its workers exited: their histories are complete
            self._final_read()
        elif self.role == "master" and self.run_info:
            self.run_info["final_read"] = {"skipped": "distributed run under `locust --master`: the workers' "
                                                      "histories may not be complete when the master quits"}
        if self.history is not None:
            self.history.close()
        if self.role == "worker" or self.run_dir is None or self.target is None:
            return
        if self.marker_folder is not None:
            liverun.remove_marker(self.marker_folder, self.run_dir)
        if self.timeseries is not None:
            self.timeseries.stop()
        if self.sampler is not None:
            self.sampler.stop()
        write_csv_tables(environment, self.run_dir / "locust")
        runfolder.copy_logs(self.run_dir, self.target.log_files, self.target.secrets)
        runfolder.copy_metrics(self.run_dir, {n.name: n.url for n in self.target.nodes}, self.target.secrets)
        self.write_run_info(ended_wall=time.time(), error=self.error,
                            requests=environment.runner.stats.total.num_requests if runner else None)

    def _final_read(self) -> None:
        """Read back every key the users wrote (bounded by FINAL_READ_LIMIT_S), so ``tier7 analyze`` can judge
        no-lost-writes: by the local process, or by the master of ``tier7 load --workers`` (its workers have
        exited by then; it gets the tenants' tokens by the idempotent create). Result in run.json."""
        if (self.error is not None or self.options is None or self.options.no_final_read
                or self.target is None or self.run_dir is None):
            return
        if self.stopping:  # Ctrl-C: stop now; the analysis will say which writes no final read covers
            self.run_info["final_read"] = {"skipped": "the run was interrupted"}
            return
        keys = written_keys(self.run_dir)
        if not keys:
            return
        proc = "master" if self.role == "master" else self.proc  # worker 0 is "w0" too
        if self.history is None:  # the master of a distributed run: it ran no users
            self.history = HistoryWriter(history_path(self.run_dir, "load-master"))
        missing = sorted({tenant for tenant, _ in keys} - set(self.tokens))
        if missing and self.target.admin_token:  # creation is idempotent: it hands out the tenant's token
            try:
                self.tokens.update(create_tenants(missing, self.target.nodes, self.target.admin_token, self.history,
                                                  f"{proc}-final-setup", timeout=self.options.op_timeout,
                                                  should_stop=lambda: self.stopping))
            except Tier7Error as exc:
                log.warning("final read: %s", exc)
        deadline = time.monotonic() + FINAL_READ_LIMIT_S
        unread = read_back(keys, self.tokens, self.target.nodes, self.history, f"{proc}-final",
                           timeout=self.options.op_timeout, should_stop=lambda: self.stopping or time.monotonic() > deadline)
        self.run_info["final_read"] = {"keys": len(keys), "unread": len(unread)}
        log.info("final read: %d key(s) read back, %d not", len(keys) - len(unread), len(unread))

    def tenant_token(self, index: int) -> tuple[str, str]:
        name = self.tenants[index]
        return name, self.tokens[name]


def resolve_host(options: LoadOptions, host: str | None) -> LoadTarget:
    """A worker's target: the master's web UI shows every node of the default target as the Host (and
    forwards it); that Host means the default target (cluster file: admin token, logs), any other the
    endpoints it lists."""
    if host and not options.target_endpoints:
        try:
            default = resolve(options, None)
        except Tier7Error:
            default = None
        if default is not None and normalized_hosts(host) == ",".join(node.url for node in default.nodes):
            return default
    return resolve(options, host)


def harness_ring(run_dir: Path) -> HarnessRing | None:
    """The harness's ring from the run's ``target/ring.json`` (None if unreadable: peer reads then go to
    the user's own node)."""
    try:
        return HarnessRing.from_contract(json.loads((run_dir / "target" / "ring.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def published_limits(run_dir: Path) -> dict[str, Any] | None:
    """The limits the target published in ``/v1/config`` (``target/config.json`` of the run), if readable."""
    try:
        limits = json.loads((run_dir / "target" / "config.json").read_text()).get("limits")
    except (OSError, ValueError, AttributeError):
        return None
    return limits if isinstance(limits, dict) else None


SESSION = LoadSession()

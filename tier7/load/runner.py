"""``tier7 load``: Locust as a library. One process (local runner), or an in-process master with W local
worker processes (``--workers W``, every core used). The locustfile's own listeners do the per-process
work (history, tenants, run folder, tabs); this module drives the run: start, progress lines, duration,
stop, summary. Ctrl-C (or SIGTERM) stops the users and still writes everything recorded."""

import locust  # noqa: I001 - first: gevent monkey-patching must precede any import of ssl (httpx)

import importlib.util
import signal
import sys
import time
from argparse import Namespace
from types import ModuleType
from typing import Any

import gevent
from locust import events
from locust.argument_parser import get_parser
from locust.env import Environment

from ..errors import Tier7Error
from ..waiting import DeadlineExceeded, wait_until
from .. import runfolder
from .cli import GENERATOR_HELP
from .session import SESSION
from .stats import snapshot
from .summary import format_summary, nothing_recorded, summarize
from .workers import LOCUSTFILE, LocalWorkers, free_port

assert locust  # imported for its side effect
PROFILE_CLASSES = {"kv": ["KvWriter"], "tenants": ["TenantUser"], "mixed": ["KvWriter", "TenantUser"],
                   "crdt": ["MultiRegionCrdtWriter"]}
SETUP_TIMEOUT = 300.0  # seconds for tenant creation before users run
PROGRESS_EVERY = 5.0  # seconds between progress lines


def load_locustfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tier7_locustfile", LOCUSTFILE)
    if spec is None or spec.loader is None:
        raise Tier7Error(f"cannot load {LOCUSTFILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def locust_arguments(args: Namespace) -> list[str]:
    """The Locust command line equivalent to ``args`` (also what a worker receives from the master)."""
    argv = ["-f", str(LOCUSTFILE), "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
            "--tenants", str(args.tenants), "--keyspace", str(args.keyspace), "--read-ratio", str(args.read_ratio),
            "--cas-ratio", str(args.cas_ratio), "--keys-per-tenant", str(args.keys_per_tenant),
            "--tenant-passes", str(args.tenant_passes),
            "--seed", str(args.seed), "--op-timeout", str(args.op_timeout),
            "--reconnect-backoff", str(args.reconnect_backoff)]
    for name in GENERATOR_HELP:
        argv += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    for flag, value in (("--target-file", args.target_file), ("--target-endpoints", args.target_endpoints),
                        ("--run-dir", str(args.run_dir) if args.run_dir else "")):
        if value:
            argv += [flag, value]
    if args.no_final_read:
        argv.append("--no-final-read")
    if args.workers:
        argv += ["--expect-workers", str(args.workers)]
    return argv


class Stop:
    """Set by SIGINT/SIGTERM: the run winds down and writes what it has."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def install(self) -> None:
        gevent.signal_handler(signal.SIGINT, self._set, "SIGINT")
        gevent.signal_handler(signal.SIGTERM, self._set, "SIGTERM")

    def _set(self, name: str) -> None:
        self.signal = self.signal or name
        SESSION.stopping = True


def run_load(args: Namespace) -> int:
    stop = Stop()
    stop.install()
    module = load_locustfile()
    classes = [getattr(module, name) for name in PROFILE_CLASSES[args.profile]]
    parsed = get_parser().parse_args(locust_arguments(args))
    SESSION.managed = True
    SESSION.extra_info = {"profile": args.profile, "users": args.users, "spawn_rate": args.spawn_rate,
                          "duration_s": args.duration, "workers": args.workers}
    SESSION.open_run(parsed, None, argv=runfolder.command_line())  # Tier7Error: target unreachable, bad options
    run_dir = SESSION.run_dir
    assert run_dir is not None
    print(f"run folder: {run_dir}", flush=True)
    from ..soak.shape import shape_from_env  # a `tier7 soak` window: users follow the soak's LoadTestShape

    shape = shape_from_env()
    environment = Environment(user_classes=classes, events=events, parsed_options=parsed, stop_timeout=2.0,
                              shape_class=shape)
    workers: LocalWorkers | None = None
    if args.workers:
        port = free_port()
        runner: Any = environment.create_master_runner("127.0.0.1", port)
    else:
        runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    code = 0
    try:
        if args.workers:
            workers = LocalWorkers(args.workers, "127.0.0.1", port, run_dir / "locust", run_dir)
            workers.start()
            deadline = time.monotonic() + 60.0
            while runner.worker_count < args.workers and not stop.signal:
                workers.check_alive()
                if time.monotonic() > deadline:
                    raise Tier7Error(f"{args.workers} worker(s) did not connect within 60 s; "
                                     f"see {run_dir / 'locust'}/worker-*.log")
                gevent.sleep(0.1)
        if not stop.signal:
            print(f"starting {args.users} user(s) ({args.profile}) at {args.spawn_rate}/s"
                  + (f" on {args.workers} worker(s)" if args.workers else "")
                  + f"; creating {args.tenants} tenant(s) first", flush=True)
            if shape is not None:
                runner.start_shape()
            else:
                runner.start(args.users, args.spawn_rate)
        code = drive(environment, args, stop)
    finally:
        finish(environment, runner, workers)
    summary = summarize(run_dir)
    print(format_summary(summary), flush=True)
    print(f"run folder: {run_dir}", flush=True)
    if SESSION.error:  # already printed as one line when it happened
        return 2
    if stop.signal:
        print(f"tier7: interrupted ({stop.signal}); what was recorded is in {run_dir}", file=sys.stderr, flush=True)
        return 130
    # (a soak window's shape may ask for no user at times: only a plain run is held to its --users)
    if code == 0 and shape is None and (empty := nothing_recorded(summary, int(args.users))):
        print(f"tier7: {empty}", file=sys.stderr, flush=True)
        return 2
    return code


def drive(environment: Any, args: Namespace, stop: Stop) -> int:
    """Wait for setup, then let the load run ``args.duration`` seconds, printing progress. Bounded in time."""
    runner = environment.runner
    setup_deadline = time.monotonic() + SETUP_TIMEOUT
    while runner.user_count == 0 and not stop.signal and not SESSION.error:
        if time.monotonic() > setup_deadline:
            raise Tier7Error(f"no user started within {SETUP_TIMEOUT:.0f}s (tenant setup too slow?)")
        gevent.sleep(0.1)
    started = time.monotonic()
    end = started + args.duration
    next_progress = started + PROGRESS_EVERY
    while not stop.signal and not SESSION.error and time.monotonic() < end:
        gevent.sleep(min(0.25, max(0.0, end - time.monotonic())))
        if runner.user_count == 0:  # every user finished (e.g. --tenant-passes done)
            print(f"every user finished after {time.monotonic() - started:.1f}s", flush=True)
            break
        if not args.quiet and time.monotonic() >= next_progress:
            next_progress += PROGRESS_EVERY
            progress(snapshot(environment), time.monotonic() - started, args.duration)
    return 0


def progress(now: dict[str, Any], elapsed: float, duration: float) -> None:
    print(f"[{elapsed:5.0f}s/{duration:.0f}s] users {now['users']:>5}  requests {now['requests']:>8}  "
          f"failures {now['failures']:>6}  {now['rps']:>8.1f} req/s  p50 {now['p50_ms']} ms  "
          f"p95 {now['p95_ms']} ms", flush=True)


def finish(environment: Any, runner: Any, workers: LocalWorkers | None) -> None:
    """Stop users (their open operations complete as ``info``), stop workers, write the run folder's end."""
    try:
        runner.stop()
        if workers is not None:
            try:  # a stopped worker leaves the master's list, then rejoins as ready: quit reaches only those
                wait_until(lambda: len(runner.clients.ready) >= len(workers.alive()), 15.0, 0.1, "workers to stop")
            except DeadlineExceeded:
                pass
        runner.quit()
        if workers is not None and not workers.wait_exit(20.0):
            workers.stop()
    finally:
        if workers is not None:
            workers.stop()
        events.quitting.fire(environment=environment, reverse=True)

"""The recorded Locust load of a verification run: ``tier7 load`` (kv profile) as a subprocess writing into
the run's history, started by the failover phase (runs until stopped) and by the plain load phase."""

from __future__ import annotations

from ..runfolder import write_json
from ..waiting import DeadlineExceeded, wait_until
from .background import Subcommand
from .context import RunContext

KEYSPACE = 200  # keys shared by the KV writers: few enough that reads race writes on the same keys


def load_target_file(ctx: RunContext) -> str:
    cluster_file = getattr(ctx.target, "cluster_file", None)
    if cluster_file is not None:
        return str(cluster_file)
    path = write_json(ctx.run_dir / "target" / "load-target.json",
                      {"nodes": [{"name": n.name, "group": n.group, "region": n.region, "url": n.url}
                                 for n in ctx.nodes()]})
    return str(path)


def load_command(ctx: RunContext, duration_s: float) -> tuple[list[str], dict[str, str]]:
    """(``tier7 load`` arguments, environment) for ``duration_s`` seconds of load (users and spawn rate from
    the plan's [load]); the admin token goes by environment, never on a command line."""
    load = ctx.plan["load"]
    args = ["load", "--profile", "kv", "--users", str(load["users"]), "--spawn-rate", str(load["spawn_rate"]),
            "--duration", f"{duration_s:g}", "--tenants", "1", "--keyspace", str(KEYSPACE),
            "--seed", str(ctx.seed or 1), "--target-file", load_target_file(ctx), "--run-dir", str(ctx.run_dir),
            "--quiet"]
    return args, {"TIER7_ADMIN_TOKEN": ctx.target.admin_token()}


def start_load(ctx: RunContext, duration_s: float, log_name: str = "load.log") -> Subcommand:
    """Start ``tier7 load`` for ``duration_s`` seconds in the background (output to harness/<log_name>)."""
    args, env = load_command(ctx, duration_s)
    return Subcommand(args, ctx.run_dir / "harness" / log_name, env=env)


def raise_exited(command: Subcommand) -> bool:
    raise DeadlineExceeded(f"load exited early: {command.tail()}")


def wait_for_ok(ctx: RunContext, command: Subcommand, count: int, timeout_s: float, what: str,
                must_run: bool = True) -> None:
    """Wait until ``count`` more operations were acknowledged (the history tail); DeadlineExceeded after
    ``timeout_s`` seconds, or at once when the load exited while ``must_run``."""
    start_ok = ctx.progress.tail.ok
    wait_until(lambda: (ctx.progress.tail.poll() or True) and ctx.progress.tail.ok - start_ok >= count
               or must_run and not command.running() and raise_exited(command), timeout_s, 0.2, what)

"""TEST ONLY (``kill_misses_server``): a node that daemonizes its server, so a kill by PID misses it.

The bug it models is a classic operator trap: the service forks its real server into a session of its own
and the process the supervisor started is only a shim. The shim forwards SIGTERM and SIGINT, and exits when
the server does, so starting and stopping look normal; but ``kill -9`` of the supervisor's PID (or of its
process group) kills only the shim, and the server keeps running and keeps leading its Raft group. The
supervisor believes the node is dead; nothing says otherwise.

When the supervisor starts the node again, the new shim finds the running server (``server.pid`` in the node
folder) and adopts it instead of starting a second one. A server whose shims are all gone for
``ORPHAN_GRACE_S`` seconds stops itself, so a test run can never leave one behind for long.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ORPHAN_GRACE_S = 60.0   # seconds a server runs on with no live shim before it stops itself
POLL_S = 0.2            # seconds between liveness checks


def _alive(pid: int, name: str) -> bool:
    """True when ``pid`` runs (not a zombie) a testbed node called ``name``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return b"testbed" in args and b"node" in args and name.encode() in args


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def run_detached(name: str, node_dir: Path, serve: Callable[[], None]) -> None:
    """Run ``serve`` in a child in its own session (or adopt the one already running) and act as its shim."""
    node_dir.mkdir(parents=True, exist_ok=True)
    server_file, shim_file = node_dir / "server.pid", node_dir / "shim.pid"
    shim = os.getpid()
    server = _read_pid(server_file)
    adopted = server is not None and server != shim and _alive(server, name)
    if not adopted:
        child = os.fork()
        if child == 0:
            os.setsid()  # its own session and process group: a kill of the shim's group does not reach it
            server_file.write_text(str(os.getpid()))
            threading.Thread(target=_stop_when_orphaned, args=(name, shim, shim_file), daemon=True).start()
            code = 0
            try:
                serve()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        server = child
    shim_file.write_text(str(shim))
    print(f"kill_misses_server (TEST FAULT): shim {shim} {'adopted' if adopted else 'started'} server {server}",
          flush=True)

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(server, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if not adopted:
        _, status = os.waitpid(server, 0)
        sys.exit(os.waitstatus_to_exitcode(status) if status else 0)
    while _alive(server, name):  # not our child: watch /proc
        time.sleep(POLL_S)
    sys.exit(0)


def _stop_when_orphaned(name: str, first_shim: int, shim_file: Path) -> None:
    """In the server: SIGTERM itself once no shim has been alive for ``ORPHAN_GRACE_S`` seconds."""
    alone_since: float | None = None
    while True:
        shims = {first_shim, _read_pid(shim_file)} - {None}
        if any(_alive(pid, name) for pid in shims):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > ORPHAN_GRACE_S:
            print(f"kill_misses_server (TEST FAULT): no shim for {ORPHAN_GRACE_S:g} s; stopping", flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        time.sleep(POLL_S)

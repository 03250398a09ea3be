"""Run one testbed node: ``python -m testbed node --config <cluster file> --name <node>``."""

from __future__ import annotations

from .config import Cluster


def run(cluster: Cluster, name: str) -> None:
    me = cluster.node(name)
    me.dir.mkdir(parents=True, exist_ok=True)
    if cluster.test_faults.get("kill_misses_server"):  # TEST ONLY: see daemon.py
        from .daemon import run_detached

        run_detached(me.name, me.dir, lambda: serve(cluster, name))
        return
    serve(cluster, name)


def serve(cluster: Cluster, name: str) -> None:
    """The node's HTTP server and Raft member, until SIGTERM/SIGINT."""
    # Imported here, not at the top: with kill_misses_server the shim forks before these heavy imports, so
    # it is ready to forward signals as soon as possible after the supervisor starts it.
    import logging

    import uvicorn

    from .api import NodeApp
    from .logs import event, setup

    me = cluster.node(name)
    log = setup(me.dir / "node.log", me.name, me.group, me.region)
    event(log, "node_starting", preset=cluster.preset.get("name"), http_port=me.http_port, raft_port=me.raft_port)
    app = NodeApp(cluster, me)
    config = uvicorn.Config(app, host=me.host, port=me.http_port, lifespan="on", access_log=False,
                            log_level="warning", http="httptools", loop="asyncio", log_config=None,
                            timeout_keep_alive=30, backlog=2048)
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        logging.shutdown()

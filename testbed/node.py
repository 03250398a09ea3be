"""Run one testbed node: ``python -m testbed node --config <cluster file> --name <node>``."""

from __future__ import annotations

import asyncio

from .config import Cluster, NodeSpec


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
        asyncio.run(_serve_both(cluster, me, app, server))
    finally:
        logging.shutdown()


async def _serve_both(cluster: Cluster, me: NodeSpec, app: object, server: object) -> None:
    """uvicorn (public API and lifespan) and, when the preset enables it, the inter-node transport listener
    (h2 + h3, testbed/transport_server.py) in one event loop; the listener stops when uvicorn does."""
    from .transport_server import enabled, serve_transport

    stop = asyncio.Event()
    listener = None
    if enabled(cluster, me):
        listener = asyncio.create_task(serve_transport(cluster, me, app, lambda: server.started, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        if listener is not None:
            await asyncio.wait([listener], timeout=2.0)

"""Run one testbed node: ``python -m testbed node --config <cluster file> --name <node>``."""

from __future__ import annotations

import logging

import uvicorn

from .api import NodeApp
from .config import Cluster
from .logs import event, setup


def run(cluster: Cluster, name: str) -> None:
    me = cluster.node(name)
    me.dir.mkdir(parents=True, exist_ok=True)
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

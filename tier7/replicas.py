"""Which nodes hold a key in their own replica (``consistency=local``): the placement evidence.

Reads go out from a thread pool with one plain keep-alive connection per node per thread (a shared
httpx pool misbehaved under heavy load: deadlocks and "Bad file descriptor").
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from .contract import key_path
from .targets.base import NodeInfo


class ReplicaProbe:
    def __init__(self, nodes: list[NodeInfo], token: str, threads: int = 16, timeout: float = 5.0) -> None:
        self.nodes, self.token, self.threads, self.timeout = nodes, token, threads, timeout
        self._local = threading.local()

    def holds(self, url: str, key: str, tenant: str | None = None) -> bool:
        """Does the node at ``url`` hold ``key`` in its own replica? Unreachable counts as no."""
        connections = self._local.__dict__.setdefault("connections", {})
        parts = urlsplit(url)
        for _ in range(2):  # once more on a fresh connection if the kept-alive one was closed
            connection = connections.get(url) or http.client.HTTPConnection(parts.hostname, parts.port,
                                                                              timeout=self.timeout)
            connections[url] = connection
            try:
                connection.request("GET", key_path(key, tenant) + "?consistency=local",
                                   headers={"authorization": f"Bearer {self.token}"})
                response = connection.getresponse()
                response.read()
                return response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connections.pop(url, None)
        return False

    def holders(self, keys: Iterable[str], tenant: str | None = None) -> dict[str, list[str]]:
        """Key -> names of the nodes whose replica holds it."""
        keys = list(keys)

        def one(key: str) -> list[str]:
            return [n.name for n in self.nodes if self.holds(n.url, key, tenant)]

        with ThreadPoolExecutor(self.threads) as pool:
            return dict(zip(keys, pool.map(one, keys), strict=True))

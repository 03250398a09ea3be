"""Proxies and their toxics: the state behind the Toxiproxy-style HTTP API.

A proxy has a name, a ``listen`` and an ``upstream`` address (``host:port``), an ``enabled`` flag and an
ordered list of toxics. Enabling binds the listen address (port 0 picks one; the proxy then reports
the bound port, as Toxiproxy does); disabling stops listening and closes every link. The transport is
chosen by ``protocol``: ``tcp`` or ``udp`` (the relay for QUIC, chaos/proxy/udp.py).

By default only loopback addresses may be listened on or proxied to (``allow_remote`` lifts that). A listen
address on every interface (``0.0.0.0`` or ``::``, the default of chaostoolkit-toxiproxy's ``create_proxy``)
is then served on loopback instead (``127.0.0.1`` / ``::1``): the proxy answers with the address it really
listens on, adds a ``note`` to the proxy's JSON and logs it (issue 17).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any, Protocol

from .errors import ApiError, bad_request, conflict, not_found
from .tcp import TcpListener
from .toxics import NAME_PATTERN, Toxic, parse_toxic, updated_toxic
from .udp import UdpListener


class Listener(Protocol):
    links: set

    async def start(self, host: str, port: int) -> int: ...

    async def stop(self) -> None: ...

    def refresh_toxics(self) -> None: ...


log = logging.getLogger("chaos.proxy")

TRANSPORTS: dict[str, Callable[[Proxy], Listener]] = {"tcp": TcpListener, "udp": UdpListener}


def parse_address(text: Any, what: str, allow_remote: bool, upstream: bool) -> tuple[str, int]:
    if not isinstance(text, str) or ":" not in text:
        raise bad_request(f"bad request body: {what} must be 'host:port'")
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    if not port_text.isdigit() or not (0 if not upstream else 1) <= int(port_text) <= 65535:
        raise bad_request(f"bad request body: {what} has a bad port: {text!r}")
    if not allow_remote:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise bad_request(f"{what} {text!r} is not a loopback address; this proxy only serves loopback "
                              "(start it with --allow-remote to lift that)")
    return host, int(port_text)


ANY_HOST = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def loopback_listen(text: Any, allow_remote: bool) -> tuple[Any, str | None]:
    """``text`` with an every-interface host mapped to loopback when remote addresses are not allowed, and
    the note saying so (None when unchanged)."""
    if allow_remote or not isinstance(text, str) or ":" not in text:
        return text, None
    host, _, port = text.rpartition(":")
    bare = host.strip("[]")
    if bare not in ANY_HOST:
        return text, None
    mapped = ANY_HOST[bare]
    listen = f"[{mapped}]:{port}" if ":" in mapped else f"{mapped}:{port}"
    return listen, (f"listen {text!r} asked for every interface; this proxy serves loopback only, so it "
                    f"listens on {mapped} (start it with --allow-remote to listen on {bare or 'every interface'})")


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, protocol: str, allow_remote: bool) -> None:
        self.name, self.listen, self.upstream, self.protocol = name, listen, upstream, protocol
        self.allow_remote = allow_remote
        self.note: str | None = None  # why the listen address differs from the one asked for
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.listener: Listener = TRANSPORTS[protocol](self)

    def upstream_address(self) -> tuple[str, int]:
        return parse_address(self.upstream, "upstream", self.allow_remote, upstream=True)

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = parse_address(self.listen, "listen", self.allow_remote, upstream=False)
        try:
            bound = await self.listener.start(host, port)
        except OSError as exc:
            raise ApiError(500, f"listen {self.protocol} {self.listen}: {exc.strerror or exc}") from None
        self.listen = f"{host}:{bound}"
        self.enabled = True

    async def stop(self) -> None:
        await self.listener.stop()
        self.enabled = False

    def toxics_for(self, stream: str) -> list[Toxic]:
        return [t for t in self.toxics.values() if t.stream == stream]

    def toxics_changed(self) -> None:
        self.listener.refresh_toxics()

    def toxic_list(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in self.toxics_for("upstream") + self.toxics_for("downstream")]

    def to_json(self) -> dict[str, Any]:
        answer = {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled,
                  "protocol": self.protocol, "toxics": self.toxic_list()}
        if self.note:
            answer["note"] = self.note
        return answer


class ProxyCollection:
    """Every proxy of the process; mutations are serialised by one asyncio lock."""

    def __init__(self, allow_remote: bool = False) -> None:
        self.allow_remote = allow_remote
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise not_found("proxy")
        return proxy

    def _new(self, body: Any) -> tuple[Proxy, bool]:
        if not isinstance(body, dict):
            raise bad_request("bad request body: expected a JSON object")
        name, upstream = body.get("name"), body.get("upstream")
        if not name:
            raise bad_request("missing required field: name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise bad_request("bad request body: name must be 1-128 characters of [A-Za-z0-9_.:-]")
        if not upstream:
            raise bad_request("missing required field: upstream")
        listen, note = loopback_listen(body.get("listen") or "127.0.0.1:0", self.allow_remote)
        parse_address(listen, "listen", self.allow_remote, upstream=False)
        parse_address(upstream, "upstream", self.allow_remote, upstream=True)
        protocol = body.get("protocol") or "tcp"
        if protocol not in TRANSPORTS:
            raise bad_request(f"protocol {protocol!r} not supported; supported: {', '.join(TRANSPORTS)}")
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad_request("bad request body: enabled must be true or false")
        proxy = Proxy(name, listen, upstream, protocol, self.allow_remote)
        if note:
            proxy.note = note
            log.warning("proxy %s: %s", name, note)
        return proxy, enabled

    async def create(self, body: Any) -> Proxy:
        async with self.lock:
            proxy, enabled = self._new(body)
            if proxy.name in self.proxies:
                raise conflict("proxy")
            if enabled:
                await proxy.start()
            self.proxies[proxy.name] = proxy
            return proxy

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace many proxies (``POST /populate``); one that is unchanged is left running."""
        if not isinstance(body, list):
            raise bad_request("bad request body: expected a JSON array of proxies")
        async with self.lock:
            wanted = [self._new(item) for item in body]
            result = []
            for proxy, enabled in wanted:
                old = self.proxies.get(proxy.name)
                if old is not None and (old.upstream, old.protocol) == (proxy.upstream, proxy.protocol) and \
                        proxy.listen in (old.listen, "127.0.0.1:0"):
                    proxy = old
                elif old is not None:
                    await old.stop()
                    del self.proxies[old.name]
                if enabled:
                    await proxy.start()
                else:
                    await proxy.stop()
                self.proxies[proxy.name] = proxy
                result.append(proxy)
            return result

    async def update(self, name: str, body: Any) -> Proxy:
        if not isinstance(body, dict):
            raise bad_request("bad request body: expected a JSON object")
        async with self.lock:
            proxy = self.get(name)
            listen, note = loopback_listen(body.get("listen", proxy.listen), self.allow_remote)
            if note:
                proxy.note = note
                log.warning("proxy %s: %s", name, note)
            upstream = body.get("upstream", proxy.upstream)
            enabled = body.get("enabled", proxy.enabled)
            if not isinstance(enabled, bool):
                raise bad_request("bad request body: enabled must be true or false")
            parse_address(listen, "listen", self.allow_remote, upstream=False)
            parse_address(upstream, "upstream", self.allow_remote, upstream=True)
            if (listen, upstream) != (proxy.listen, proxy.upstream):
                await proxy.stop()
                proxy.listen, proxy.upstream = listen, upstream
            if enabled:
                await proxy.start()
            else:
                await proxy.stop()
            return proxy

    async def delete(self, name: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            await proxy.stop()
            del self.proxies[name]

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (``POST /reset``)."""
        async with self.lock:
            for proxy in self.proxies.values():
                proxy.toxics.clear()
                proxy.toxics_changed()
                await proxy.start()

    async def add_toxic(self, name: str, body: Any) -> Toxic:
        async with self.lock:
            proxy = self.get(name)
            toxic = parse_toxic(body)
            if toxic.name in proxy.toxics:
                raise conflict("toxic")
            proxy.toxics[toxic.name] = toxic
            proxy.toxics_changed()
            return toxic

    def get_toxic(self, name: str, toxic: str) -> Toxic:
        found = self.get(name).toxics.get(toxic)
        if found is None:
            raise not_found("toxic")
        return found

    async def update_toxic(self, name: str, toxic: str, body: Any) -> Toxic:
        async with self.lock:
            proxy = self.get(name)
            new = updated_toxic(self.get_toxic(name, toxic), body)
            proxy.toxics[toxic] = new
            proxy.toxics_changed()
            return new

    async def remove_toxic(self, name: str, toxic: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            self.get_toxic(name, toxic)
            del proxy.toxics[toxic]
            proxy.toxics_changed()

    async def close_all(self) -> None:
        for proxy in list(self.proxies.values()):
            await proxy.stop()

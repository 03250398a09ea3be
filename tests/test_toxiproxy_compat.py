"""Must hold 4: Chaos Toolkit's own toxiproxy extension (chaostoolkit-toxiproxy) drives our fault proxy:
it creates a proxy, adds a latency toxic, and removes it (and the proxy)."""

import pytest

from tests.proxy_support import EchoServer, fault_proxy, round_trip_ms


@pytest.fixture(scope="module")
def echo():
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory):
    """One fault proxy process for the module's tests (its start-up is the slow part): (client, API port)."""
    with fault_proxy(tmp_path_factory.mktemp("proxy")) as (client, port, _pid):
        yield client, port


def test_chaostoolkit_toxiproxy_extension(proxy_server, echo):
    from chaostoxi.proxy import actions as proxy_actions
    from chaostoxi.proxy import probes as proxy_probes
    from chaostoxi.toxic import actions as toxic_actions

    client, port = proxy_server
    configuration = {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": port}
    assert proxy_actions.create_proxy("compat", "127.0.0.1", echo.port, listen_host="127.0.0.1",
                                      listen_port=0, configuration=configuration)
    listen = int(configuration["compat_PORT"])  # the extension records the bound port
    assert proxy_probes.proxy_exist("compat", configuration=configuration)
    assert proxy_probes.get_proxy_attribute("compat", "upstream", configuration=configuration) == \
        f"127.0.0.1:{echo.port}"
    base = round_trip_ms(listen, pick="min")

    assert toxic_actions.create_latency_toxic("compat", "slow", 60, jitter=0, configuration=configuration)
    assert [t["name"] for t in client.toxics("compat")] == ["slow"]
    delayed = round_trip_ms(listen, count=8, pick="min")
    assert delayed - base >= 50, (base, delayed)

    assert toxic_actions.delete_toxic("compat", "slow", configuration=configuration)
    assert client.toxics("compat") == []
    assert round_trip_ms(listen, pick="min") < base + 50

    assert proxy_actions.disable_proxy("compat", configuration=configuration)
    assert client.proxy("compat")["enabled"] is False
    assert proxy_actions.enable_proxy("compat", configuration=configuration)
    assert proxy_actions.reset(configuration=configuration)
    proxy_actions.delete_proxy("compat", configuration=configuration)
    assert not proxy_probes.proxy_exist("compat", configuration=configuration)


def test_chaostoolkit_toxiproxy_defaults_and_every_toxic_action(proxy_server, echo):
    """Issue 17 item 7: the extension's own actions with their defaults: create_proxy's listen_host
    "0.0.0.0" (served on loopback, with a note) and its slicer, limiter, slow-close, timeout and bandwidth
    toxics, each with the effect Toxiproxy gives it."""
    import socket
    import time

    from chaostoxi.proxy import actions as proxy_actions
    from chaostoxi.toxic import actions as toxic_actions

    from tests.proxy_support import connect

    def exchange(port: int, payload: bytes, shut: bool = False) -> tuple[bytes, float]:
        """Send, then read until the proxy closes (or 10 s); the bytes and the seconds it took."""
        sock = connect(port, timeout=10)
        started = time.monotonic()
        sock.sendall(payload)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while len(got) < len(payload) or shut:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            sock.close()
        return got, time.monotonic() - started

    client, port = proxy_server
    configuration = {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": port}
    assert proxy_actions.create_proxy("ctk", "127.0.0.1", echo.port, configuration=configuration)
    shown = client.proxy("ctk")
    assert shown["listen"].startswith("127.0.0.1:") and "loopback" in shown["note"]
    listen = int(configuration["ctk_PORT"])

    assert toxic_actions.create_slicer_toxic("ctk", "slices", 8, 2, 10_000, configuration=configuration)
    got, took = exchange(listen, b"s" * 64)  # about 8 slices 10 ms apart
    assert got == b"s" * 64 and took >= 0.05, took
    assert toxic_actions.delete_toxic("ctk", "slices", configuration=configuration)

    assert toxic_actions.create_limiter_toxic("ctk", "limit", 5, configuration=configuration)
    assert client.toxics("ctk")[0]["type"] == "limit_data"
    got, _ = exchange(listen, b"0123456789")
    assert got == b"01234"  # then the proxy closed the link
    assert toxic_actions.delete_toxic("ctk", "limit", configuration=configuration)

    assert toxic_actions.create_slow_connection_close_toxic("ctk", "slowclose", 300,
                                                            configuration=configuration)
    got, took = exchange(listen, b"bye", shut=True)
    assert got == b"bye" and took >= 0.25, took
    assert toxic_actions.delete_toxic("ctk", "slowclose", configuration=configuration)

    assert toxic_actions.create_timeout_toxic("ctk", "hold", 200, configuration=configuration)
    got, took = exchange(listen, b"lost")
    assert got == b"" and took >= 0.15
    assert toxic_actions.delete_toxic("ctk", "hold", configuration=configuration)

    assert toxic_actions.create_bandwith_degradation_toxic("ctk", "slow", 100, configuration=configuration)
    got, took = exchange(listen, b"b" * 30_000)  # 30 KB at 100 KB/s: about 0.3 s
    assert len(got) == 30_000 and took >= 0.2, took
    assert proxy_actions.reset(configuration=configuration)
    assert client.toxics("ctk") == []
    proxy_actions.delete_proxy("ctk", configuration=configuration)

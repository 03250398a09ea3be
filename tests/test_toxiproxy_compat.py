"""Must hold 4: Chaos Toolkit's own toxiproxy extension (chaostoolkit-toxiproxy) drives our fault proxy:
it creates a proxy, adds a latency toxic, and removes it (and the proxy)."""

import pytest

from tests.proxy_support import EchoServer, fault_proxy, round_trip_ms


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def test_chaostoolkit_toxiproxy_extension(tmp_path, echo):
    from chaostoxi.proxy import actions as proxy_actions
    from chaostoxi.proxy import probes as proxy_probes
    from chaostoxi.toxic import actions as toxic_actions

    with fault_proxy(tmp_path) as (client, port, _pid):
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

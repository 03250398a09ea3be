"""Issue 17 item 5: a toxic put on the testbed's fault proxy by another client (chaostoolkit-toxiproxy, or
anyone speaking Toxiproxy's API), whatever its name, is reported by ``faults_in_force`` and removed by
``tier7 chaos heal``; the geography (``baseline-up/down``) stays. Before the fix heal printed "healed" and
left it in force."""

from __future__ import annotations

from chaos.probes import faults_in_force
from tests.chaos_support import env_for, tier7
from tier7.targets.network import BASELINE_PREFIX


def test_heal_removes_and_reports_toxics_of_other_clients(cluster, tmp_path):
    from chaostoxi.proxy import actions as proxy_actions
    from chaostoxi.toxic import actions as toxic_actions

    net = cluster.network()
    assert net is not None, "the god-tier testbed simulates regions through the fault proxy"
    host, port = cluster.cluster["geo"]["proxy_api"].rsplit(":", 1)
    ctk = {"toxiproxy_host": host, "toxiproxy_port": int(port)}
    link = next(lk for lk in net.links if net.baseline_ms(lk.from_region, lk.to_region) > 0).name
    configuration = {"tier7_testbed_dir": str(cluster.dir)}
    upstream = cluster.nodes()[0].url.split("//", 1)[1]
    try:
        assert toxic_actions.create_latency_toxic(link, "ctk-slow", 1, configuration=ctk)  # any name
        assert proxy_actions.create_proxy("ctk-own", *upstream.rsplit(":", 1), configuration=ctk)
        assert toxic_actions.create_timeout_toxic("ctk-own", "ctk-hold", 0, configuration=ctk)

        found = faults_in_force(configuration)["network"]["toxics"]
        assert f"{link}/ctk-slow" in found and "ctk-own/ctk-hold" in found, found
        assert not any(BASELINE_PREFIX in name for name in found)

        healed = tier7(["chaos", "heal", "--target", str(cluster.dir)], env_for(cluster.dir), timeout=120)
        assert healed.returncode == 0, healed.stdout + healed.stderr
        assert "ctk-slow" in healed.stdout and "nothing in force" in healed.stdout, healed.stdout

        after = faults_in_force(configuration)
        assert after["network"]["toxics"] == [], after
        kept = {t["name"] for t in net.client.toxics(link)}
        assert {BASELINE_PREFIX + "up", BASELINE_PREFIX + "down"} <= kept, kept
    finally:
        net.client.remove_toxic(link, "ctk-slow")
        net.client.delete_proxy("ctk-own")

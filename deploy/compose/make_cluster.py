"""Write the compose cluster's files into a folder (the ``cluster`` volume), run by the ``init`` service.

``python -m testbed init`` makes the god-tier cluster file (fresh admin token and secret: nothing secret is
committed), then every address is rewritten for the compose networks: a node is its service name, HTTP on
8000 and Raft on 9000 inside its container; each inter-region link listens on the ``toxiproxy`` service
(the real Toxiproxy server, one proxy per link, from ``toxiproxy.json`` given to it with ``-config``).
Links of the adaptive transport (UDP) are dropped: Toxiproxy is TCP only. The admin token also goes to
``admin-token`` for the harness services (``TIER7_ADMIN_TOKEN``).

With ``--layout k8s`` (deploy/k8s, the cluster-init Job): no proxy links (``--geo none``; inter-region
latency comes from the cluster's network chaos instead), node ``<group>-<region>`` is pod ``<group>-<i>`` of
the group's StatefulSet (i = 0, 1, 2 for us-east, eu-west, ap-south) behind its headless service.

Usage: python deploy/compose/make_cluster.py OUT_DIR [--layout compose|k8s]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HTTP_PORT, RAFT_PORT, PROXY = 8000, 9000, "toxiproxy"
REGIONS = ("us-east", "eu-west", "ap-south")  # StatefulSet pod index of each region (deploy/k8s)


def k8s_host(node: dict) -> str:
    """The pod DNS name of a node: <group>-<index>.<group>.tier7.svc.cluster.local."""
    group = node["group"]
    return f"{group}-{REGIONS.index(node['region'])}.{group}.tier7.svc.cluster.local"


def rewrite(cluster: dict, data_root: str = "/data", layout: str = "compose") -> tuple[dict, list[dict]]:
    """(the compose or k8s cluster file, Toxiproxy's proxy list)."""
    for node in cluster["nodes"]:
        host = k8s_host(node) if layout == "k8s" else node["name"]
        node.update(host=host, http_port=HTTP_PORT, raft_port=RAFT_PORT, dir=f"{data_root}/{node['name']}")
        node.pop("xport_port", None)
        node.pop("probe_port", None)
    proxies = []
    geo = cluster.get("geo")
    if geo:
        geo["proxy_api"] = f"{PROXY}:8474"
        kept = []
        for link in geo["links"]:
            if link["kind"] not in ("raft", "http"):
                continue
            port = int(link["listen"].rsplit(":", 1)[1])
            link["listen"] = f"{PROXY}:{port}"
            link["upstream"] = f"{link['to_node']}:{RAFT_PORT if link['kind'] == 'raft' else HTTP_PORT}"
            kept.append(link)
            proxies.append({"name": link["name"], "listen": f"0.0.0.0:{port}", "upstream": link["upstream"],
                            "enabled": True})
        geo["links"] = kept
    return cluster, proxies


def main(out: Path, layout: str = "compose") -> int:
    out.mkdir(parents=True, exist_ok=True)
    if (out / "cluster.json").is_file():
        print(f"{out / 'cluster.json'} exists: kept (delete the volume for a new cluster)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "testbed", "init", "--preset", "god-tier", "--dir", tmp,
                        *(["--geo", "none"] if layout == "k8s" else [])], check=True)
        cluster = json.loads((Path(tmp) / "cluster.json").read_text())
    cluster, proxies = rewrite(cluster, layout=layout)
    (out / "toxiproxy.json").write_text(json.dumps(proxies, indent=2))
    (out / "admin-token").write_text(cluster["admin_token"])
    (out / "cluster.json").write_text(json.dumps(cluster, indent=2))
    print(f"wrote {out}/cluster.json ({len(cluster['nodes'])} nodes, {len(proxies)} Toxiproxy links)")
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    chosen = argv[argv.index("--layout") + 1] if "--layout" in argv else "compose"
    if chosen not in ("compose", "k8s"):
        sys.exit(f"make_cluster: --layout must be compose or k8s, not {chosen!r}")
    sys.exit(main(Path(argv[0] if argv and not argv[0].startswith("-") else "/cluster"), chosen))

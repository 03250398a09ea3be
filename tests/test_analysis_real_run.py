"""Must hold 3: a real run (testbed + a small recording load + a leader kill), analysed offline by
`tier7 analyze`: linearizability and no-lost-writes PASS, an outage figure for the kill, and a dashboard
that headless Chromium renders with its plots.

The load is the test's own (threads, ContractClient + HistoryWriter, Jepsen-style classification), so this
test does not depend on the Locust runner; the nemesis events, topology samples, node logs and /metrics
are written the way the run-folder layout (docs/run-folder.md) says."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_tenant
from tier7.contract import ContractClient
from tier7.errors import Tier7Error
from tier7.history import HistoryWriter
from tier7.ring import HarnessRing
from tier7.sampler import TopologySampler
from tier7.topology import node_status, observe
from tier7.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000"]
LOAD_LIMIT_S = 180.0  # every load thread stops by itself after this long (seconds)


class Recorder(threading.Thread):
    """One simulated client: random put/get/cas on its tenant's keys through random nodes, every call
    recorded as invoke + ok/fail/info (503 and refused connections = fail; 504, other 5xx and lost answers
    = info; a 404 read = ok read of None)."""

    def __init__(self, name: str, run: Path, urls: list[str], token: str, tenant: str, keys: list[str],
                 seed: int) -> None:
        super().__init__(name=name, daemon=True)
        self.http = httpx.Client(timeout=3.0)
        self.clients = [ContractClient(u, token, client=self.http) for u in urls]
        self.history = HistoryWriter(run / "history" / f"{name}.jsonl")
        self.tenant, self.keys, self.rng = tenant, keys, random.Random(seed)
        self.stop_flag = threading.Event()
        self.ok_groups: list[str] = []

    def call(self, process: str, f: str, key: str, value=None, client: ContractClient | None = None):
        client = client or self.rng.choice(self.clients)
        op = self.history.invoke(process, f, key=key, tenant=self.tenant, value=value)
        try:
            if f == "put":
                answer = client.put(key, value)
            elif f == "cas":
                answer = client.cas(key, value[0], value[1])
            else:
                answer = client.get(key)
        except Tier7Error:  # connection refused: nothing was sent
            self.history.complete("fail", process, op, f, key=key, tenant=self.tenant, error="ConnectError")
            return "fail"
        except httpx.ConnectTimeout:
            self.history.complete("fail", process, op, f, key=key, tenant=self.tenant, error="ConnectTimeout")
            return "fail"
        except httpx.HTTPError as exc:  # sent, answer lost
            self.history.complete("info", process, op, f, key=key, tenant=self.tenant, error=type(exc).__name__)
            return "info"
        body, status = answer.body, answer.status
        if status == 200 or (status == 404 and f == "get"):
            kind = "ok"
        elif status == 503 or 400 <= status < 500:
            kind = "fail"
        else:
            kind = "info"
        out = body.get("value") if f == "get" and status == 200 else (None if f == "get" else value)
        self.history.complete(kind, process, op, f, key=key, tenant=self.tenant, value=out, status=status,
                              node=body.get("node"), group=body.get("group"),
                              error=answer.code if kind != "ok" else None)
        if kind == "ok" and body.get("group"):
            self.ok_groups.append(body["group"])
        return kind

    def run(self) -> None:
        deadline = time.monotonic() + LOAD_LIMIT_S
        process, crashes, i = self.name, 0, 0
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            key = self.rng.choice(self.keys)
            roll = self.rng.random()
            if roll < 0.45:
                kind = self.call(process, "put", key, f"{self.name}-{i}")
            elif roll < 0.85:
                kind = self.call(process, "get", key)
            else:
                kind = self.call(process, "cas", key, [f"{self.name}-{i - 1}", f"{self.name}-{i}"])
            if kind == "info":  # the op may still be in flight: continue as a new process
                crashes += 1
                process = f"{self.name}.{crashes}"
            i += 1

    def close(self) -> None:
        self.history.close()
        self.http.close()


def oks_on(recorders: list[Recorder], group: str) -> int:
    return sum(r.ok_groups.count(group) for r in recorders)


@pytest.fixture
def recorded_run(cluster, http, tmp_path):
    run = tmp_path / "run"
    nodes = cluster.nodes()
    entry = ContractClient(nodes[0].url, client=http)
    (run / "target").mkdir(parents=True)
    ring_params = entry.get_json("/v1/ring")
    (run / "target" / "ring.json").write_text(json.dumps(ring_params))
    (run / "target" / "config.json").write_text(json.dumps(entry.get_json("/v1/config")))
    (run / "target" / "nodes.json").write_text(json.dumps(
        [{"name": n.name, "group": n.group, "region": n.region, "url": n.url} for n in nodes]))
    ring = HarnessRing.from_contract(ring_params)
    tenants = [new_tenant(cluster, http, "an") for _ in range(2)]
    victim_group = "g0"
    sampler = TopologySampler(nodes, run, interval=0.1, max_seconds=120)
    recorders: list[Recorder] = []
    killed: str | None = None
    try:
        wait_until(lambda: observe(nodes).healthy(), 60, 0.1, "a healthy cluster before the run")
        sampler.start()
        for index in range(6):
            tenant, token = tenants[index % 2]
            keys = [f"an-{i}" for i in range(40)]
            keys = [k for k in keys if ring.group_for(tenant, k) == victim_group][:4] + \
                [k for k in keys if ring.group_for(tenant, k) != victim_group][:4]
            recorders.append(Recorder(f"load-{index}", run, [n.url for n in nodes], token, tenant, keys, index))
        for recorder in recorders:
            recorder.start()
        wait_until(lambda: oks_on(recorders, victim_group) >= 40, 60, 0.05, "load on the victim group")

        nemesis = HistoryWriter(run / "history" / "nemesis-test.jsonl")
        before = observe(nodes).groups[victim_group]
        killed, old_term = before.leader, before.term
        assert killed, before
        op = nemesis.invoke("nemesis", "kill-leader", value={"node": killed, "group": victim_group})
        cluster.kill_node(killed)
        nemesis.complete("ok", "nemesis", op, "kill-leader", value={"node": killed, "group": victim_group})
        survivors = [n for n in nodes if n.group == victim_group and n.name != killed]
        wait_until(lambda: any(node_status(http, n, 0.5).get("role") == "leader"
                               and node_status(http, n, 0.5).get("term", 0) > old_term for n in survivors),
                   30, 0.05, "a new leader")
        resumed = oks_on(recorders, victim_group)
        wait_until(lambda: oks_on(recorders, victim_group) >= resumed + 20, 60, 0.05, "writes to resume")

        op = nemesis.invoke("nemesis", "restart-node", value={"node": killed, "heal": True})
        cluster.start_node(killed)
        wait_until(lambda: observe(nodes).healthy(), 60, 0.1, f"{killed} to rejoin")
        nemesis.complete("ok", "nemesis", op, "restart-node", value={"node": killed, "heal": True})
        killed = None
        healed = oks_on(recorders, victim_group)
        wait_until(lambda: oks_on(recorders, victim_group) >= healed + 20, 60, 0.05, "load after the heal")
        nemesis.close()
    finally:
        for recorder in recorders:
            recorder.stop_flag.set()
        for recorder in recorders:
            recorder.join(timeout=15)
        if killed:
            cluster.start_node(killed)
    try:
        # isolation probes (tenant 0 addressing tenant 1's keys) and the final read of every key
        probe = recorders[0]
        other_tenant = tenants[1][0]
        for index, key in enumerate(recorders[1].keys[:3]):
            process = f"probe-{index}"
            op = probe.history.invoke(process, "get", key=key, tenant=other_tenant, cross_tenant=True,
                                      caller=tenants[0][0])
            answer = probe.clients[0].get(key, tenant=other_tenant)
            probe.history.complete("ok" if answer.ok else "fail", process, op, "get", key=key, tenant=other_tenant,
                                   cross_tenant=True, status=answer.status, error=answer.code,
                                   value=answer.body.get("value"))
        for recorder in recorders:
            for key in recorder.keys:
                wait_until(lambda r=recorder, k=key: r.call(f"{r.name}-final", "get", k, client=r.clients[0]) == "ok",
                           60, 0.1, f"the final read of {key}")
    finally:
        for recorder in recorders:
            recorder.close()
        sampler.stop()
    (run / "logs").mkdir()
    for name, path in cluster.log_files().items():
        shutil.copyfile(path, run / "logs" / f"{name}.log")
    (run / "metrics").mkdir()
    for node in nodes:
        (run / "metrics" / f"{node.name}.prom").write_text(http.get(node.url + "/metrics").text)
    return run


def render(page: Path, tmp_path: Path) -> dict:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}")
    options.page_load_strategy = "none"  # return at once; the poll below waits (the page inlines 4.6 MB of JS)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.command_executor.client_config.timeout = 600  # seconds per driver command: a busy 2-core machine
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(30)
    try:
        driver.get(page.as_uri())
        script = """
            const plots = [...document.querySelectorAll('.js-plotly-plot')];
            return {plots: plots.map(p => p.id), traces: plots.map(p => (p.data || []).length),
                    svgs: plots.map(p => p.querySelectorAll('.main-svg').length),
                    shapes: plots.map(p => ((p.layout || {}).shapes || []).length),
                    plotly: typeof window.Plotly};"""
        state = wait_until(lambda: (lambda s: s if len(s["plots"]) == 3 and all(s["svgs"]) else None)(
            driver.execute_script(script)), 150, 0.5, "the dashboard's plots to render")
        driver.save_screenshot(str(tmp_path / "dashboard.png"))
        return state
    finally:
        driver.quit()


@pytest.mark.timeout(900)  # ~40 s on a quiet machine; minutes when other suites load the 2 cores
def test_real_run_with_leader_kill_is_analyzed(recorded_run, tmp_path):
    run = recorded_run
    done = subprocess.run([sys.executable, "-m", "tier7", "analyze", str(run)], capture_output=True, text=True,
                          cwd=ROOT, timeout=180)
    print(done.stdout, done.stderr)
    assert done.returncode in (0, 1), done.stderr
    document = json.loads((run / "analysis.json").read_text())
    verdicts = {v["name"]: v for v in document["verdicts"]}
    assert verdicts["linearizability"]["status"] == "PASS", verdicts["linearizability"]
    assert verdicts["linearizability"]["figures"]["operations"] > 300
    assert verdicts["no-lost-writes"]["status"] == "PASS", verdicts["no-lost-writes"]
    assert verdicts["placement"]["status"] == "PASS", verdicts["placement"]
    assert verdicts["tenant-isolation"]["status"] == "PASS", verdicts["tenant-isolation"]
    kills = [r for r in document["metrics"]["outage"] if r["targeted"]]
    assert len(kills) == 1 and kills[0]["group"] == "g0" and kills[0]["recovered"], kills
    assert 0 < kills[0]["outage_s"] < 10
    elections = [r for r in document["metrics"]["elections"] if r["group"] == "g0"]
    assert elections and elections[0]["leader_was_target"] and 0 < elections[0]["election_s"] < 10
    assert done.returncode == (1 if any(v["status"] == "FAIL" for v in verdicts.values()) else 0)
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium/chromedriver not installed (scripts/install-system-deps.sh): dashboard not rendered")
    state = render(run / "dashboard.html", tmp_path)
    assert state["plots"] == ["timeline", "outage", "latency"] and state["plotly"] == "object"
    assert state["traces"][0] >= 6 and state["traces"][1] >= 1, state
    assert state["shapes"][0] >= 1, "the fault window is shaded"

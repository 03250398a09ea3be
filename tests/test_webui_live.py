"""Issue 17 items 2 and 3, through the web UI's own HTTP calls (no browser; the browser test is
tests/test_load_webui.py): while a START creates its tenants the page shows "setting up (tenants n/N)",
never the start form; STOP finishes the run folder and the page names it and `tier7 analyze`; each START
is a run folder of its own; the Host field is the target (an edited list of endpoints is loaded, a
non-loopback one refused with a message on the page)."""

from __future__ import annotations

import json
import re

import httpx

from bench._webui import WebUI
from tests.load_support import processes_mentioning
from tier7.waiting import wait_until


def test_setup_state_run_folders_and_host_field(cluster, tmp_path):
    ui = WebUI(cluster.cluster_file, tmp_path / "run", tmp_path / "locust.log", tenants=300,
               env={"TIER7_ADMIN_TOKEN": cluster.admin_token()})
    try:
        ui.wait_ready()
        assert ui.status()["phase"] == "idle" and ui.state() == "ready"
        assert ui.start(2, 2)["success"]
        states: list[str] = []

        def running() -> bool:
            states.append(ui.state())
            return states[-1] in ("running", "spawning")

        wait_until(running, 120, 0.02, "the users to run after the tenants' setup")
        setup = [s for s in states if s.startswith("setting up")]
        assert setup, f"no 'setting up' state shown while 301 tenants were created: {sorted(set(states))}"
        # on a loaded machine the 301 creations may all fall between two polls: the counts seen must name
        # the right total, and the progress the page reads from must have counted every tenant
        counts = [tuple(map(int, m.groups())) for s in setup if (m := re.search(r"tenants (\d+)/(\d+)", s))]
        assert all(total == 301 for _, total in counts), setup
        assert ui.status()["setup"] == [301, 301], ui.status()
        assert "ready" not in states and "stopped" not in states, "the page fell back to the start form"
        first = ui.wait_phase(("running",), 10)
        users = wait_until(lambda: (row := httpx.get(f"{ui.url}/tier7/topology", timeout=5).json()[0])
                           .get("members") == "2 in all" and row, 30, 0.2, "the topology tab to count 2 users")
        assert users["group"] == "users" and "per region:" in users["leader"], users
        assert json.loads((cluster.dir / "live-run.json").read_text())["run_dir"] == str((tmp_path / "run").resolve())
        ui.stop_swarm()
        done = ui.wait_phase(("finished",), 300)
        assert done["analyze"] and done["analyze"].endswith(first["run_dir"]) and "tier7 analyze" in done["message"]
        info = json.loads((tmp_path / "run" / "run.json").read_text())
        assert info["ended_wall"] is not None and info["final_read"]["keys"] > 0
        assert (tmp_path / "run" / "logs").is_dir() and not (cluster.dir / "live-run.json").exists()

        # the Host field edited to g0's nodes only: that is the target of the next START, in its own folder
        g0 = ",".join(n.url for n in cluster.nodes() if n.group == "g0")
        assert ui.start(2, 2, host=g0, tenants=5)["success"]
        second = ui.wait_phase(("running",), 60)
        assert second["run_dir"].endswith("run-2")
        target = json.loads((tmp_path / "run-2" / "run.json").read_text())["target"]
        assert (target["kind"], target["source"], target["nodes"]) == ("endpoints", g0, 3), target
        ui.stop_swarm()
        ui.wait_phase(("finished",), 300)

        # a Host that is not loopback is refused, on the page, and the page does not hang in "setting up"
        assert ui.start(2, 2, host="http://192.0.2.1:8080", tenants=5)["success"]
        refused = wait_until(lambda: (s := ui.status()).get("error") and s, 30, 0.2, "the refusal")
        assert "loopback" in refused["message"], refused
        wait_until(lambda: ui.state() == "stopped", 30, 0.2, "the run to stop")
        assert httpx.get(ui.url + "/", timeout=5).text.count("tier7-status") >= 1  # the status line is on the page
    finally:
        code = ui.stop()
    assert code is not None
    assert processes_mentioning(str(tmp_path / "run")) == [], "processes left running"

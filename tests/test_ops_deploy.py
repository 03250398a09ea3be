"""Issue 15: the nightly workflow, the systemd units and docker-compose.yml validate offline (no daemon)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly-soak.yml"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_TARGET = ROOT / "deploy" / "compose" / "target.toml"


def readme_commands() -> set[str]:
    """`make X` commands the README shows in its code blocks."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    return {m.group(0) for b in blocks for m in re.finditer(r"^make [a-z]+", b, re.M)}


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_workflow_parses_runs_nightly_and_uses_the_readme_commands() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as True
    assert re.fullmatch(r"[\d*/,-]+( [\d*/,-]+){4}", triggers["schedule"][0]["cron"])
    steps = flow["jobs"]["soak"]["steps"]
    commands = [s["run"].split('"')[0].strip() for s in steps if "run" in s]
    makes = {" ".join(c.split()[:2]) for c in commands}
    readme = readme_commands()
    assert {"make install", "make soak", "make trends"} <= makes, makes
    assert makes <= readme, f"workflow commands missing from README: {makes - readme}"
    assert {c.split()[1] for c in readme} <= make_targets()  # every README command exists in the Makefile
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "trends.html" in uploads[0]["with"]["path"] and "-soak/" in uploads[0]["with"]["path"]
    assert uploads[0]["if"] == "always()"


def test_systemd_units_parse_and_name_real_commands() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy/systemd/tier7-soak.service").read_text())
    service = unit["Service"]
    assert service["Type"] == "oneshot" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 240  # the soak's rollback + safety net need the time
    assert "tier7 soak --duration" in service["ExecStart"]
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read_string((ROOT / "deploy/systemd/tier7-soak.timer").read_text())
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    from tier7.cli import build_parser

    argv = service["ExecStart"].split("tier7 ", 1)[1].replace("${DURATION}", "8h").split()
    assert build_parser().parse_args(argv).command == "soak"


def compose_tool() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    done = subprocess.run(["docker", "compose", "version"], capture_output=True) if shutil.which("docker") else None
    if done is not None and done.returncode == 0:
        return ["docker", "compose"]
    pytest.skip("no docker-compose (scripts/install-system-deps.sh installs Debian's docker-compose)")


def test_compose_file_validates_and_the_target_file_matches_it() -> None:
    tool = compose_tool()
    done = subprocess.run([*tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    target = tomllib.loads(COMPOSE_TARGET.read_text())
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            published[int(port["published"]) if isinstance(port, dict) else int(str(port).split(":")[-2])] = name
    for node in target["nodes"]:
        assert node["name"] in services, node["name"]
        port = int(node["url"].rsplit(":", 1)[1])
        assert published.get(port) == node["name"], (node, published)
        assert node["region"] in services[node["name"]]["networks"]  # regions as networks
    for command in target["operator"].values():
        assert "{node}" in command and "docker-compose.yml" in command
    assert services["toxiproxy"]["image"].startswith("ghcr.io/shopify/toxiproxy:")
    assert set(services["toxiproxy"]["networks"]) == {n["region"] for n in target["nodes"]}
    for service in services.values():  # every named volume a service mounts is declared
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            assert source.startswith(("/", ".")) or source in config["volumes"], source
    assert {"locust-master", "locust-worker", "verify"} <= set(services)


def test_compose_target_file_opens_as_a_contract_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from tier7.targets.http import HttpTarget

    monkeypatch.setenv("TIER7_ADMIN_TOKEN", "t")
    target = HttpTarget.from_file(COMPOSE_TARGET)
    assert len(target.nodes()) == 9 and {"kill", "start", "pause", "resume"} <= set(target.operator)


def test_compose_cluster_files_route_regions_through_toxiproxy(tmp_path: Path) -> None:
    import json
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "deploy/compose/make_cluster.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    cluster = json.loads((tmp_path / "cluster.json").read_text())
    proxies = json.loads((tmp_path / "toxiproxy.json").read_text())
    names = {n["name"] for n in cluster["nodes"]}
    assert names == set(yaml.safe_load(COMPOSE.read_text())["services"]) - {
        "init", "toxiproxy", "locust-master", "locust-worker", "verify"}
    assert proxies and all(p["upstream"].split(":")[0] in names for p in proxies)
    assert all(link["listen"].startswith("toxiproxy:") for link in cluster["geo"]["links"])

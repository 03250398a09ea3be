"""Issue 15: deploy/k8s renders with kustomize (no cluster) and every object matches the Kubernetes API
schema as the official Python client's models describe it; experiments/k8s/ pass `chaos validate`'s check.

What is validated: kustomize rendering (`kubectl kustomize`), every field name and value type of every
rendered object against the client's models (unknown fields are errors, required fields must be set),
references between objects (services/claims/config maps/service accounts a pod names exist), and the
experiments' syntax and semantics (chaoslib's ensure_experiment_is_valid, what `chaos validate` runs: every
Python activity importable, arguments matching). Not run: anything against a live API server (admission,
defaulting, CRDs such as Chaos Mesh's NetworkChaos), image pulls, scheduling.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
MODEL_OF_KIND = {"Namespace": "V1Namespace", "ServiceAccount": "V1ServiceAccount", "Role": "V1Role",
                 "RoleBinding": "V1RoleBinding", "ConfigMap": "V1ConfigMap", "Service": "V1Service",
                 "PersistentVolumeClaim": "V1PersistentVolumeClaim", "StatefulSet": "V1StatefulSet",
                 "Deployment": "V1Deployment", "Job": "V1Job", "CronJob": "V1CronJob"}
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object,
              "datetime": (str, datetime.datetime), "date": str, "bytes": str}


def schema_problems(value: Any, kind: str, where: str) -> list[str]:
    """Field names and types of ``value`` against the kubernetes client model/type ``kind``."""
    import kubernetes.client.models as models

    if kind.lower().startswith("list["):
        inner = kind[5:-1]
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [p for i, item in enumerate(value) for p in schema_problems(item, inner, f"{where}[{i}]")]
    if kind.lower().startswith(("dict(", "dict[")):
        inner = kind[5:-1].split(", ", 1)[1]
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        return [p for k, item in value.items() for p in schema_problems(item, inner, f"{where}.{k}")]
    if kind in PRIMITIVES:
        if kind == "object" or isinstance(value, PRIMITIVES[kind]):
            return []
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    model = getattr(models, kind)
    if not isinstance(value, dict):
        return [f"{where}: expected a {kind} mapping"]
    by_json = {j: a for a, j in model.attribute_map.items()}
    problems = [f"{where}.{k}: unknown field for {kind}" for k in value if k not in by_json]
    for key, item in value.items():
        if key in by_json:
            problems += schema_problems(item, model.openapi_types[by_json[key]], f"{where}.{key}")
    if not problems:  # required fields: the model's constructor refuses None for them
        from kubernetes.client import ApiClient

        try:
            ApiClient()._ApiClient__deserialize(value, kind)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return problems


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("no kubectl (scripts/install-system-deps.sh installs Debian's kubernetes-client)")
    done = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_every_rendered_object_matches_the_api_schema(rendered: list[dict[str, Any]]) -> None:
    pytest.importorskip("kubernetes")
    problems = []
    for doc in rendered:
        assert doc["kind"] in MODEL_OF_KIND, doc["kind"]
        problems += schema_problems(doc, MODEL_OF_KIND[doc["kind"]], f"{doc['kind']}/{doc['metadata']['name']}")
    assert not problems, problems


def test_the_schema_check_catches_a_misspelt_field() -> None:
    pytest.importorskip("kubernetes")
    bad = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"},
           "spec": {"replicas": "three", "serviceName": "x", "selector": {}, "template": {"spec": {
               "containers": [{"name": "c", "imagePullPolicy": "Always", "comand": ["x"]}]}}}}
    problems = schema_problems(bad, "V1StatefulSet", "bad")
    assert any("comand: unknown field" in p for p in problems) and any("replicas: expected int" in p for p in problems)


def test_groups_services_harness_and_references(rendered: list[dict[str, Any]]) -> None:
    objects = {(d["kind"], d["metadata"]["name"]): d for d in rendered}
    assert all(d["metadata"].get("namespace", "tier7") == "tier7" for d in rendered)
    for group in ("g0", "g1", "g2"):
        sts = objects[("StatefulSet", group)]
        assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == group
        assert objects[("Service", group)]["spec"]["clusterIP"] == "None"  # headless
    assert {("Deployment", "locust-master"), ("Deployment", "locust-worker"), ("Job", "tier7-verify"),
            ("CronJob", "tier7-nightly-soak")} <= set(objects)
    config_maps = {n for k, n in objects if k == "ConfigMap"}
    for doc in rendered:
        spec = doc.get("spec", {})
        pod = (spec.get("jobTemplate", {}).get("spec", spec).get("template") or {}).get("spec")
        if not pod:
            continue
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in objects
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps  # kustomize's hashed name
        if "serviceAccountName" in pod:
            assert ("ServiceAccount", pod["serviceAccountName"]) in objects
    cron = objects[("CronJob", "tier7-nightly-soak")]["spec"]
    assert "tier7 soak" in json.dumps(cron) and "tier7 trends" in json.dumps(cron)


def test_k8s_target_file_matches_the_pods() -> None:
    import tomllib

    from chaos.k8s import pod_of

    target = tomllib.loads((K8S / "target.toml").read_text())
    forward = (K8S / "forward.sh").read_text()
    assert re.search(r"for g in g0 g1 g2.*for i in 0 1 2", forward, re.S)
    for n, node in enumerate(target["nodes"], 1):  # forward.sh's order: node n on 127.0.0.1:18000+n
        assert node["url"] == f"http://127.0.0.1:{18000 + n}"
        assert pod_of(node["name"]) == f"{node['group']}-{(n - 1) % 3}"


@pytest.mark.parametrize("path", sorted((ROOT / "experiments" / "k8s").glob("*.json")), ids=lambda p: p.stem)
def test_k8s_experiments_validate(path: Path) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    from tier7.experiment_check import explain

    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)  # what `chaos validate` runs
    assert explain(experiment, path) is None
    modules = {a["provider"]["module"] for part in ("method", "rollbacks") for a in experiment.get(part, [])}
    assert any(m.startswith("chaosk8s") for m in modules), modules
    assert experiment["steady-state-hypothesis"] == json.loads(
        (ROOT / "experiments" / "kill-raft-leader.json").read_text())["steady-state-hypothesis"]
    assert any(c["name"] == "tier7-history" for c in experiment["controls"])

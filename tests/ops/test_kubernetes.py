"""Kubernetes manifests in ``deploy/kubernetes``, validated without a cluster or kubectl.

Every YAML document is checked against the small, strict JSON Schemas in ``tests/ops/schemas/``
(written for this project: each lists exactly the fields the manifests use, with
``additionalProperties: false``, so a typo such as ``readinesProbe`` is an error), then
cross-checked with the daemon itself: probe paths are routes of ``create_ops_app``, environment
names are settings, ports match ``HEALTH_PORT``, the grace period covers
``SHUTDOWN_TIMEOUT_SECONDS``.
Conventions: ``../shared/docs/peers-and-conventions.md`` §4.3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from starlette.routing import Route

from ethproofs_daemon.config import ENV_NAMES, Settings
from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.http.app import create_ops_app
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.store import Store

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
SCHEMAS = Path(__file__).with_name("schemas")
#: The supervision tree gives the prover SHUTDOWN_TIMEOUT_SECONDS + 15 s and the report drain up
#: to 10 s (``ethproofs_daemon/app.py::build_tree``); the pod's grace must cover that and more.
GRACE_MARGIN_S = 30


def _default(field: str) -> Any:
    return Settings.model_fields[field].default


def load_documents() -> dict[str, list[dict[str, Any]]]:
    """Every YAML file in ``deploy/kubernetes`` → its documents (comments and all parsed)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs, f"{path.name}: empty"
        out[path.name] = docs
    return out


def validator_for(kind: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry()
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    schema = json.loads((SCHEMAS / f"{kind}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def by_kind(kind: str) -> dict[str, Any]:
    found = [d for docs in load_documents().values() for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{kind}: expected one, found {len(found)}"
    return found[0]


def container() -> dict[str, Any]:
    containers = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    c: dict[str, Any] = containers[0]
    return c


def env_value(name: str) -> str | None:
    for var in container()["env"]:
        if var["name"] == name:
            return str(var["value"]) if "value" in var else None
    return None


def ops_routes(tmp_path: Path) -> set[str]:
    """The GET paths the daemon's ops app serves (its real route table)."""
    store = Store(tmp_path / "routes.sqlite")
    try:
        state = DaemonState(started_at=0.0)
        lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=lambda: 0.0)
        app = create_ops_app(store=store, lifecycle=lifecycle, state=state,
                             metrics=DaemonMetrics(store, state), stuck_threshold_s=60,
                             admin_token=None)
        return {r.path for r in app.routes if isinstance(r, Route)
                and "GET" in (r.methods or set())}
    finally:
        store.close()


def test_every_manifest_matches_its_schema() -> None:
    documents = load_documents()
    assert {"deployment.yaml", "service.yaml", "pvc.yaml", "secret.example.yaml",
            "servicemonitor.yaml", "kustomization.yaml"} <= set(documents)
    for name, docs in documents.items():
        for doc in docs:
            errors = sorted(validator_for(doc["kind"]).iter_errors(doc), key=str)
            assert not errors, f"{name}: " + "; ".join(
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schemas_reject_typos_and_unknown_fields() -> None:
    """The schemas are strict enough to catch the mistakes they are here for."""
    deployment = by_kind("Deployment")
    v = validator_for("Deployment")
    broken = json.loads(json.dumps(deployment))
    c = broken["spec"]["template"]["spec"]["containers"][0]
    c["readinesProbe"] = c.pop("readinessProbe")
    assert not v.is_valid(broken)
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = 4000
    assert not v.is_valid(broken)
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["volumes"][0]["emptyDir"] = {}
    assert not v.is_valid(broken)  # two volume sources


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = by_kind("Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.example.yaml"}
    for doc in (d for docs in load_documents().values() for d in docs):
        assert "namespace" not in doc.get("metadata", {}), "the kustomization sets it"


def test_probes_use_the_daemons_health_routes(tmp_path: Path) -> None:
    c = container()
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["startupProbe"]["httpGet"]["path"] == "/health/ready"
    routes = ops_routes(tmp_path)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["path"] in routes, (probe, routes)
        assert c[probe]["httpGet"]["port"] == "http"
    # Liveness gives up later than readiness (§4.3), and start-up has a long budget.
    live, ready, start = c["livenessProbe"], c["readinessProbe"], c["startupProbe"]
    assert (live["periodSeconds"] * live["failureThreshold"]
            > ready["periodSeconds"] * ready["failureThreshold"])
    assert start["periodSeconds"] * start["failureThreshold"] >= 120


def test_monitor_scrapes_the_metrics_route(tmp_path: Path) -> None:
    monitor = by_kind("ServiceMonitor")
    service = by_kind("Service")
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics" and "/metrics" in ops_routes(tmp_path)
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"][
        "labels"].items()


def test_ports_match_the_health_port() -> None:
    health_port = int(env_value("HEALTH_PORT") or _default("health_port"))
    assert health_port == _default("health_port") == 4000
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert ports == {"http": health_port}
    service = by_kind("Service")
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(4000, "http")]
    assert env_value("HEALTH_HOST") == "0.0.0.0"  # probes come from the kubelet, not loopback
    deployment = by_kind("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_env_names_are_settings_and_the_api_key_comes_from_a_secret() -> None:
    names = set(ENV_NAMES.values())
    env = container()["env"]
    assert len({v["name"] for v in env}) == len(env), "duplicate env names"
    for var in env:
        assert var["name"] in names, f"{var['name']} is not a setting of the daemon"
    by_name = {v["name"]: v for v in env}
    api_key = by_name["ETHPROOFS_API_KEY"]
    assert "value" not in api_key
    ref = api_key["valueFrom"]["secretKeyRef"]
    assert not ref.get("optional", False)
    secret = by_kind("Secret")
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    for secret_name in ("SLACK_WEBHOOK", "ADMIN_TOKEN"):
        if secret_name in by_name:
            assert "valueFrom" in by_name[secret_name], f"{secret_name} must come from a Secret"


def test_one_gpu_one_writer_and_a_grace_period_for_proofs() -> None:
    deployment = by_kind("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert container()["resources"]["limits"]["nvidia.com/gpu"] == 1
    shutdown = float(env_value("SHUTDOWN_TIMEOUT_SECONDS") or _default("shutdown_timeout_seconds"))
    assert shutdown >= _default("shutdown_timeout_seconds")
    assert pod["terminationGracePeriodSeconds"] >= shutdown + GRACE_MARGIN_S
    assert container()["command"] == ["ethproofs-daemon", "run"]  # exec form: PID 1 gets SIGTERM


def test_state_output_and_shm_volumes() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    pvc = by_kind("PersistentVolumeClaim")
    data = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert data == pvc["metadata"]["name"]
    for setting in ("STATE_DIR", "OUTPUT_DIR"):
        path = env_value(setting)
        assert path is not None and Path(path).is_relative_to(mounts["data"]), setting
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert mounts["dshm"] == "/dev/shm"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_kustomize_builds_when_kubectl_is_present() -> None:
    """Optional extra (the checks above need no kubectl): ``kubectl kustomize`` runs offline."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed; the schema checks above do not need it")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(result.stdout) if d)
    assert kinds == ["Deployment", "Namespace", "PersistentVolumeClaim", "Service",
                     "ServiceMonitor"]
    assert all(d["metadata"].get("namespace", "ethproofs") == "ethproofs"
               for d in yaml.safe_load_all(result.stdout) if d)

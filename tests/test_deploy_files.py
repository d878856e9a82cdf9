"""The cluster deployment examples in ``deploy/`` (compose, ``k8s/``, ``systemd/``) parse, name
only settings the daemon knows, and agree on ports: the coordinator's client port 7000 (the
daemon), its cluster port 50051 (the workers), its /health on 9090, the daemon's 4000."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ethproofs_daemon.config import ProverBackendKind, Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"

#: Settings the lead is adding with the coordinator backend (issue 13); allowed before they exist.
COORDINATOR_BACKEND = "zisk-coordinator"  # PROVER_BACKEND=zisk-coordinator

API_PORT, CLUSTER_PORT, METRICS_PORT, DAEMON_PORT = 7000, 50051, 9090, 4000
COORDINATOR_ENV = {"ZISK_COORDINATOR_API_PORT": str(API_PORT),
                   "ZISK_COORDINATOR_CLUSTER_PORT": str(CLUSTER_PORT),
                   "ZISK_COORDINATOR_METRICS_PORT": str(METRICS_PORT)}


def known_names() -> set[str]:
    return {info.alias or name.upper() for name, info in Settings.model_fields.items()}


def yaml_files() -> list[Path]:
    return [COMPOSE, *sorted(K8S.glob("*.yaml"))]


def k8s_docs() -> list[dict[str, Any]]:
    return [d for path in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text())
            if d is not None]


def k8s_by(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} documents"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def check_daemon_env(env: dict[str, str]) -> None:
    unknown = set(env) - known_names()
    assert not unknown, f"not settings of the daemon: {sorted(unknown)}"
    backends = {str(k) for k in ProverBackendKind}
    assert env["PROVER_BACKEND"] == COORDINATOR_BACKEND and env["PROVER_BACKEND"] in backends
    url = urlsplit(env["ZISK_COORDINATOR_URL"])
    assert (url.scheme, url.hostname, url.port) == ("http", "coordinator", API_PORT)
    assert env["HEALTH_PORT"] == str(DAEMON_PORT) and env["HEALTH_HOST"] == "0.0.0.0"
    assert int(env["MAX_CONCURRENT_PROOFS"]) >= 1


# --- every file -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.name)
def test_every_yaml_file_parses_and_cites_the_docs_it_follows(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs)
    header = path.read_text().split("\n\n")[0]
    assert "zisk-coordinator.md §5" in header


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.name)
def test_image_names_are_placeholders_the_operator_sets(path: Path) -> None:
    text = path.read_text()
    images = re.findall(r"^\s*image:\s*(\S+)", text, re.M)
    assert not images or "placeholder" in text
    for image in images:
        assert "REPLACE-ME" in image or image.startswith("${"), image


@pytest.mark.parametrize("path", sorted(SYSTEMD.glob("*.service")), ids=lambda p: p.name)
def test_systemd_units_cite_the_docs_and_mark_their_own_paths(path: Path) -> None:
    header = path.read_text().split("[Unit]")[0]
    assert "zisk-coordinator.md §5" in header and "this example's choice" in header


# --- docker compose ---------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return result


def test_compose_daemon_names_only_known_settings_and_points_at_the_coordinator_api() -> None:
    services = compose()["services"]
    daemon = services["daemon"]
    check_daemon_env({k: str(v) for k, v in daemon["environment"].items()})
    assert daemon["ports"] == [f"127.0.0.1:{DAEMON_PORT}:{DAEMON_PORT}"]
    assert f"127.0.0.1:{DAEMON_PORT}/health/ready" in " ".join(daemon["healthcheck"]["test"])
    coordinator = services["coordinator"]
    assert coordinator["environment"].items() >= COORDINATOR_ENV.items()
    assert f"{CLUSTER_PORT}:{CLUSTER_PORT}" in coordinator["ports"]
    assert f"localhost:{METRICS_PORT}/health" in " ".join(coordinator["healthcheck"]["test"])


def test_compose_runs_one_worker_per_gpu_with_shm_and_unlimited_memlock() -> None:
    workers = {n: s for n, s in compose()["services"].items() if n.startswith("worker-")}
    assert len(workers) == 2
    device_ids = []
    for service in workers.values():
        command = service["command"]
        assert command[0] == "zisk-worker" and "--gpu" in command
        url = urlsplit(command[command.index("--coordinator-url") + 1])
        assert (url.hostname, url.port) == ("coordinator", CLUSTER_PORT)
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        device_ids += device["device_ids"]
        assert service["shm_size"] == "32gb" and service["ulimits"]["memlock"] == -1
    assert sorted(device_ids) == ["0", "1"]


# --- Kubernetes -------------------------------------------------------------------------------

def test_k8s_coordinator_service_exposes_the_api_and_cluster_ports() -> None:
    deployment = k8s_by("Deployment", "zisk-coordinator")
    c = container(deployment)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"api": API_PORT, "cluster": CLUSTER_PORT, "metrics": METRICS_PORT}
    assert {e["name"]: e["value"] for e in c["env"]}.items() >= COORDINATOR_ENV.items()
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "metrics"}
    service = k8s_by("Service", "coordinator")
    by_port = {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}
    assert by_port[API_PORT] == "api" and by_port[CLUSTER_PORT] == "cluster"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_k8s_workers_take_one_gpu_each_with_memory_backed_shm() -> None:
    workers = k8s_by("StatefulSet", "zisk-worker")
    c = container(workers)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    args = c["args"]
    url = urlsplit(args[args.index("--coordinator-url") + 1])
    assert (url.hostname, url.port) == ("coordinator", CLUSTER_PORT) and "--gpu" in args
    volumes = {v["name"]: v for v in workers["spec"]["template"]["spec"]["volumes"]}
    shm = next(m for m in c["volumeMounts"] if m["mountPath"] == "/dev/shm")
    assert volumes[shm["name"]]["emptyDir"]["medium"] == "Memory"
    assert "memlock" in (K8S / "workers.yaml").read_text().split("apiVersion")[0]


def test_k8s_daemon_names_only_known_settings_probes_its_port_and_keeps_state_on_a_pvc() -> None:
    deployment = k8s_by("Deployment", "ethproofs-daemon")
    c = container(deployment)
    check_daemon_env({e["name"]: e.get("value", "") for e in c["env"]})
    assert c["ports"] == [{"name": "http", "containerPort": DAEMON_PORT, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    state_dir = next(e["value"] for e in c["env"] if e["name"] == "STATE_DIR")
    (mount,) = c["volumeMounts"]
    assert state_dir.startswith(mount["mountPath"] + "/")
    (volume,) = deployment["spec"]["template"]["spec"]["volumes"]
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert k8s_by("PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    service = k8s_by("Service", "ethproofs-daemon")
    assert [p["port"] for p in service["spec"]["ports"]] == [DAEMON_PORT]


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests


# --- systemd ----------------------------------------------------------------------------------

def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as section → key → values (systemd keys may repeat, e.g. ``Environment``).

    Raises:
        AssertionError: a line outside a section or without ``=``.
    """
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unit["Service"].get("Environment", []))


@pytest.mark.parametrize("name", ["zisk-coordinator.service", "zisk-worker@.service"])
def test_systemd_units_have_the_sections_and_keys_of_the_upstream_unit(name: str) -> None:
    unit = read_unit(SYSTEMD / name)
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    for key, value in (("User", "zisk"), ("WorkingDirectory", "/var/lib/zisk"),
                       ("LimitMEMLOCK", "infinity"), ("Restart", "on-failure"),
                       ("Nice", "-10")):
        assert service[key] == [value], key
    assert environment(unit)["ZISK_CACHE_DIR"] == "/var/lib/zisk/cache"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert len(service["ExecStart"]) == 1


def test_the_coordinator_unit_sets_the_three_ports() -> None:
    unit = read_unit(SYSTEMD / "zisk-coordinator.service")
    assert environment(unit).items() >= COORDINATOR_ENV.items()
    assert unit["Service"]["ExecStart"][0].split()[0].endswith("/zisk-coordinator")


def test_the_worker_template_pins_its_gpu_and_joins_the_cluster_port() -> None:
    unit = read_unit(SYSTEMD / "zisk-worker@.service")
    env = environment(unit)
    assert env["CUDA_VISIBLE_DEVICES"] == "%i"
    argv = unit["Service"]["ExecStart"][0].split()
    assert argv[0].endswith("/zisk-worker") and "--gpu" in argv
    url = argv[argv.index("-c") + 1]
    assert url == "${COORDINATOR_URL}"
    assert urlsplit(env["COORDINATOR_URL"]).port == CLUSTER_PORT
    assert argv[argv.index("--worker-id") + 1] == "gpu%i"

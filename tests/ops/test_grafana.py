"""The Grafana dashboard ``deploy/grafana/ethproofs-daemon.json`` queries only what the daemon
exports.

The exported names come from the daemon itself: ``/metrics`` of the real daemon process (no GPU
here) and, for the NVML gauges, the daemon's ``DaemonMetrics`` rendered in-process with a stand-in
``pynvml`` module (NVML needs an NVIDIA driver). Both are parsed with prometheus-client's parser;
a histogram ``x`` exports ``x_bucket``/``x_sum``/``x_count``, a counter ``x`` exports ``x_total``
(prometheus.io/docs/instrumenting/exposition_formats).
"""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.store import Store
from tests.daemon_process import daemon_process
from tests.standins.replay_node import ReplayState, run_replay_node

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "ethproofs-daemon.json"
GPU_NAMES = frozenset({"ethproofs_daemon_gpu_utilization_ratio",
                       "ethproofs_daemon_gpu_memory_used_bytes",
                       "ethproofs_daemon_gpu_temperature_celsius"})
#: PromQL words that are not metric names (prometheus.io/docs/prometheus/latest/querying/).
PROMQL_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                          "and", "or", "unless", "offset", "inf", "nan", "le"})


def exported_series(text: str) -> set[str]:
    """Series names a scrape of ``text`` can contain, from each family's declared type (a
    labelled counter with no child yet still declares its ``_total`` series)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
        elif family.type == "gauge" and not family.name.endswith("_created"):
            names.add(family.name)
        names.update(s.name for s in family.samples if not s.name.endswith("_created"))
    return names


def fake_pynvml() -> types.ModuleType:
    """A stand-in for nvidia-ml-py with one GPU (the calls ``metrics.nvml_metrics`` makes)."""
    nvml = types.ModuleType("pynvml")
    attrs: dict[str, Any] = {
        "nvmlInit": lambda: None,
        "nvmlDeviceGetCount": lambda: 1,
        "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlDeviceGetUtilizationRates": lambda h: types.SimpleNamespace(gpu=87, memory=40),
        "nvmlDeviceGetMemoryInfo": lambda h: types.SimpleNamespace(used=30 << 30, total=80 << 30),
        "nvmlDeviceGetTemperature": lambda h, sensor: 71,
    }
    for name, value in attrs.items():
        setattr(nvml, name, value)
    return nvml


@pytest.fixture
def in_process_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``/metrics`` text of a ``DaemonMetrics`` over a real store, with the stand-in NVML."""
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())
    store = Store(tmp_path / "metrics.sqlite")
    try:
        yield DaemonMetrics(store, DaemonState(started_at=0.0)).render().decode()
    finally:
        store.close()


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in doc["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def expressions(doc: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(doc) for t in p.get("targets", [])]
    for var in doc["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["definition"])
    return exprs


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that name series: without strings, label matchers,
    ranges, Grafana variables, grouping clauses, function calls and keywords."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", "", s)
    s = re.sub(r"\[[^\]]*\]", "", s)
    s = re.sub(r"\$\{?\w+\}?", "", s)
    s = re.sub(r"\b\d+(\.\d+)?[a-z]*\b", "", s)  # numbers and durations (5m)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", s)
    s = re.sub(r"\b(label_values)\s*\(([^,]*),[^)]*\)", r"\2", s)  # Grafana variable query
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        if s[m.end():].lstrip().startswith("(") or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def test_metric_name_extraction() -> None:
    expr = ('histogram_quantile(0.9, sum by (le) (rate(a_bucket{instance=~"$instance", '
            'x="by(y)"}[$__rate_interval]))) / on (job) b_total offset 5m')
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_dashboard_is_valid_grafana_json() -> None:
    doc = dashboard()
    assert doc["uid"] == "ethproofs-daemon" and doc["title"]
    assert isinstance(doc["schemaVersion"], int) and doc["schemaVersion"] >= 36
    all_panels = panels(doc)
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in all_panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["targets"] and p["datasource"]["uid"] == "${datasource}", p["title"]
            assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_every_expression_uses_only_exported_metrics(
    tmp_path: Path, in_process_metrics: str
) -> None:
    exported = exported_series(in_process_metrics)
    assert exported >= GPU_NAMES, "the stand-in NVML should make the GPU gauges appear"
    used: set[str] = set()
    for expr in expressions(dashboard()):
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        unknown = names - exported
        assert not unknown, f"{expr!r} uses {sorted(unknown)}, not exported by the daemon"
        used |= names
    # The subjects: throughput, lag, proving-time distribution, failures, EthProofs
    # outcomes, GPU, process memory.
    for needed in ("ethproofs_daemon_proving_duration_seconds_bucket",
                   "ethproofs_daemon_proving_duration_seconds_count",
                   "ethproofs_daemon_proved_lag_blocks",
                   "ethproofs_daemon_job_failures_total",
                   "ethproofs_daemon_ethproofs_requests_total",
                   "ethproofs_daemon_process_resident_memory_bytes",
                   *GPU_NAMES):
        assert needed in used, needed
    quantiles = [e for e in expressions(dashboard()) if "histogram_quantile" in e]
    assert any("proving_duration_seconds_bucket" in e for e in quantiles)


async def test_the_running_daemon_exports_the_dashboards_metrics(tmp_path: Path) -> None:
    """The same check against ``/metrics`` of the real daemon process (no GPU here, so the NVML
    gauges are absent, as documented: absent, not an error)."""
    async with run_replay_node(ReplayState()) as rpc_url:
        env = {"ETH_RPC_URL": rpc_url, "PROVER_BACKEND": "simulated",
               "STATE_DIR": str(tmp_path / "state"), "OUTPUT_DIR": str(tmp_path / "output")}
        async with daemon_process(env, tmp_path) as daemon:
            reply = await daemon.get("/metrics")
            assert reply.status_code == 200
            assert await daemon.stop() == 0
    exported = exported_series(reply.text)
    for expr in expressions(dashboard()):
        unknown = metric_names(expr) - exported - GPU_NAMES
        assert not unknown, f"{expr!r} uses {sorted(unknown)}"

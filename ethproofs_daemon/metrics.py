"""Prometheus metrics, one registry per daemon (tests stay isolated).

Names follow prometheus.io/docs/practices/naming: prefix ``ethproofs_daemon_``, units in names
(``_seconds``, ``_bytes``, ``_total``), no block numbers as labels. Gauges that mirror state (jobs
by state, head, lag) are computed at scrape time from the store and the actors' status objects,
so they can never drift from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE
from ethproofs_daemon.store import Store

PREFIX: Final = "ethproofs_daemon"

_PROVING_BUCKETS: Final = (10, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200)
_FAST_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_SIZE_BUCKETS: Final = tuple(float(2**k) for k in range(10, 31, 2))
_CYCLE_BUCKETS: Final = (1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 3e11)


class _StateCollector(Collector):
    def __init__(self, store: Store, state: DaemonState, gpu: Callable[[], list[Metric]]) -> None:
        self.store = store
        self.state = state
        self.gpu = gpu

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Jobs by lifecycle state.", labels=["state"])
        for state, n in self.store.count_by_state().items():
            jobs.add_metric([str(state)], n)
        yield jobs
        reports = GaugeMetricFamily(f"{PREFIX}_reports", "Outbox rows by status.",
                                    labels=["status"])
        for status, n in self.store.count_reports().items():
            reports.add_metric([str(status)], n)
        yield reports
        f = self.state.follower
        head = f.head
        yield _gauge("chain_head_block", "Latest block number seen from the node.", head)
        yield _gauge("last_target_block", "Latest target block seen.", f.last_target_seen)
        proved = self.store.last_proved(DEFAULT_PROOF_TYPE)
        last = proved.block_number if proved else None
        yield _gauge("last_proved_block", "Highest block proved.", last)
        lag = None if head is None or last is None else max(0, head - last)
        yield _gauge("proved_lag_blocks", "Chain head minus the highest proved block.", lag)
        yield _gauge("rpc_up", "1 when the last head poll succeeded.", int(f.rpc_ok))
        yield _gauge("skipped_targets", "Targets older than the look-back window, skipped.",
                     f.skipped_targets)
        p = self.state.prover
        yield _gauge("prover_busy", "1 while a proving subprocess runs.",
                     int(p.current_block is not None))
        yield _gauge("proofs_in_flight", "Proofs running now (at most MAX_CONCURRENT_PROOFS).",
                     len(p.in_flight))
        if p.backend_reachable is not None:
            yield _gauge("coordinator_up", "1 when the ZisK coordinator answered the last call.",
                         int(p.backend_reachable))
        for key, value in self.state.proof_node.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield _gauge(f"proof_node_{key}", f"Proof Node API {key}.", value)
        yield from self.gpu()


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    g = GaugeMetricFamily(f"{PREFIX}_{name}", doc)
    if value is not None:
        g.add_metric([], value)
    return g


def nvml_metrics() -> list[Metric]:
    """GPU utilisation (ratio), memory used (bytes) and temperature (°C) per GPU via NVML;
    an empty list where there is no NVIDIA driver or no ``nvidia-ml-py`` (absent, not an error)."""
    try:
        import pynvml  # type: ignore[import-not-found, unused-ignore]

        pynvml.nvmlInit()
    except Exception:  # no library, no driver, no GPU: the metrics are simply absent
        return []
    util = GaugeMetricFamily(f"{PREFIX}_gpu_utilization_ratio", "GPU utilisation.", labels=["gpu"])
    mem = GaugeMetricFamily(f"{PREFIX}_gpu_memory_used_bytes", "GPU memory used.", labels=["gpu"])
    temp = GaugeMetricFamily(f"{PREFIX}_gpu_temperature_celsius", "GPU temperature.",
                             labels=["gpu"])
    for i in range(pynvml.nvmlDeviceGetCount()):
        h = pynvml.nvmlDeviceGetHandleByIndex(i)
        util.add_metric([str(i)], pynvml.nvmlDeviceGetUtilizationRates(h).gpu / 100.0)
        mem.add_metric([str(i)], pynvml.nvmlDeviceGetMemoryInfo(h).used)
        temp.add_metric([str(i)], pynvml.nvmlDeviceGetTemperature(h, 0))
    return [util, mem, temp]


class DaemonMetrics:
    """Every metric of one daemon in its own ``CollectorRegistry``."""

    def __init__(self, store: Store, state: DaemonState) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.proving_duration = Histogram(
            f"{PREFIX}_proving_duration_seconds", "Prover's own proving time per block.",
            buckets=_PROVING_BUCKETS, registry=r)
        self.proving_cycles = Histogram(
            f"{PREFIX}_proving_cycles", "Executed steps (cycles) per proved block.",
            buckets=_CYCLE_BUCKETS, registry=r)
        self.input_build_duration = Histogram(
            f"{PREFIX}_input_build_duration_seconds",
            "Fetch + verify + build of one guest input.", buckets=_FAST_BUCKETS, registry=r)
        self.witness_fetch_duration = Histogram(
            f"{PREFIX}_witness_fetch_duration_seconds",
            "Fetching (or synthesizing) one execution witness.", buckets=_FAST_BUCKETS,
            registry=r)
        self.input_size = Histogram(
            f"{PREFIX}_input_size_bytes", "Guest input size.", buckets=_SIZE_BUCKETS, registry=r)
        self.proof_size = Histogram(
            f"{PREFIX}_proof_size_bytes", "Proof file size.", buckets=_SIZE_BUCKETS, registry=r)
        self.ethproofs_requests = Counter(
            f"{PREFIX}_ethproofs_requests", "EthProofs API requests by endpoint and outcome.",
            ["endpoint", "outcome"], registry=r)
        self.retries = Counter(
            f"{PREFIX}_job_retries", "Failed jobs scheduled for another attempt, by reason.",
            ["reason"], registry=r)
        self.job_failures = Counter(
            f"{PREFIX}_job_failures", "Job failures by reason.", ["reason"], registry=r)
        self.supervisor_restarts = Counter(
            f"{PREFIX}_supervisor_restarts", "Child restarts by supervisor and child.",
            ["supervisor", "child"], registry=r)
        self.prover_exits = Counter(
            f"{PREFIX}_prover_exits", "Prover subprocess ends by reason (ok or failure reason).",
            ["reason"], registry=r)
        self.reorgs = Counter(
            f"{PREFIX}_reorgs", "Jobs sent back to be rebuilt because the block their input was "
            "built from left the chain, by check point (before_proving, before_recording).",
            ["check_point"], registry=r)
        self.proof_node_requests = Counter(
            f"{PREFIX}_proof_node_requests", "Proof Node API requests by route and status.",
            ["route", "status"], registry=r)
        ProcessCollector(namespace=PREFIX, registry=r)
        r.register(_StateCollector(store, state, nvml_metrics))

    def job_failed(self, reason: str, *, retrying: bool) -> None:
        """Count one job failure by reason, and the retry it was given, if any."""
        self.job_failures.labels(reason).inc()
        if retrying:
            self.retries.labels(reason).inc()

    def render(self) -> bytes:
        """The registry in Prometheus text format 0.0.4."""
        return generate_latest(self.registry)

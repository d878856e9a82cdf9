"""Health of the daemon: the ``/health`` document and the readiness/liveness answers.

Computed from the values passed in, with one exception: ``health_document`` reads this process's
memory and thread count (``psutil``) for its ``system`` part. ``is_ready`` and ``is_live`` are pure.

Shape after the original client's README (lambdaclass/ethrex-ethproofs@b45cda3:README.md, "Health
Endpoint"): ``status`` ``healthy`` (200) / ``degraded`` (503: the prover has run past
``PROVER_STUCK_THRESHOLD_SECONDS``, the ZisK coordinator is unreachable, the node's RPC is
failing, or the input generator warns, e.g.
the node serves no execution witnesses) / ``unhealthy`` (503: the store or a component is down),
``timestamp`` (RFC 3339 UTC), ``uptime_seconds``, ``components`` and ``system``.

Liveness follows the event loop (a heartbeat task), not the prover: a slow proof is not a dead
daemon. Readiness: the store is open, HTTP is bound and the supervision tree is up.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Final

import psutil

from ethproofs_daemon.jobs import JobState
from ethproofs_daemon.status import FollowerStatus, ProverStatus

#: A heartbeat older than this (seconds) means the event loop is stuck.
LIVENESS_MAX_AGE_S: Final = 10.0


@dataclass
class DaemonState:
    """Shared, read-mostly state the HTTP layer reports. Times are Unix seconds.

    ``store_open`` is the outcome of the store child's last write probe (``store_error`` its
    error while it fails), not only whether the file was opened once."""

    started_at: float
    follower: FollowerStatus = field(default_factory=FollowerStatus)
    prover: ProverStatus = field(default_factory=ProverStatus)
    heartbeat_at: float = 0.0
    store_open: bool = False
    store_error: str | None = None
    http_bound: bool = False
    tree_up: bool = False
    components_up: dict[str, bool] = field(default_factory=dict)
    reporting_enabled: bool = False
    proof_node: dict[str, object] = field(default_factory=dict)


def iso(ts: float | None) -> str | None:
    """Unix seconds → RFC 3339 UTC with ``Z`` (None stays None)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def health_document(
    state: DaemonState,
    counts: dict[JobState, int],
    queued_blocks: list[int],
    pending_reports: int,
    *,
    now: float,
    stuck_threshold_s: float,
) -> tuple[int, dict[str, object]]:
    """Build the ``GET /health`` answer.

    Args:
        state: the daemon's shared state (component flags, follower and prover status).
        counts: jobs by state (every state present, as ``Store.count_by_state``).
        queued_blocks: block numbers of queued jobs, in the prover's order.
        pending_reports: outbox rows not yet delivered.
        now: Unix seconds.
        stuck_threshold_s: seconds of proving after which the prover is "potentially_stuck".

    Returns:
        ``(http_status, document)``: 200 when ``healthy``, else 503; the document is JSON-ready.
    """
    prover = state.prover
    proving_s = None if prover.proving_since is None else round(now - prover.proving_since, 1)
    stuck = proving_s is not None and proving_s > stuck_threshold_s
    prover_doc: dict[str, object] = {
        "status": "up" if state.components_up.get("prover", False) else "down",
        "state": f"proving_{prover.current_block}" if prover.current_block is not None
        else "idle",
        "version": prover.version,
        "phase": prover.phase,
        "queue_length": counts[JobState.QUEUED],
        "queued_blocks": queued_blocks,
        "proving_since": iso(prover.proving_since),
        "proving_duration_seconds": proving_s,
        "proved_count": prover.proved_count,
        "failed_count": prover.failed_count,
        "last_failure": prover.last_failure,
        "reorg_count": prover.reorg_count,
        "last_reorg": prover.last_reorg,
    }
    prover_doc["slots"] = prover.slots
    prover_doc["in_flight"] = in_flight_list(prover, now)
    coordinator_down = prover.backend_reachable is False
    if prover.backend_reachable is not None:
        prover_doc["coordinator"] = {"reachable": prover.backend_reachable,
                                     "last_error": prover.backend_error}
    if stuck:
        prover_doc["warning"] = "potentially_stuck"
    elif coordinator_down:
        prover_doc["warning"] = "coordinator_unreachable"
    f = state.follower
    generator_doc: dict[str, object] = {
        "status": "up" if state.components_up.get("input_generator", False) else "down",
        "state": "fetching" if counts[JobState.FETCHING] else "idle",
        "queue_length": counts[JobState.DETECTED],
        "processed_count": f.prepared_count,
        "head": f.head,
        "head_seen_at": iso(f.head_seen_at),
        "untrusted_head": f.untrusted_head,
        "last_target_seen": f.last_target_seen,
        "next_target": f.next_target,
        "rpc": {"ok": f.rpc_ok, "failing_since": iso(f.rpc_failing_since),
                "last_error": f.rpc_last_error},
        "skipped_targets": f.skipped_targets,
        "warnings": list(f.warnings),
    }
    components: dict[str, object] = {
        "store": {"status": "up" if state.store_open else "down", "error": state.store_error},
        "prover": prover_doc,
        "input_generator": generator_doc,
        "reporter": {
            "status": "up" if state.components_up.get("reporter", False) else "down",
            "enabled": state.reporting_enabled,
            "pending_reports": pending_reports,
        },
        "jobs": {str(k): v for k, v in counts.items()},
    }
    if state.proof_node:
        components["proof_node_api"] = dict(state.proof_node)
    down = not state.store_open or any(
        not state.components_up.get(name, False)
        for name in ("prover", "input_generator", "reporter")
    )
    degraded = stuck or coordinator_down or bool(f.warnings) or not f.rpc_ok
    status = "unhealthy" if down else "degraded" if degraded else "healthy"
    proc = psutil.Process(os.getpid())
    doc: dict[str, object] = {
        "status": status,
        "timestamp": iso(now),
        "uptime_seconds": int(now - state.started_at),
        "components": components,
        "system": {
            "rss_memory_mb": round(proc.memory_info().rss / 2**20, 1),
            "threads": proc.num_threads(),
            "pid": proc.pid,
        },
    }
    return (200 if status == "healthy" else 503), doc


def in_flight_list(prover: ProverStatus, now: float) -> list[dict[str, object]]:
    """Every proof in flight, oldest first, as JSON-ready values (``/health``, admin status):
    block, job id, kind, phase, the coordinator's job id, since (RFC 3339), seconds so far."""
    return [
        {"block_number": p.block_number, "job_id": p.job_id, "kind": p.kind, "phase": p.phase,
         "prover_job_id": p.prover_job_id, "since": iso(p.since),
         "duration_seconds": round(now - p.since, 1)}
        for p in sorted(prover.in_flight.values(), key=lambda p: p.since)
    ]


def is_ready(state: DaemonState) -> bool:
    """Ready: store open, HTTP bound, supervision tree up."""
    return state.store_open and state.http_bound and state.tree_up


def is_live(state: DaemonState, now: float) -> bool:
    """Live: the event loop's heartbeat is younger than ``LIVENESS_MAX_AGE_S``."""
    return now - state.heartbeat_at <= LIVENESS_MAX_AGE_S

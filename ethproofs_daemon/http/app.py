"""The operations HTTP app: ``/health*``, ``/metrics``, the admin API and the status page.

Admin endpoints (used by ``ethproofs-daemon enqueue`` and ``status``):

- ``GET /admin/status``: counts by state, the current proof, recent jobs (JSON).
- ``GET /admin/jobs/{block_number}``: one block's job and its reports.
- ``POST /admin/jobs`` ``{"blocks": [int, ...], "priority": int}``: enqueue blocks (any block,
  not only targets); ``201`` with the jobs.
- ``POST /admin/jobs/{block_number}/retry``: put a failed job back in line.

Mutations are refused (403) from non-loopback clients unless ``ADMIN_TOKEN`` is configured and
sent as ``Authorization: Bearer <token>``; a wrong token is 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ethproofs_daemon.health import DaemonState, health_document, is_live, is_ready
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, JobState, TransitionError
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.outbox import ReportStatus
from ethproofs_daemon.store import Store, job_to_dict

MAX_ENQUEUE: Final = 1000
STATUS_PAGE: Final = Path(__file__).with_name("status_page.html")


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_ops_app(
    *,
    store: Store,
    lifecycle: Lifecycle,
    state: DaemonState,
    metrics: DaemonMetrics,
    stuck_threshold_s: float,
    admin_token: str | None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the app. Reads go to ``store``; the admin mutations are ``lifecycle`` verbs
    (``detected``, ``operator_retry``).

    Args:
        store: read for ``/health``, ``/admin/*``.
        lifecycle: what the admin mutations call.
        state: the daemon's shared state (health, current proof, head).
        metrics: rendered at ``/metrics``.
        stuck_threshold_s: seconds of proving after which ``/health`` reports the prover
            "potentially_stuck".
        admin_token: the ``ADMIN_TOKEN``; None allows mutations from loopback only.
        clock: Unix seconds.
    """

    def authorize(request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if admin_token is not None and header:
            sent = header.removeprefix("Bearer ").strip()
            if hmac.compare_digest(sent.encode(), admin_token.encode()):
                return None
            return JSONResponse({"error": "invalid admin token"}, status_code=401)
        if _is_loopback(request):
            return None
        return JSONResponse(
            {"error": "admin mutations are allowed from loopback only, "
                      "or with ADMIN_TOKEN sent as a Bearer token"}, status_code=403)

    async def health(request: Request) -> Response:
        queued = [j.block_number for j in store.jobs_in([JobState.QUEUED], limit=50)]
        status, doc = health_document(
            state, store.count_by_state(), queued, store.count_reports()[ReportStatus.PENDING],
            now=clock(), stuck_threshold_s=stuck_threshold_s,
        )
        return JSONResponse(doc, status_code=status)

    async def ready(request: Request) -> Response:
        ok = is_ready(state)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    async def live(request: Request) -> Response:
        ok = is_live(state, clock())
        return JSONResponse({"live": ok}, status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def admin_status(request: Request) -> Response:
        limit = min(200, int(request.query_params.get("limit", "20")))
        p = state.prover
        return JSONResponse({
            "counts": {str(k): v for k, v in store.count_by_state().items()},
            "reports": {str(k): v for k, v in store.count_reports().items()},
            "current": None if p.current_block is None else {
                "block_number": p.current_block, "job_id": p.current_job_id,
                "kind": p.current_kind, "since": p.proving_since, "phase": p.phase,
            },
            "queued": [j.block_number for j in store.jobs_in([JobState.QUEUED], limit=100)],
            "head": state.follower.head,
            "recent": [job_to_dict(j) for j in store.recent_jobs(limit)],
        })

    async def admin_job(request: Request) -> Response:
        block = int(request.path_params["block_number"])
        job = store.job_for_block(block, DEFAULT_PROOF_TYPE)
        if job is None:
            return JSONResponse({"error": f"no job for block {block}"}, status_code=404)
        reports = [{"kind": r.kind, "status": r.status, "attempts": r.attempts,
                    "last_error": r.last_error} for r in store.reports_for_block(block)]
        return JSONResponse({"job": job_to_dict(job), "reports": reports})

    async def admin_enqueue(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.body())
            blocks = body["blocks"]
            priority = int(body.get("priority", 0))
            if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_ENQUEUE:
                raise ValueError(f"blocks must be a list of 1..{MAX_ENQUEUE} block numbers")
            numbers = [int(b) for b in blocks]
            if any(isinstance(b, bool) or int(b) < 0 for b in blocks):
                raise ValueError("block numbers must be non-negative integers")
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"invalid body: {exc}"}, status_code=400)
        out = []
        for n in numbers:
            job, created = lifecycle.detected(n, DEFAULT_PROOF_TYPE, source="admin",
                                              priority=priority)
            out.append({"block_number": n, "created": created, "state": job.state})
        return JSONResponse({"jobs": out}, status_code=201)

    async def admin_retry(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        block = int(request.path_params["block_number"])
        job = store.job_for_block(block, DEFAULT_PROOF_TYPE)
        no_failed_job = JSONResponse({"error": f"block {block} has no failed job"},
                                     status_code=409)
        if job is None or job.state is not JobState.FAILED:
            return no_failed_job
        try:
            lifecycle.operator_retry(job)
        except TransitionError:  # it left ``failed`` after it was read
            return no_failed_job
        return JSONResponse({"block_number": block, "retry": True})

    async def status_page(request: Request) -> Response:
        return HTMLResponse(STATUS_PAGE.read_text(encoding="utf-8"))

    return Starlette(routes=[
        Route("/health", health),
        Route("/health/ready", ready),
        Route("/health/live", live),
        Route("/metrics", metrics_endpoint),
        Route("/admin/status", admin_status),
        Route("/admin/jobs", admin_enqueue, methods=["POST"]),
        Route("/admin/jobs/{block_number:int}", admin_job),
        Route("/admin/jobs/{block_number:int}/retry", admin_retry, methods=["POST"]),
        Route("/", status_page),
    ])

"""The operations HTTP app: ``/health*``, ``/metrics``, the admin API and the status page.

Admin endpoints (used by ``ethproofs-daemon enqueue`` and ``status``):

- ``GET /admin/status``: counts by state, the current proof, recent jobs (JSON).
- ``GET /admin/jobs/{block_number}``: one block's job and its reports.
- ``POST /admin/jobs`` ``{"blocks": [int, ...], "priority": int}``: enqueue blocks (any block,
  not only targets); ``201`` with the jobs.
- ``POST /admin/jobs/{block_number}/retry``: put a failed job back in line.

Mutations are for the operator's own tools, never for a web page a local browser opens:

- ``Content-Type: application/json`` or 415 (a cross-site form or ``no-cors`` fetch cannot send
  it without a CORS preflight, which this app never grants);
- an ``Origin`` header, when present, must be the server's own origin, else 403;
- the ``Host`` header must name one of ``allowed_hosts`` (``ADMIN_ALLOWED_HOSTS``), else 403:
  a DNS-rebinding page reaches 127.0.0.1 under its own name;
- clients other than exactly 127.0.0.1 and ::1 (a local proxy or sidecar such as 127.0.0.6, a
  remote operator) need ``ADMIN_TOKEN`` sent as ``Authorization: Bearer <token>``: 403 without it
  (or when none is configured), 401 with a wrong one.

Query values are bounded: ``limit`` is 1..``MAX_LIMIT``; a bad value is 400 with a JSON error.
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
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ethproofs_daemon.config import DEFAULT_ADMIN_HOSTS
from ethproofs_daemon.health import (
    DaemonState,
    health_document,
    in_flight_list,
    is_live,
    is_ready,
)
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, JobState, TransitionError
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.node.rpc import json_too_deep
from ethproofs_daemon.outbox import ReportStatus
from ethproofs_daemon.store import Store, job_to_dict

MAX_ENQUEUE: Final = 1000
#: Deepest JSON nesting accepted in an admin body (``{"blocks": [...]}`` nests 2 deep).
MAX_BODY_DEPTH: Final = 32
#: Bounds of the ``limit`` query value of ``/admin/status`` and ``/admin/jobs/{n}``.
MAX_LIMIT: Final = 1000
#: Block numbers are SQLite integers (signed 64-bit).
MAX_BLOCK_NUMBER: Final = 2**63 - 1
#: The clients trusted without ``ADMIN_TOKEN``: the loopback addresses themselves, not the rest
#: of 127.0.0.0/8 (a sidecar proxy such as Istio's connects from 127.0.0.6).
TRUSTED_CLIENTS: Final = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
STATUS_PAGE: Final = Path(__file__).with_name("status_page.html")


class BadQuery(ValueError):
    """A query or path value out of bounds; the message is the 400 body's ``error``."""


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, lower case, without port or IPv6 brackets
    (``[::1]:4000`` → ``::1``, ``Localhost:4000`` → ``localhost``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host  # a bare name, or an unbracketed IPv6 address


def parse_limit(raw: str | None, default: int) -> int:
    """``raw`` (a query value) as a limit in 1..``MAX_LIMIT``; None gives ``default``.

    Raises:
        BadQuery: not a decimal integer, or out of bounds.
    """
    if raw is None:
        return default
    # Length first: CPython's int() refuses strings past 4300 digits (a ValueError, a 500).
    if (not raw.isdecimal() or len(raw.lstrip("0")) > len(str(MAX_LIMIT))
            or not 1 <= int(raw) <= MAX_LIMIT):
        raise BadQuery(f"limit must be an integer from 1 to {MAX_LIMIT} (got {raw[:20]!r})")
    return int(raw)


class BlockNumberConvertor(Convertor[int]):
    """The ``{block_number:block}`` path value: decimal digits. A value with more significant
    digits than 2^63 - 1 converts to ``MAX_BLOCK_NUMBER + 1`` (refused by ``_block_number`` with
    400) instead of going through ``int()``, which CPython refuses past 4300 digits (a 500)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        digits = value.lstrip("0")
        if len(digits) > len(str(MAX_BLOCK_NUMBER)):
            return MAX_BLOCK_NUMBER + 1
        return int(digits or "0")

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("block", BlockNumberConvertor())


def _block_number(request: Request) -> int:
    block = int(request.path_params["block_number"])
    if block > MAX_BLOCK_NUMBER:
        raise BadQuery(f"block number must be at most {MAX_BLOCK_NUMBER}")
    return block


def _is_trusted_client(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host)) in TRUSTED_CLIENTS
    except ValueError:
        return False


def cross_site_refusal(request: Request, allowed_hosts: frozenset[str]) -> Response | None:
    """The 403/415 for a mutation a browser could have sent on a web page's behalf, or None.

    Args:
        request: the mutation.
        allowed_hosts: ``Host`` names accepted (as ``host_name`` gives them).
    """
    host_header = request.headers.get("host", "")
    if host_name(host_header) not in allowed_hosts:
        return _error(f"Host {host_header[:100]!r} is not one of ADMIN_ALLOWED_HOSTS", 403)
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != f"{request.url.scheme}://{host_header}".lower():
        return _error(f"cross-origin admin requests are refused (Origin {origin[:100]!r})", 403)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return _error("admin mutations need Content-Type: application/json", 415)
    return None


def create_ops_app(
    *,
    store: Store,
    lifecycle: Lifecycle,
    state: DaemonState,
    metrics: DaemonMetrics,
    stuck_threshold_s: float,
    admin_token: str | None,
    allowed_hosts: frozenset[str] = frozenset(DEFAULT_ADMIN_HOSTS),
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
        admin_token: the ``ADMIN_TOKEN``; None allows mutations from 127.0.0.1 and ::1 only.
        allowed_hosts: ``Host`` names mutations are accepted for (``Settings.admin_hosts``).
        clock: Unix seconds.
    """

    def authorize(request: Request) -> Response | None:
        refused = cross_site_refusal(request, allowed_hosts)
        if refused is not None:
            return refused
        header = request.headers.get("authorization", "")
        if admin_token is not None and header:
            sent = header.removeprefix("Bearer ").strip()
            if hmac.compare_digest(sent.encode(), admin_token.encode()):
                return None
            return _error("invalid admin token", 401)
        if _is_trusted_client(request):
            return None
        return _error("admin mutations are allowed from 127.0.0.1 and ::1 only, "
                      "or with ADMIN_TOKEN sent as a Bearer token", 403)

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
        try:
            limit = parse_limit(request.query_params.get("limit"), default=20)
        except BadQuery as exc:
            return _error(str(exc), 400)
        p = state.prover
        return JSONResponse({
            "counts": {str(k): v for k, v in store.count_by_state().items()},
            "reports": {str(k): v for k, v in store.count_reports().items()},
            "current": None if p.current_block is None else {
                "block_number": p.current_block, "job_id": p.current_job_id,
                "kind": p.current_kind, "since": p.proving_since, "phase": p.phase,
            },
            "in_flight": in_flight_list(p, time.time()),
            "queued": [j.block_number for j in store.jobs_in([JobState.QUEUED], limit=100)],
            "head": state.follower.head,
            "recent": [job_to_dict(j) for j in store.recent_jobs(limit)],
        })

    async def admin_job(request: Request) -> Response:
        try:
            block = _block_number(request)
            limit = parse_limit(request.query_params.get("limit"), default=MAX_LIMIT)
        except BadQuery as exc:
            return _error(str(exc), 400)
        job = store.job_for_block(block, DEFAULT_PROOF_TYPE)
        if job is None:
            return JSONResponse({"error": f"no job for block {block}"}, status_code=404)
        reports = [{"kind": r.kind, "status": r.status, "attempts": r.attempts,
                    "last_error": r.last_error} for r in store.reports_for_block(block)[:limit]]
        return JSONResponse({"job": job_to_dict(job), "reports": reports})

    async def admin_enqueue(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        raw = await request.body()
        if json_too_deep(raw, MAX_BODY_DEPTH):
            # Before json.loads, which recurses in C per level (RecursionError, or a C stack
            # overflow when a library has raised the recursion limit).
            return JSONResponse({"error": "invalid body: JSON nested too deep"}, status_code=400)
        try:
            body = json.loads(raw)
            blocks = body["blocks"]
            priority = int(body.get("priority", 0))
            if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_ENQUEUE:
                raise ValueError(f"blocks must be a list of 1..{MAX_ENQUEUE} block numbers")
            numbers = [int(b) for b in blocks]
            if any(isinstance(b, bool) or not 0 <= int(b) <= MAX_BLOCK_NUMBER for b in blocks):
                raise ValueError(f"block numbers must be integers from 0 to {MAX_BLOCK_NUMBER}")
            if not -MAX_BLOCK_NUMBER <= priority <= MAX_BLOCK_NUMBER:
                raise ValueError("priority is out of range")
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
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
        try:
            block = _block_number(request)
        except BadQuery as exc:
            return _error(str(exc), 400)
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
        Route("/admin/jobs/{block_number:block}", admin_job),
        Route("/admin/jobs/{block_number:block}/retry", admin_retry, methods=["POST"]),
        Route("/", status_page),
    ])

"""The Proof Node API as a starlette app (spec: eth-act/zkboost@9be2085d:openapi.json).

Routes (behaviour of the reference server, zkboost at the same commit,
``crates/server/src/http/v1/``):

- ``POST /v1/execution_proof_requests?proof_types=a,b`` body: SSZ ``NewPayloadRequest``
  → 200 ``{"new_payload_request_root": "0x…"}``; 400 ``{code, message}`` for a missing, empty,
  duplicate, unknown or unconfigured type and for an invalid or oversized body (checked in
  zkboost's order, ``http/v1/post_execution_proof_requests.rs``); 500 when the service is not
  running.
- ``GET /v1/execution_proof_requests[?new_payload_request_root=0x…]``: SSE, events
  ``proof_complete`` / ``proof_failure``, a ``:`` comment every ``keepalive_s``; with a root,
  first the catch-up (cached proofs, remembered failures), then live events for that root,
  without duplicates of what the catch-up sent.
- ``GET /v1/execution_proofs/{root}/{proof_type}``: raw bytes (``application/octet-stream``) or
  404 ``proof not found for root 0x… and type X`` (also for a malformed root or unknown type).
- ``POST /v1/execution_proof_verifications?new_payload_request_root=&proof_type=`` body: proof
  bytes → 200 ``{"status": "VALID"|"INVALID"}``; 404 ``unknown proof_type: X``; 400 malformed
  query.
- ``GET /v1/proof_types`` → ``{"proof_types": [{proof_type, kind, can_prove, can_verify}]}``.
- Anything else: 404 ``route not found`` / 405, JSON ``{code, message}`` like every error.

Limits and access (``ProofNodeSettings``): a body past ``max_body_bytes`` is answered 413 (a
``Content-Length`` past it before any byte is read, a chunked body as soon as it passes it); every
body is decoded in a worker thread, at most ``max_decodes`` at once; past ``max_subscribers`` open
SSE streams a new one is answered 503; with a ``token``, every route needs
``Authorization: Bearer <token>`` (401 otherwise; this app has no health route, the daemon's
``/health`` is on the ops server).

``serve_proof_node`` serves the app with hypercorn's trio worker on
``settings.host:settings.port`` (default ``127.0.0.1``; port 0: any free port), reports the bound
``http://host:port`` URLs through ``task_status`` and serves until cancelled or until
``shutdown_trigger`` returns (hypercorn then waits ``graceful_timeout_s`` for open requests; SSE
streams end when the service's ``run`` ends).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Final

import structlog
import trio
from hypercorn.trio import serve
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ethproofs_daemon.http.server import MAX_IN_FLIGHT, hypercorn_config, limit_in_flight
from ethproofs_daemon.ssz import DecodedNewPayloadRequest, SszError, decode_new_payload_request

from .backend import VerificationBusy
from .events import ProofEvent
from .public_values import VerificationUnconfirmed
from .service import HASH256_RE, ProofNodeService, ServiceNotRunning, UnknownProofType
from .settings import KNOWN_PROOF_TYPES

log = structlog.get_logger(__name__)

#: Idle keep-alive connections are closed after this (s): hypercorn's default.
PROOF_NODE_KEEP_ALIVE_S: Final = 5.0


#: Decodes an SSZ ``NewPayloadRequest`` body (``decode_new_payload_request``'s signature); runs in
#: a worker thread.
Decoder = Callable[..., DecodedNewPayloadRequest]


class ApiError(Exception):
    """An error answer: ``status`` and ``message`` become ``{"code", "message"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> JSONResponse:
    """``{"code": status, "message": message}`` with that HTTP status."""
    return JSONResponse({"code": status, "message": message}, status_code=status)


def parse_proof_types(raw: str | None, configured: tuple[str, ...]) -> list[str]:
    """Validate ``proof_types`` as zkboost does (``http/v1/post_execution_proof_requests.rs``):
    split on ``,``, trim, known names, non-empty, no duplicates, configured here. Pure.

    Returns:
        The proof type names, in request order.

    Raises:
        ApiError: 400 with zkboost's message for the first problem found.
    """
    if raw is None:
        raise ApiError(400, "Failed to deserialize query string: missing field `proof_types`")
    names = [part.strip() for part in raw.split(",")] if raw.strip() else []
    for name in names:
        if name not in KNOWN_PROOF_TYPES:
            raise ApiError(
                400,
                f"Failed to deserialize query string: Unsupported proof type `{name}`, "
                f"expect one of [{', '.join(KNOWN_PROOF_TYPES)}]",
            )
    if not names:
        raise ApiError(400, "empty proof types in request")
    if len(set(names)) != len(names):
        raise ApiError(400, "duplicate proof types in request")
    for name in names:
        if name not in configured:
            raise ApiError(400, f"no zkVM configured for proof type '{name}'")
    return names


def parse_root(raw: str | None, *, name: str = "new_payload_request_root") -> bytes:
    """A ``Hash256`` query value (``0x`` + 64 lower-case hex) as 32 bytes.

    Raises:
        ApiError: 400 when ``raw`` is missing or malformed (``name`` is the parameter's name).
    """
    if raw is None:
        raise ApiError(400, f"Failed to deserialize query string: missing field `{name}`")
    if not HASH256_RE.fullmatch(raw):
        raise ApiError(400, f"invalid {name} {raw[:80]!r}: expected 0x and 64 lower-case hex")
    return bytes.fromhex(raw[2:])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read while counting bytes.

    Raises:
        ApiError: 413 when ``Content-Length`` passes ``limit`` bytes (before reading), or as
            soon as the bytes read pass it (chunked bodies); the rest is not read.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body of {declared} bytes exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:  # closed at once when refused
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"body exceeds {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _sse(event: ProofEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.data_json(), event=str(event.name), sep="\n")


_UNAUTHORIZED_BODY: Final = b'{"code":401,"message":"missing or invalid bearer token"}'


class RequireBearer:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401
    (``WWW-Authenticate: Bearer``, RFC 6750 §3) before the app sees them; compared in constant
    time; the token is never logged."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    given = value
                    break
            if not hmac.compare_digest(given, self._expected):
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(_UNAUTHORIZED_BODY)).encode()),
                ]})  # fmt: skip
                await send({"type": "http.response.body", "body": _UNAUTHORIZED_BODY})
                return
        await self.app(scope, receive, send)


def create_proof_node_app(
    service: ProofNodeService, *, decoder: Decoder = decode_new_payload_request
) -> Starlette:
    """The Proof Node API app for ``service`` (settings from ``service.settings``).

    Serve it with hypercorn's trio worker (``serve_proof_node``); handlers use trio.

    Args:
        service: the running proof node.
        decoder: decodes request bodies (in a worker thread, ``settings.max_decodes`` at once).
    """
    settings = service.settings
    decodes = trio.CapacityLimiter(settings.max_decodes)
    streams = 0  # SSE responses open (reserved when answered, released when they end)

    class CountedStream(EventSourceResponse):
        """An SSE response that gives its subscriber slot back when it ends, however."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal streams
            try:
                await super().__call__(scope, receive, send)
            finally:
                streams -= 1

    async def post_requests(request: Request) -> Response:
        types = parse_proof_types(request.query_params.get("proof_types"), settings.proof_types)
        for name in types:
            if not service.can_prove(name):
                raise ApiError(
                    400, f"proof generation not supported for verifier-only zkvm '{name}'"
                )
        body = await read_body(request, settings.max_body_bytes)
        try:
            decoded = await trio.to_thread.run_sync(
                lambda: decoder(
                    body, max_bytes=settings.max_body_bytes, gloas_enabled=settings.gloas_enabled
                ),
                limiter=decodes,
            )
        except SszError as exc:
            raise ApiError(400, f"invalid SSZ body: {exc}") from exc
        try:
            service.submit(decoded, types)
        except ServiceNotRunning as exc:
            raise ApiError(500, f"failed to enqueue proof: {exc}") from exc
        return JSONResponse({"new_payload_request_root": decoded.root_hex})

    async def get_requests(request: Request) -> Response:
        nonlocal streams
        raw = request.query_params.get("new_payload_request_root")
        root = None if raw is None else "0x" + parse_root(raw).hex()
        if streams >= settings.max_subscribers:
            log.warning("proof_node_subscriber_refused", max_subscribers=settings.max_subscribers)
            reply = error_response(503, f"too many subscribers ({settings.max_subscribers})")
            reply.headers["Retry-After"] = "5"
            return reply
        streams += 1  # released by CountedStream once it has run
        return CountedStream(
            proof_event_stream(service, root),
            ping=settings.keepalive_s,
            sep="\n",
            ping_message_factory=lambda: ServerSentEvent(comment="", sep="\n"),
            headers={"Cache-Control": "no-cache"},
        )

    async def get_proof(request: Request) -> Response:
        root = str(request.path_params["root"])
        proof_type = str(request.path_params["proof_type"])
        data = None
        if HASH256_RE.fullmatch(root) and proof_type in KNOWN_PROOF_TYPES:
            data = service.cache.get(root, proof_type)
        if data is None:
            raise ApiError(404, f"proof not found for root {root[:80]} and type {proof_type[:40]}")
        return Response(data, media_type="application/octet-stream")

    async def post_verification(request: Request) -> Response:
        root = parse_root(request.query_params.get("new_payload_request_root"))
        proof_type = request.query_params.get("proof_type")
        if proof_type is None:
            raise ApiError(400, "Failed to deserialize query string: missing field `proof_type`")
        if not service.can_verify(proof_type):
            raise ApiError(404, f"unknown proof_type: {proof_type[:40]}")
        proof = await read_body(request, settings.max_body_bytes)
        try:
            valid = await service.verify(proof_type=proof_type, proof=proof, root=root)
        except UnknownProofType as exc:
            raise ApiError(404, f"unknown proof_type: {proof_type[:40]}") from exc
        except VerificationUnconfirmed as exc:
            raise ApiError(501, f"cannot verify {proof_type[:40]} proofs here: {exc}") from exc
        except VerificationBusy as exc:
            raise ApiError(503, f"verifier busy: {exc}") from exc
        return JSONResponse({"status": "VALID" if valid else "INVALID"})

    async def get_proof_types(request: Request) -> Response:
        rows = [
            {"proof_type": p.proof_type, "kind": p.kind, "can_prove": p.can_prove,
             "can_verify": p.can_verify}
            for p in service.proof_types()
        ]  # fmt: skip
        return JSONResponse({"proof_types": rows})

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "route not found" if exc.status_code == 404 else str(exc.detail)
        reply = error_response(exc.status_code, message)
        if exc.headers:  # e.g. ``Allow`` on 405 (RFC 9110 §15.5.6)
            reply.headers.update(exc.headers)
        return reply

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        return error_response(400, "client disconnected while sending the body")

    async def on_server_error(request: Request, exc: Exception) -> Response:
        log.error("proof_node_request_failed", path=request.url.path, error=repr(exc))
        return error_response(500, "internal error")

    async def requests_endpoint(request: Request) -> Response:
        if request.method == "POST":
            return await post_requests(request)
        return await get_requests(request)

    routes = [  # one Route per path, so a 405 lists every allowed method
        Route("/v1/execution_proof_requests", requests_endpoint, methods=["GET", "POST"]),
        Route("/v1/execution_proofs/{root}/{proof_type}", get_proof, methods=["GET"]),
        Route("/v1/execution_proof_verifications", post_verification, methods=["POST"]),
        Route("/v1/proof_types", get_proof_types, methods=["GET"]),
    ]
    middleware = [] if settings.token is None else [Middleware(RequireBearer, token=settings.token)]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            ClientDisconnect: on_disconnect,
            500: on_server_error,
        },
    )


async def proof_event_stream(
    service: ProofNodeService, root: str | None
) -> AsyncIterator[ServerSentEvent]:
    """Subscribe, then catch up (root given), then live events; ends when the service stops.

    Subscribing before the snapshot leaves no gap; a live event equal to one the catch-up already
    sent is skipped once, so none is sent twice.
    """
    with service.hub.subscribe(root) as sub:
        sent: set[ProofEvent] = set()
        if root is not None:
            for event in service.catch_up(root):
                sent.add(event)
                yield _sse(event)
        async for event in sub.receive:
            if event in sent:
                sent.discard(event)
                continue
            yield _sse(event)


async def serve_proof_node(
    service: ProofNodeService,
    *,
    host: str | None = None,
    decoder: Decoder = decode_new_payload_request,
    shutdown_trigger: Callable[..., Awaitable[None]] | None = None,
    graceful_timeout_s: float = 3.0,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``create_proof_node_app(service)`` on ``host:service.settings.port``.

    See the module docstring; ``host`` defaults to ``service.settings.host``,
    ``task_status.started`` gets the bound URLs, and ``graceful_timeout_s`` is how long open
    requests get once ``shutdown_trigger`` returns.
    """
    app = create_proof_node_app(service, decoder=decoder)
    config = hypercorn_config(
        service.settings.host if host is None else host,
        service.settings.port,
        graceful_timeout_s=graceful_timeout_s,
        keep_alive_timeout_s=PROOF_NODE_KEEP_ALIVE_S,
        read_timeout_s=None,  # SSE subscribers send nothing after their request
        log_errors=False,
    )
    await serve(
        # Open SSE streams are requests in flight too: room for every subscriber beside the
        # ordinary requests, so the subscriber cap (503) is the one that applies to streams.
        limit_in_flight(app, MAX_IN_FLIGHT + service.settings.max_subscribers),
        config,
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )

"""A stand-in for the EthProofs API's proof status endpoints, faithful to the documented contract.

Contract: ``../shared/docs/ethproofs-api.md`` §1.2 (auth), §1.3 (rate limit), §1.5 (the three
routes), ethproofs/ethproofs@98b7a6f. Served by hypercorn's trio worker on 127.0.0.1, port 0.

Per request to ``POST /api/v0/proofs/{queued,proving,proved}``, in the real route's order:

1. Auth (``withAuth``): the token is ``Authorization.split(" ")[1]``; none → 401
   ``No API key provided``; unknown → 401 ``Invalid API key``.
2. Rate limit (``withRateLimit``, only when ``limit_per_minute`` is set: staging "fails open"):
   sliding 60 s window per key → 429 JSON ``{"error","message","retryAfter"}`` with
   ``Retry-After``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset``.
3. JSON parse; malformed → 500 ``Internal server error`` (the parse sits outside the try).
4. zod validation (strip mode: unknown fields dropped) → 400 ``Invalid request: <issues>``.
5. Cluster ``index`` of the key's team → 404 ``Cluster not found``; no version → 404
   ``Cluster version not found``.
6. queued/proving create the ``blocks`` row; ``proved`` does not, and with no row the FK insert
   fails → 500 ``Internal server error`` (the documented gotcha).
7. Already ``proved`` → 409 ``Proof already proved``; else upsert, 200 ``{"proof_id": n}``.
   Non-integer ``proving_time`` (DB ``integer``) or ``block_number`` (``bigint``) → 500.

Error bodies are plain text, as the real API's. Switches on ``EthProofsState`` inject failures
before any of that: ``fail_next_500``, ``fail_next_429`` (with ``retry_after``), ``fail_next_503``.
Every request is recorded in ``state.received`` in arrival order with the status answered.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.standins.serve import start_on_loopback

KINDS = ("queued", "proving", "proved")


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the stand-in saw it: endpoint ``kind``, the ``authorization`` and
    ``content_type`` headers, the parsed ``body`` (None when not JSON), the ``raw`` bytes, and the
    ``status`` it answered."""

    kind: str
    authorization: str | None
    content_type: str | None
    body: Any
    raw: bytes
    status: int
    at: float


@dataclass
class ProofRow:
    """The ``proofs`` row of (block, cluster version)."""

    proof_id: int
    status: str
    proving_time: int | None = None
    proving_cycles: int | None = None
    size_bytes: int | None = None


@dataclass
class EthProofsState:
    """What the stand-in knows and its failure switches (mutable from the test).

    ``keys`` maps API key → team id; ``clusters`` maps (team, cluster index) → number of
    cluster versions (0: "Cluster version not found"). Proofs key on (block, team, index, version).
    """

    keys: dict[str, int] = field(default_factory=lambda: {"test-key-0123456789abcdef": 1})
    clusters: dict[tuple[int, int], int] = field(default_factory=lambda: {(1, 7): 1})
    blocks: set[int] = field(default_factory=set)
    proofs: dict[tuple[int, int, int, int], ProofRow] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    fail_next_500: int = 0
    fail_next_503: int = 0
    fail_next_429: int = 0
    retry_after: str = "1"
    limit_per_minute: int | None = None
    _next_proof_id: int = 1
    _window: dict[str, list[float]] = field(default_factory=dict)

    def accepted(self, kind: str | None = None) -> list[Received]:
        """Requests answered 200 (optionally only ``kind``), in arrival order."""
        return [r for r in self.received if r.status == 200 and (kind is None or r.kind == kind)]

    def sequence(self) -> list[tuple[int, str]]:
        """``(block_number, kind)`` of every 200, in arrival order."""
        return [(int(r.body["block_number"]), r.kind) for r in self.accepted()]

    def statuses(self) -> list[int]:
        """Status of every request, in arrival order."""
        return [r.status for r in self.received]

    def proof_status(self, block_number: int, cluster_index: int, team: int = 1) -> str | None:
        """``queued``/``proving``/``proved`` of the block for the cluster's newest version."""
        versions = self.clusters.get((team, cluster_index), 0)
        row = self.proofs.get((block_number, team, cluster_index, versions))
        return row.status if row else None


def _zod_issue(path: str, message: str, code: str = "invalid_type", **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "path": [path], "message": message}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def validate(kind: str, body: Any) -> list[dict[str, Any]]:
    """zod issues for ``body`` against ``lib/zod/schemas/proof.ts`` (§1.5 table); [] when valid."""
    if not isinstance(body, dict):
        return [
            {
                "code": "invalid_type",
                "expected": "object",
                "received": _type_name(body),
                "path": [],
                "message": f"Expected object, received {_type_name(body)}",
            }
        ]
    issues: list[dict[str, Any]] = []

    def number(
        name: str,
        *,
        required: bool,
        positive: bool = False,
        integer: bool = False,
        min0: bool = False,
    ) -> None:
        if name not in body:  # zod .optional() accepts undefined, not null
            if required:
                issues.append(_zod_issue(name, "Required", expected="number", received="undefined"))
            return
        value = body[name]
        if not _is_number(value):
            received = _type_name(value)
            issues.append(
                _zod_issue(
                    name,
                    f"Expected number, received {received}",
                    expected="number",
                    received=received,
                )
            )
            return
        if integer and not float(value).is_integer():
            issues.append(
                _zod_issue(
                    name, "Expected integer, received float", expected="integer", received="float"
                )
            )
        if positive and value <= 0:
            issues.append(
                _zod_issue(
                    name,
                    "Number must be greater than 0",
                    code="too_small",
                    minimum=0,
                    type="number",
                    inclusive=False,
                    exact=False,
                )
            )
        if min0 and value < 0:
            issues.append(
                _zod_issue(
                    name,
                    "Number must be greater than or equal to 0",
                    code="too_small",
                    minimum=0,
                    type="number",
                    inclusive=True,
                    exact=False,
                )
            )

    def string(name: str, *, required: bool) -> None:
        if name not in body:  # zod .optional() accepts undefined, not null
            if required:
                issues.append(_zod_issue(name, "Required", expected="string", received="undefined"))
            return
        if not isinstance(body[name], str):
            received = _type_name(body[name])
            issues.append(
                _zod_issue(
                    name,
                    f"Expected string, received {received}",
                    expected="string",
                    received=received,
                )
            )

    number("block_number", required=True, min0=True)
    number("cluster_id", required=True)
    if kind == "proved":
        number("proving_time", required=True, positive=True)
        number("proving_cycles", required=False, positive=True, integer=True)
        string("proof", required=True)
        string("verifier_id", required=False)
    return issues


def _text(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status)


def build_app(state: EthProofsState) -> Starlette:
    """The starlette app serving ``/api/v0/proofs/{queued,proving,proved}`` over ``state``."""

    async def proofs(request: Request) -> Response:
        kind = request.path_params["kind"]
        raw = await request.body()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        response = _answer(state, kind, request.headers.get("authorization"), raw)
        state.received.append(
            Received(
                kind=kind,
                authorization=request.headers.get("authorization"),
                content_type=request.headers.get("content-type"),
                body=parsed,
                raw=raw,
                status=response.status_code,
                at=time.time(),
            )
        )
        return response

    async def not_found(request: Request) -> Response:
        return _text(404, "Not found")

    return Starlette(
        routes=[
            Route("/api/v0/proofs/{kind:str}", proofs, methods=["POST"]),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


def _answer(state: EthProofsState, kind: str, authorization: str | None, raw: bytes) -> Response:
    if kind not in KINDS:
        return _text(404, "Not found")
    if state.fail_next_500 > 0:
        state.fail_next_500 -= 1
        return _text(500, "Internal server error")
    if state.fail_next_503 > 0:
        state.fail_next_503 -= 1
        return _text(503, "Service Unavailable")
    # §1.2: withAuth takes split(" ")[1] and never checks the word "Bearer".
    parts = (authorization or "").split(" ")
    token = parts[1] if len(parts) > 1 and parts[1] else None
    if token is None:
        return _text(401, "No API key provided")
    team = state.keys.get(token)
    if team is None:
        return _text(401, "Invalid API key")
    if state.fail_next_429 > 0:
        state.fail_next_429 -= 1
        return _rate_limited(state.retry_after, 0)
    if state.limit_per_minute is not None:
        limited = _sliding_window(state, token)
        if limited is not None:
            return limited
    try:
        body: Any = json.loads(raw)
    except ValueError:
        return _text(500, "Internal server error")
    issues = validate(kind, body)
    if issues:
        return _text(400, f"Invalid request: {json.dumps(issues, indent=2)}")
    cluster_index = body["cluster_id"]
    versions = (
        state.clusters.get((team, cluster_index)) if float(cluster_index).is_integer() else None
    )
    if versions is None:
        return _text(404, "Cluster not found")
    if versions == 0:
        return _text(404, "Cluster version not found")
    block = body["block_number"]
    if not float(block).is_integer():
        return _text(500, "Internal server error")  # bigint column
    block = int(block)
    if kind != "proved":
        state.blocks.add(block)
    key = (block, team, int(cluster_index), versions)
    row = state.proofs.get(key)
    if row is not None and row.status == "proved":
        return _text(409, "Proof already proved")
    if kind == "proved":
        if block not in state.blocks:
            return _text(500, "Internal server error")  # proofs_block_number_blocks_fk
        if not float(body["proving_time"]).is_integer():
            return _text(500, "Internal server error")  # integer column
    if row is None:
        row = ProofRow(proof_id=state._next_proof_id, status=kind)
        state._next_proof_id += 1
        state.proofs[key] = row
    row.status = kind
    if kind == "proved":
        row.proving_time = int(body["proving_time"])
        cycles = body.get("proving_cycles")
        row.proving_cycles = int(cycles) if cycles is not None else None
        row.size_bytes = len(_lenient_b64decode(body["proof"]))
    return JSONResponse({"proof_id": row.proof_id})


def _lenient_b64decode(text: str) -> bytes:
    """Like ``Buffer.from(s, "base64")``: padding optional, invalid input decodes to something."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def _rate_limited(retry_after: str, remaining: int) -> Response:
    try:
        seconds = math.ceil(float(retry_after))
    except ValueError:
        seconds = 1
    reset = datetime.fromtimestamp(time.time() + seconds, UTC).isoformat()
    return JSONResponse(
        {
            "error": "Rate limit exceeded",
            "message": f"Rate limit exceeded. Try again in {seconds} seconds",
            "retryAfter": seconds,
        },
        status_code=429,
        headers={
            "Retry-After": retry_after,
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset,
        },
    )


def _sliding_window(state: EthProofsState, token: str) -> Response | None:
    assert state.limit_per_minute is not None
    now = time.time()
    window = [t for t in state._window.get(token, []) if t > now - 60.0]
    if len(window) >= state.limit_per_minute:
        state._window[token] = window
        return _rate_limited(str(max(1, math.ceil(window[0] + 60.0 - now))), 0)
    window.append(now)
    state._window[token] = window
    return None


@asynccontextmanager
async def run_standin_ethproofs(
    state: EthProofsState | None = None,
) -> AsyncIterator[tuple[str, EthProofsState]]:
    """Serve the stand-in on 127.0.0.1 (port 0) for the ``async with`` body.

    Yields ``(base_url, state)`` where ``base_url`` is ``http://127.0.0.1:<port>/api/v0`` (the
    value of ``ETHPROOFS_RPC_URL``). The server is stopped on exit.
    """
    state = state or EthProofsState()
    async with trio.open_nursery() as nursery:
        base = await start_standin_ethproofs(nursery, state)
        try:
            yield base, state
        finally:
            nursery.cancel_scope.cancel()


async def start_standin_ethproofs(nursery: trio.Nursery, state: EthProofsState) -> str:
    """Start the stand-in in ``nursery`` (stopped when the nursery is cancelled).

    Returns the base URL ``http://127.0.0.1:<port>/api/v0``.
    """
    return await start_on_loopback(nursery, build_app(state)) + "/api/v0"

"""A stand-in beacon node: ``GET /eth/v2/beacon/blocks/{block_id}`` (Beacon API ``getBlockV2``).

Replies as ``ethereum/beacon-APIs`` documents them: 200 ``{"version", "execution_optimistic",
"finalized", "data": {"message": BeaconBlock, "signature"}}`` (only the members the client reads
are filled in besides ``slot``), 404 ``{"code": 404, "message": "NOT_FOUND: …"}`` for an unknown
id, and 503 for everything while ``down``. ``raw[block_id]`` serves a body verbatim (malformed
replies). Served by hypercorn's trio worker on 127.0.0.1, port 0.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.serve import serving_on_loopback


def block_response(
    slot: int, execution_requests: dict[str, Any] | None, block_hash: str, version: str = "fulu"
) -> dict[str, Any]:
    """A ``getBlockV2`` body for a block at ``slot`` holding execution block ``block_hash``
    (``0x`` hex) and, unless None (a pre-Electra block), ``execution_requests``."""
    body: dict[str, Any] = {
        "randao_reveal": "0x" + "00" * 96,
        "execution_payload": {"block_number": "1", "block_hash": block_hash},
    }
    if execution_requests is not None:
        body["execution_requests"] = execution_requests
    return {
        "version": version,
        "execution_optimistic": False,
        "finalized": True,
        "data": {
            "message": {
                "slot": str(slot),
                "proposer_index": "1",
                "parent_root": "0x" + "11" * 32,
                "state_root": "0x" + "22" * 32,
                "body": body,
            },
            "signature": "0x" + "00" * 96,
        },
    }


@dataclass
class BeaconState:
    """Blocks by id (slot as a decimal string, or a root), raw bodies, and the ``down`` switch;
    ``requests`` records every path asked for."""

    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    down: bool = False
    requests: list[str] = field(default_factory=list)


def build_app(state: BeaconState) -> Starlette:
    """The beacon node app over ``state``."""

    async def get_block(request: Request) -> Response:
        block_id = request.path_params["block_id"]
        state.requests.append(request.url.path)
        if state.down:
            return JSONResponse({"code": 503, "message": "Beacon node is syncing"}, 503)
        if block_id in state.raw:
            return Response(state.raw[block_id], 200, media_type="application/json")
        if block_id not in state.blocks:
            return JSONResponse(
                {"code": 404, "message": f"NOT_FOUND: beacon block at {block_id}"}, 404
            )
        return JSONResponse(state.blocks[block_id])

    return Starlette(routes=[Route("/eth/v2/beacon/blocks/{block_id}", get_block)])


@asynccontextmanager
async def beacon_node(state: BeaconState) -> AsyncIterator[str]:
    """Serve ``state`` for the ``async with`` body; yields the base URL."""
    async with serving_on_loopback(build_app(state)) as base:
        yield base

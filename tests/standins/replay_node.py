"""A replay JSON-RPC execution node for tests: real blocks and witnesses, an advancing head.

It serves the real hive test-chain data in ``../shared/fixtures/real-data/hive-chain/`` (block 0x1
and 0x2d with their reth-form ``debug_executionWitness`` results) the way a node does
(JSON-RPC 2.0 over HTTP POST, ethereum/execution-apis method names and shapes):

- ``eth_blockNumber``: the head, which advances by one block every ``blocks_per_call`` calls
  until ``max_head`` (so the daemon sees targets appear);
- ``eth_getBlockByNumber(n, true)``: the fixture block, ``null`` for blocks it has no data for
  (as a node does for a block it has not got);
- ``debug_executionWitness(n)``: the fixture witness; error ``-32601`` when ``witness_method`` is
  off (as anvil and most hosted nodes answer); ``-32000`` for a block it has no witness for;
- ``eth_chainId``.

Block 0x1 predates the ``withdrawals`` field; the guest input needs it, so the replay adds
``"withdrawals": []`` (issue 2, "Tests"). Switches: ``down`` answers HTTP 503 to everything.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.serve import serving_on_loopback


@dataclass
class ReplayState:
    """The node's data and switches (mutable from the test)."""

    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    witnesses: dict[int, dict[str, Any]] = field(default_factory=dict)
    head: int = 0
    max_head: int = 0
    blocks_per_call: int = 1
    witness_method: bool = True
    down: bool = False
    calls: list[str] = field(default_factory=list)
    _polls: int = 0


def load_hive_chain(fixtures: Path, witness_flavour: str = "reth") -> ReplayState:
    """A ``ReplayState`` with hive blocks 0x0, 0x1 (``withdrawals: []`` added), 0x2d and the
    ``witness_flavour`` (``reth`` or ``reth-canonical``) witnesses of 0x1 and 0x2d."""
    hive = fixtures / "real-data" / "hive-chain"
    state = ReplayState(max_head=0x2D)
    for n in (0x0, 0x1, 0x2D):
        block = json.loads((hive / f"block_{n:#x}.json").read_text())
        if n == 0x1:
            block.setdefault("withdrawals", [])
        state.blocks[n] = block
    for n in (0x1, 0x2D):
        state.witnesses[n] = json.loads((hive / f"witness_{n:#x}.{witness_flavour}.json")
                                        .read_text())
    return state


def _error(id_: Any, code: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": id_, "error": {"code": code,
                                                               "message": message}})


def build_app(state: ReplayState) -> Starlette:
    """The starlette app answering JSON-RPC on ``POST /``."""

    async def rpc(request: Request) -> Response:
        if state.down:
            return Response("node unavailable", status_code=503)
        try:
            req = json.loads(await request.body())
        except ValueError:
            return _error(None, -32700, "parse error")
        id_, method, params = req.get("id"), req.get("method"), req.get("params") or []
        state.calls.append(str(method))
        if method == "eth_blockNumber":
            state._polls += 1
            if state._polls % state.blocks_per_call == 0 and state.head < state.max_head:
                state.head += 1
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": hex(state.head)})
        if method == "eth_chainId":
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": "0x1"})
        if method == "eth_getBlockByNumber":
            n = int(params[0], 16)
            result = state.blocks.get(n) if n <= state.head else None
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": result})
        if method == "debug_executionWitness":
            if not state.witness_method:
                return _error(id_, -32601, "the method debug_executionWitness does not exist/is "
                                           "not available")
            n = int(params[0], 16)
            if n not in state.witnesses or n > state.head:
                return _error(id_, -32000, f"no witness for block {n}")
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": state.witnesses[n]})
        return _error(id_, -32601, f"the method {method} does not exist/is not available")

    return Starlette(routes=[Route("/", rpc, methods=["POST"])])


@asynccontextmanager
async def run_replay_node(state: ReplayState) -> AsyncIterator[str]:
    """Serve the node on 127.0.0.1 (port 0) for the ``async with`` body; yields its URL."""
    async with serving_on_loopback(build_app(state)) as base:
        yield base + "/"

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

Poison (issue 10): ``poison[n] = Poison.…`` makes block ``n`` one of the answers a broken or
hostile node gives (see ``Poison``); ``bogus_head_every = k`` answers every k-th
``eth_blockNumber`` with 2^63 (no block number fits). A poisoned block is hive block 0x2d
renumbered to ``n`` (its ``hash`` recomputed, so it is the block asked for) unless its kind says
otherwise. A node with no data for ``n`` answers ``null`` (pruned or not synced).
"""

from __future__ import annotations

import copy
import enum
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

from ethproofs_daemon.eth.witness import encode_header_json
from ethproofs_daemon.hashing import keccak
from tests.standins.serve import serving_on_loopback


class Poison(enum.StrEnum):
    """What the node answers for a poisoned block."""

    #: ``gasUsed`` is not hex.
    BAD_GAS_USED = "bad_gas_used"
    #: ``eth_getBlockByNumber`` answers JSON nested 100 000 arrays deep.
    NESTED_JSON = "nested_json"
    #: ``eth_getBlockByNumber(n)`` answers block 0x2d (another number).
    WRONG_NUMBER = "wrong_number"
    #: the block's ``hash`` is not its header's hash.
    WRONG_HASH = "wrong_hash"
    #: the witness's first header is an RLP list nested 5000 deep.
    NESTED_RLP_HEADER = "nested_rlp_header"
    #: no ``debug_executionWitness`` for it (-32601), a one-account prestate trace, and
    #: ``eth_getProof`` answers a JSON-RPC error (synthesis fails mid-way).
    PROOF_ERROR = "proof_error"
    #: as ``PROOF_ERROR``, but ``eth_getProof`` answers HTTP 503 (a network blip).
    PROOF_BLIP = "proof_blip"
    #: as ``PROOF_ERROR``, but ``eth_getProof`` answers a proof node that is not hex.
    PROOF_MALFORMED = "proof_malformed"
    #: the block reply is larger than the daemon's ``RPC_MAX_RESPONSE_BYTES`` (2 MB of padding).
    HUGE_REPLY = "huge_reply"


_SYNTHESIS_POISONS: frozenset[Poison] = frozenset(
    {Poison.PROOF_ERROR, Poison.PROOF_BLIP, Poison.PROOF_MALFORMED})


def renumbered(block: dict[str, Any], number: int) -> dict[str, Any]:
    """``block`` as block ``number``, its ``hash`` recomputed from the changed header."""
    out = copy.deepcopy(block)
    out["number"] = hex(number)
    out.pop("hash", None)
    out["hash"] = "0x" + keccak(encode_header_json(out)).hex()
    return out


def nested_rlp(depth: int) -> bytes:
    """An RLP list nested ``depth`` deep (``[[[…[]…]]]``)."""
    data = b"\xc0"
    for _ in range(depth):
        n = len(data)
        if n < 56:
            data = bytes([0xC0 + n]) + data
        else:
            size = n.to_bytes((n.bit_length() + 7) // 8, "big")
            data = bytes([0xF7 + len(size)]) + size + data
    return data


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
    poison: dict[int, Poison] = field(default_factory=dict)
    bogus_head_every: int = 0
    calls: list[str] = field(default_factory=list)
    _polls: int = 0

    def poisoned_block(self, n: int) -> dict[str, Any]:
        """The block JSON served for poisoned block ``n``."""
        kind = self.poison[n]
        base = self.blocks[0x2D]
        if kind is Poison.WRONG_NUMBER:
            return base
        block = renumbered(base, n)
        if kind is Poison.BAD_GAS_USED:
            block["gasUsed"] = "0xnothex"
        elif kind is Poison.WRONG_HASH:
            block["hash"] = "0x" + "ab" * 32
        elif kind is Poison.HUGE_REPLY:
            block["extraPadding"] = "0x" + "00" * 1_000_000
        return block

    def poisoned_witness(self, n: int) -> dict[str, Any]:
        """The witness served for poisoned block ``n`` (reth form)."""
        witness = copy.deepcopy(self.witnesses[0x2D])
        if self.poison[n] is Poison.NESTED_RLP_HEADER:
            witness["headers"] = ["0x" + nested_rlp(5000).hex(), *witness["headers"]]
        return witness


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
            if state.bogus_head_every and state._polls % state.bogus_head_every == 0:
                return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": hex(1 << 63)})
            if state._polls % state.blocks_per_call == 0 and state.head < state.max_head:
                state.head += 1
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": hex(state.head)})
        poisoned = _poisoned(state, method, params)
        if poisoned is not None:
            return _poison_reply(state, id_, method, poisoned)
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


def _poisoned(state: ReplayState, method: Any, params: list[Any]) -> int | None:
    """The poisoned block (at or below the head) this call is about, or None. ``eth_getProof``
    is asked at N - 1 and at N, so it belongs to N when N is poisoned, else to N + 1."""
    try:
        if method == "eth_getProof":
            at = int(params[2], 16)
            candidates: tuple[int, ...] = (at + 1, at)
        elif method in ("eth_getBlockByNumber", "debug_executionWitness",
                        "debug_traceBlockByNumber"):
            candidates = (int(params[0], 16),)
        else:
            return None
    except (IndexError, TypeError, ValueError):
        return None
    for n in candidates:
        if n in state.poison and n <= state.head:
            return n
    return None


def _poison_reply(state: ReplayState, id_: Any, method: Any, n: int) -> Response:
    kind = state.poison[n]
    if method == "eth_getBlockByNumber":
        if kind is Poison.NESTED_JSON:
            depth = 100_000
            nested = "[" * depth + "]" * depth
            body = f'{{"jsonrpc": "2.0", "id": {json.dumps(id_)}, "result": {nested}}}'
            return Response(body, media_type="application/json")
        return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": state.poisoned_block(n)})
    if method == "debug_executionWitness":
        if kind in _SYNTHESIS_POISONS:
            return _error(id_, -32601, "the method debug_executionWitness does not exist")
        return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": state.poisoned_witness(n)})
    if method == "debug_traceBlockByNumber":
        account = {"0x" + "11" * 20: {"balance": "0x1", "nonce": 1}}
        txs = state.poisoned_block(n)["transactions"]
        return JSONResponse({"jsonrpc": "2.0", "id": id_,
                             "result": [{"result": account} for _ in txs] or []})
    if method == "eth_getProof":
        if kind is Poison.PROOF_BLIP:
            return Response("bad gateway", status_code=503)
        if kind is Poison.PROOF_MALFORMED:
            return JSONResponse({"jsonrpc": "2.0", "id": id_, "result": {
                "accountProof": ["0xnot-a-node"], "storageProof": [],
                "storageHash": "0x" + "00" * 32, "codeHash": "0x" + "00" * 32}})
        return _error(id_, -32000, "missing trie node (state is not available)")
    return _error(id_, -32601, f"the method {method} does not exist/is not available")


@asynccontextmanager
async def run_replay_node(state: ReplayState) -> AsyncIterator[str]:
    """Serve the node on 127.0.0.1 (port 0) for the ``async with`` body; yields its URL."""
    async with serving_on_loopback(build_app(state)) as base:
        yield base + "/"

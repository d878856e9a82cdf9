"""Poisoned node answers in the witness path become the errors their callers catch by class
(issue 10): never an ``ExceptionGroup``, a ``RecursionError`` or a py-trie exception."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ethproofs_daemon.eth.mpt import TrieError, decode_account, decode_node, rlp_list_depth
from ethproofs_daemon.eth.witness import WitnessFormatError, decode_header, encode_header_json
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcResponseError
from ethproofs_daemon.witness.account_proofs import get_proofs, parse_proof
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError
from ethproofs_daemon.witness.touched_state import (
    WITHDRAWAL_REQUEST_ADDRESS,
    Touched,
    add_request_queue_slots,
)
from tests.standins.replay_node import Poison, ReplayState, nested_rlp, run_replay_node
from tests.standins.serve import serving_on_loopback

ADDRESSES = [bytes([i]) * 20 for i in range(1, 21)]


async def _get_proofs(state: ReplayState, poison: Poison) -> Exception:
    state.poison = {12: poison}
    state.head = state.max_head
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        try:
            await get_proofs(rpc, {a: () for a in ADDRESSES}, 11)
        except (RpcResponseError, WitnessSynthesisError) as exc:
            return exc
    raise AssertionError("get_proofs did not fail")


async def test_a_failed_get_proof_is_raised_as_itself(hive: ReplayState) -> None:
    failure = await _get_proofs(hive, Poison.PROOF_ERROR)
    assert isinstance(failure, RpcResponseError) and failure.code == -32000


async def test_a_malformed_proof_is_a_synthesis_error(hive: ReplayState) -> None:
    failure = await _get_proofs(hive, Poison.PROOF_MALFORMED)
    assert isinstance(failure, WitnessSynthesisError)


def test_nested_rlp_is_refused_before_the_recursive_decoder() -> None:
    deep = nested_rlp(5000)
    assert rlp_list_depth(deep, 16) == 17
    with pytest.raises(TrieError, match="nested deeper"):
        decode_node(deep)
    with pytest.raises(TrieError):
        decode_account(deep)
    with pytest.raises(WitnessFormatError, match="nested deeper"):
        decode_header(deep)


def test_list_depth_of_ordinary_items() -> None:
    assert rlp_list_depth(b"\x80", 4) == 0
    assert rlp_list_depth(bytes.fromhex("c2c0c0"), 4) == 2
    assert rlp_list_depth(nested_rlp(3), 4) == 4
    assert rlp_list_depth(b"\xf8", 4) == 0  # malformed: left to the decoder


def test_a_negative_header_quantity_is_a_format_error() -> None:
    # Found by fuzz/node_head.py: a JSON header with a negative number reached rlp.encode, whose
    # TypeError escaped parse_witness and fetch_headers.
    header = {name: "0x" + "00" * 32 for name in ("parentHash", "sha3Uncles", "stateRoot",
                                                   "transactionsRoot", "receiptsRoot", "mixHash")}
    header |= {"miner": "0x" + "00" * 20, "logsBloom": "0x" + "00" * 256, "extraData": "0x",
               "nonce": "0x" + "00" * 8, "difficulty": -1, "number": 1, "gasLimit": 1,
               "gasUsed": 0, "timestamp": 0}
    with pytest.raises(WitnessFormatError, match=r"header\.difficulty: expected a hex quantity"):
        encode_header_json(header)


@asynccontextmanager
async def _proof_node(doc: dict[str, object]) -> AsyncIterator[JsonRpcClient]:
    """A loopback node answering every call with ``doc``."""

    async def rpc(request: Request) -> JSONResponse:
        req = json.loads(await request.body())
        return JSONResponse({"jsonrpc": "2.0", "id": req["id"], "result": doc})

    app = Starlette(routes=[Route("/", rpc, methods=["POST"])])
    async with serving_on_loopback(app) as url, JsonRpcClient(RpcEndpoint(url)) as client:
        yield client


def _queue_proof(head: int, tail: int) -> dict[str, object]:
    return {"accountProof": [], "storageHash": "0x" + "00" * 32, "codeHash": "0x" + "00" * 32,
            "storageProof": [{"key": f"0x{slot:064x}", "value": hex(value), "proof": []}
                             for slot, value in ((2, head), (3, tail))]}


def test_a_storage_value_past_256_bits_is_a_synthesis_error() -> None:
    # Found by fuzz/node_proof.py (with the next test): values went unchecked into slot keys.
    with pytest.raises(WitnessSynthesisError, match="not a 256-bit word"):
        parse_proof(_queue_proof(2**280, 2**281), WITHDRAWAL_REQUEST_ADDRESS)


async def test_a_request_queue_head_near_2_to_the_256_wraps_like_the_evm() -> None:
    # Found by fuzz/node_proof.py: slot = offset + head * 3 went past 2^256 and raised
    # OverflowError out of add_request_queue_slots; the EVM computes it modulo 2^256.
    address = WITHDRAWAL_REQUEST_ADDRESS
    proofs = {address: parse_proof(_queue_proof(2**256 - 2, 2**256 - 1), address)}
    touched = Touched()
    touched.add(address)
    async with _proof_node(_queue_proof(0, 0)) as rpc:
        await add_request_queue_slots(rpc, touched, proofs, 10)
    first_slot = next(iter(touched.slots[address]))
    assert int.from_bytes(first_slot) == (4 + (2**256 - 2) * 3) % 2**256

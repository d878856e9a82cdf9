"""Poisoned node answers in the witness path become the errors their callers catch by class
(issue 10): never an ``ExceptionGroup``, a ``RecursionError`` or a py-trie exception."""

from __future__ import annotations

import pytest

from ethproofs_daemon.eth.mpt import TrieError, decode_account, decode_node, rlp_list_depth
from ethproofs_daemon.eth.witness import WitnessFormatError, decode_header, encode_header_json
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcResponseError
from ethproofs_daemon.witness.account_proofs import get_proofs
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError
from tests.standins.replay_node import Poison, ReplayState, nested_rlp, run_replay_node

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

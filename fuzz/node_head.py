"""Fuzz target: the node's head answers, ``eth_blockNumber`` and the header of
``eth_getBlockByNumber(n, false)``.

Entry points, through the daemon's real ``JsonRpcClient`` (``fake_node``):

- ``JsonRpcClient.block_number`` (the head follower's poll): an int in 0..2^63-1, or
  ``RpcError``;
- ``node.head.block_hash_at`` (the reorg check): None or a lower-case ``0x`` hash, or
  ``RpcError``;
- ``witness.ancestor_headers.fetch_headers`` (synthesis' ancestor headers): one RLP header that
  hashes to the JSON's ``hash``, or ``RpcError`` / ``WitnessSynthesisError``;
- on the decoded header, ``inputs.rpc_block.header_from_json`` (external-builder path):
  ``InputError``; ``eth.witness.encode_header_json``: ``WitnessFormatError``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from hypothesis import strategies as st

from ethproofs_daemon.eth.witness import WitnessFormatError, decode_header, encode_header_json
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rpc_block import header_from_json
from ethproofs_daemon.node.head import block_hash_at
from ethproofs_daemon.node.rpc import MAX_BLOCK_NUMBER, RpcError
from ethproofs_daemon.witness.ancestor_headers import fetch_headers
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError

from . import runner
from .fake_node import FakeNode, Reply, node_client, replies
from .mutation import JSON_VALUES, mutated_json, one_of_mutated
from .seeds import header_fields, header_json, hive_blocks

_HEADS = st.one_of(
    st.integers(0, 2**64).map(hex),
    st.sampled_from([hex(2**63 - 1), hex(2**63), "0x0"]).flatmap(mutated_json),
    JSON_VALUES,
)
_HEADERS = st.one_of(
    st.builds(header_json, header_fields()).flatmap(mutated_json),
    *([one_of_mutated(hive_blocks())] if hive_blocks() else []),
    st.none(),
)

STRATEGY = st.tuples(replies(_HEADS), replies(_HEADERS))


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    node = FakeNode()
    async with node_client(node) as rpc:

        async def check(case: tuple[Reply, Reply]) -> None:
            node.replies = {"eth_blockNumber": case[0], "eth_getBlockByNumber": case[1]}
            try:
                head = await rpc.block_number()
            except RpcError:
                pass
            else:
                assert isinstance(head, int) and 0 <= head <= MAX_BLOCK_NUMBER, head
            try:
                block_hash = await block_hash_at(rpc, 5)
            except RpcError:
                pass
            else:
                assert block_hash is None or (
                    block_hash.startswith("0x") and block_hash == block_hash.lower())
            try:
                headers = await fetch_headers(rpc, 5, 5)
            except (RpcError, WitnessSynthesisError):
                pass
            else:
                assert len(headers) == 1
            try:
                doc: Any = await rpc.call("eth_getBlockByNumber", ["0x5", False])
            except RpcError:
                return
            if not isinstance(doc, dict):
                return
            with suppress(InputError):
                header_from_json(doc, "block")
            try:
                raw = encode_header_json(doc)
            except WitnessFormatError:
                return
            with suppress(WitnessFormatError):
                decode_header(raw)

        yield check


TARGET = runner.Target("node_head", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))

"""Fuzz target: the block with full transactions, ``eth_getBlockByNumber(n, true)``.

Entry points, through the daemon's real ``JsonRpcClient`` (``fake_node``):

- ``node.input_source.RpcInputSource.prepare(n)`` (the input generator's step 1, parse once at
  the RPC edge, hash check; the node then refuses ``debug_executionWitness``): only
  ``InputPreparationFailed``, ``NodeUnavailable`` or ``BlockNotServed``; ``n`` is the block's own
  number when it has one, so a well-formed block reaches the witness step
  (``witness_unavailable``);
- on the decoded result: ``inputs.rpc_block.rpc_block_from_json`` then ``check_block_hash`` and
  ``check_transactions_root`` (``InputError``), ``witness.synthesis_block.SynthesisBlock.from_json``
  (``WitnessSynthesisError``), ``witness.verify.WitnessBlockFacts.from_block_json``
  (``WitnessFormatError``); a block that parses also gives ``SynthesisBlock.from_block`` and
  ``WitnessBlockFacts.from_block`` (documented never to fail).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from hypothesis import strategies as st

from ethproofs_daemon.config import WitnessSourceMode
from ethproofs_daemon.eth.witness import WitnessFormatError
from ethproofs_daemon.inputs.checks import check_block_hash, check_transactions_root
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import DEFAULT_PROFILE_NAME, load_profiles
from ethproofs_daemon.inputs.rpc_block import rpc_block_from_json
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.node.input_source import RpcInputSource
from ethproofs_daemon.node.preparation import InputPreparationFailed, NodeUnavailable
from ethproofs_daemon.node.rpc import RpcError
from ethproofs_daemon.witness.synthesis_block import SynthesisBlock, WitnessSynthesisError
from ethproofs_daemon.witness.verify import WitnessBlockFacts

from . import runner
from .fake_node import FakeNode, Reply, node_client, replies
from .mutation import mutated_json, one_of_mutated
from .seeds import block_json, hive_blocks

_BLOCKS = st.one_of(
    block_json().flatmap(mutated_json),
    *([one_of_mutated(hive_blocks())] if hive_blocks() else []),
)
STRATEGY = replies(_BLOCKS)


def _number_of(reply: Reply) -> int:
    """The number the block in ``reply`` claims (so a good block is the one asked for), else 1."""
    number = reply.result.get("number") if isinstance(reply.result, dict) else None
    try:
        return int(number, 16) if isinstance(number, str) else 1
    except ValueError:
        return 1


def _parse(doc: Any) -> None:
    try:
        parsed = rpc_block_from_json(doc)
    except InputError:
        pass
    else:
        SynthesisBlock.from_block(parsed.block)
        WitnessBlockFacts.from_block(parsed.block)
        try:
            check_block_hash(parsed.block, parsed.hash)
            check_transactions_root(parsed.block)
        except InputError:
            pass
    with suppress(WitnessSynthesisError):
        SynthesisBlock.from_json(doc)
    with suppress(WitnessFormatError):
        WitnessBlockFacts.from_block_json(doc)


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    node = FakeNode()
    profile = load_profiles()[DEFAULT_PROFILE_NAME]
    async with node_client(node) as rpc:
        source = RpcInputSource(rpc, profile, "mainnet", WitnessSourceMode.DEBUG, 5.0)

        async def check(reply: Reply) -> None:
            node.replies = {"eth_getBlockByNumber": reply}
            number = _number_of(reply)
            try:
                await source.prepare(number)
            except NodeUnavailable:
                pass
            except InputPreparationFailed as exc:
                assert exc.reason in (FailureReason.INPUT_ERROR,
                                      FailureReason.WITNESS_UNAVAILABLE), exc.reason
            else:
                raise AssertionError("prepared an input without a witness")
            try:
                doc = await rpc.call("eth_getBlockByNumber", [hex(number), True])
            except RpcError:
                return
            if isinstance(doc, dict):
                _parse(doc)

        yield check


TARGET = runner.Target("node_block", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))

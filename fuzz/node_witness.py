"""Fuzz target: the execution witness, ``debug_executionWitness``, in both wire forms (reth: RLP
headers and keys; geth: JSON headers, ``keys: null``, completed from the prestate trace).

Entry points, through the daemon's real ``JsonRpcClient`` (``fake_node``), with the block the
witness belongs to served as is:

- ``node.input_source.RpcInputSource.prepare(n)`` (fetch, ``parse_witness``, geth-form
  completion, ``verify_witness``, the ethrex input build in a worker thread): a ``PreparedInput``,
  or only ``InputPreparationFailed`` / ``NodeUnavailable``;
- on the decoded result: ``eth.witness.parse_witness`` and ``witness.verify.verify_witness_json``
  (``WitnessInvalid``), ``inputs.rpc_witness.read_rpc_witness`` (``InputError``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from hypothesis import strategies as st

from ethproofs_daemon.config import WitnessSourceMode
from ethproofs_daemon.eth.witness import WitnessInvalid, parse_witness
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import DEFAULT_PROFILE_NAME, load_profiles
from ethproofs_daemon.inputs.rpc_witness import read_rpc_witness
from ethproofs_daemon.node.input_source import RpcInputSource
from ethproofs_daemon.node.preparation import InputPreparationFailed, NodeUnavailable
from ethproofs_daemon.node.rpc import RpcError
from ethproofs_daemon.witness.verify import verify_witness_json

from . import runner
from .fake_node import FakeNode, Reply, node_client, replies
from .mutation import mutated_json
from .seeds import hive_blocks, hive_witnesses, prestate_json, witness_json


def _hive_pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    blocks = {int(b["number"], 16): b for b in hive_blocks() if "withdrawals" in b}
    return [(blocks[n], w) for n, w in hive_witnesses() if n in blocks]


@st.composite
def _case(draw: st.DrawFn) -> tuple[dict[str, Any], Reply, Reply]:
    pairs = _hive_pairs()
    if pairs and draw(st.booleans()):
        block, witness = draw(st.sampled_from(pairs))
    else:
        block, witness = draw(witness_json())
    witness_reply = draw(replies(mutated_json(witness)))
    trace_reply = draw(replies(prestate_json().flatmap(mutated_json)))
    return block, witness_reply, trace_reply


STRATEGY = _case()


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    node = FakeNode()
    profile = load_profiles()[DEFAULT_PROFILE_NAME]
    async with node_client(node) as rpc:
        source = RpcInputSource(rpc, profile, "mainnet", WitnessSourceMode.DEBUG, 5.0)

        async def check(case: tuple[dict[str, Any], Reply, Reply]) -> None:
            block, witness_reply, trace_reply = case
            node.replies = {"eth_getBlockByNumber": Reply(result=block),
                            "debug_executionWitness": witness_reply,
                            "debug_traceBlockByNumber": trace_reply}
            number = int(block["number"], 16)
            try:
                prepared = await source.prepare(number)
            except (InputPreparationFailed, NodeUnavailable):
                pass
            else:
                assert prepared.data and prepared.block_hash == block["hash"]
            try:
                doc = await rpc.call("debug_executionWitness", [hex(number)])
            except RpcError:
                return
            try:
                parse_witness(doc)
                verify_witness_json(doc, block)
            except WitnessInvalid:
                pass
            with suppress(InputError):
                read_rpc_witness(doc)

        yield check


TARGET = runner.Target("node_witness", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))

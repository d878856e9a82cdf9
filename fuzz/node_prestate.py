"""Fuzz target: the block's traces, ``debug_traceBlockByNumber`` with the ``prestateTracer``
(witness synthesis step 1, and key recovery of geth-form witnesses) and with the ``BLOCKHASH``
JavaScript tracer (step 4).

Entry points, through the daemon's real ``JsonRpcClient`` (``fake_node``):

- ``witness.touched_state.collect_touched``: a ``Touched`` whose addresses are 20 bytes, or
  ``WitnessSynthesisError`` / ``RpcError``;
- ``witness.ancestor_headers.trace_blockhash_numbers``: None or a tuple of ints, or
  ``RpcError`` (a JSON-RPC error object is "not served": None);
- ``witness.touched_state.parse_prestate`` on the decoded trace: ``WitnessSynthesisError``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from hypothesis import strategies as st

from ethproofs_daemon.node.rpc import RpcError
from ethproofs_daemon.witness.ancestor_headers import trace_blockhash_numbers
from ethproofs_daemon.witness.synthesis_block import SynthesisBlock, WitnessSynthesisError
from ethproofs_daemon.witness.touched_state import Touched, collect_touched, parse_prestate

from . import runner
from .fake_node import FakeNode, Reply, node_client, replies
from .mutation import JSON_VALUES, mutated_json
from .seeds import prestate_json

_JS_TRACES = st.one_of(
    st.lists(st.fixed_dictionaries({"result": st.lists(
        st.integers(0, 2**64).map(lambda n: format(n, "x")), max_size=4)}), max_size=3
    ).flatmap(mutated_json),
    JSON_VALUES,
)
_BLOCKS = st.builds(
    SynthesisBlock,
    number=st.integers(0, 2**64), parent_hash=st.just(b"\0" * 32), state_root=st.just(b"\0" * 32),
    miner=st.binary(min_size=20, max_size=20), timestamp=st.integers(0, 2**64),
    cancun=st.booleans(), prague=st.booleans(),
    withdrawal_addresses=st.lists(st.binary(min_size=20, max_size=20), max_size=2).map(tuple),
    creation_inputs=st.just(()),
)
STRATEGY = st.tuples(_BLOCKS, replies(prestate_json().flatmap(mutated_json)), replies(_JS_TRACES))


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    node = FakeNode()
    async with node_client(node) as rpc:

        async def check(case: tuple[SynthesisBlock, Reply, Reply]) -> None:
            block, prestate, js = case

            def trace(params: list[Any]) -> Reply:
                options = params[1] if len(params) > 1 else None
                tracer = options.get("tracer") if isinstance(options, dict) else None
                return prestate if tracer == "prestateTracer" else js

            node.replies = {"debug_traceBlockByNumber": trace}
            try:
                touched = await collect_touched(rpc, block)
            except (WitnessSynthesisError, RpcError):
                pass
            else:
                assert all(len(a) == 20 for a in touched.slots), touched.slots
            try:
                numbers = await trace_blockhash_numbers(rpc, block.number)
            except RpcError:
                pass
            else:
                assert numbers is None or all(isinstance(n, int) for n in numbers)
            try:
                doc = await rpc.call("debug_traceBlockByNumber",
                                     ["0x1", {"tracer": "prestateTracer"}])
            except RpcError:
                return
            with suppress(WitnessSynthesisError):
                parse_prestate(doc, Touched())

        yield check


TARGET = runner.Target("node_prestate", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))

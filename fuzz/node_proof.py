"""Fuzz target: account and storage proofs, ``eth_getProof`` (EIP-1186; witness synthesis
step 2 and the EIP-7002/7251 request queues).

Entry points, through the daemon's real ``JsonRpcClient`` (``fake_node``):

- ``witness.account_proofs.get_proofs`` for three addresses at once (one of them the EIP-7002
  queue contract), 8 calls in flight: ``AccountProof`` per address, or ``WitnessSynthesisError``
  / ``RpcError`` raised as itself (never an ``ExceptionGroup``);
- ``witness.touched_state.add_request_queue_slots`` on those proofs (queue head and tail read
  from the slot values): ``WitnessSynthesisError`` / ``RpcError``;
- every proof node through ``eth.mpt.decode_node`` (``TrieError``, which synthesis turns into
  ``WitnessSynthesisError``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from hypothesis import strategies as st

from ethproofs_daemon.eth.mpt import TrieError, decode_node
from ethproofs_daemon.node.rpc import RpcError
from ethproofs_daemon.witness.account_proofs import get_proofs
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError
from ethproofs_daemon.witness.touched_state import (
    WITHDRAWAL_REQUEST_ADDRESS,
    Touched,
    add_request_queue_slots,
)

from . import runner
from .fake_node import FakeNode, Reply, node_client, replies
from .mutation import mutated_json
from .seeds import proof_json

_SLOTS = (bytes(31) + b"\x02", bytes(31) + b"\x03")
_ADDRESSES = (b"\x11" * 20, b"\x22" * 20, WITHDRAWAL_REQUEST_ADDRESS)


#: Queue head and tail values: small, or past 2^256 (hypothesis rarely draws those from one range).
_VALUES = st.one_of(st.integers(0, 2**64), st.integers(2**250, 2**300))


@st.composite
def _queue_proof(draw: st.DrawFn) -> dict[str, object]:
    """A proof whose storage proofs give the request queue's head (slot 2) and tail (slot 3)."""
    doc = draw(proof_json())
    doc["storageProof"] = [
        {"key": f"0x{slot:064x}", "value": hex(draw(_VALUES)), "proof": []}
        for slot in (2, 3)
    ]
    return doc


_PROOFS = st.one_of(proof_json(), _queue_proof()).flatmap(mutated_json)
#: (the queue contract's answer, the other addresses' answers in turn).
STRATEGY = st.tuples(replies(_queue_proof().flatmap(mutated_json)),
                     st.lists(replies(_PROOFS), min_size=1, max_size=3))


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    node = FakeNode()
    async with node_client(node) as rpc:

        async def check(case: tuple[Reply, list[Reply]]) -> None:
            queue, others = case
            calls = 0

            def answer(params: list[object]) -> Reply:
                nonlocal calls
                if params[0] == "0x" + WITHDRAWAL_REQUEST_ADDRESS.hex():
                    return queue
                calls += 1
                return others[calls % len(others)]

            node.replies = {"eth_getProof": answer}
            requests = {a: _SLOTS for a in _ADDRESSES}
            try:
                proofs = await get_proofs(rpc, requests, 10)
            except (WitnessSynthesisError, RpcError):
                return
            assert set(proofs) == set(_ADDRESSES)
            for proof in proofs.values():
                for raw in proof.nodes:
                    with suppress(TrieError):
                        decode_node(raw)
            touched = Touched()
            for address, slots in requests.items():
                touched.add(address, slots)
            with suppress(WitnessSynthesisError, RpcError):
                await add_request_queue_slots(rpc, touched, proofs, 10)

        yield check


TARGET = runner.Target("node_proof", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))

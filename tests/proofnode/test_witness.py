"""Witness by block hash: ``debug_executionWitnessByBlockHash`` retried within the budget, then
fallback sources (a real JSON-RPC stand-in on 127.0.0.1 port 0)."""

from __future__ import annotations

import pytest
import trio
from hypercorn.trio import serve

from ethproofs_daemon.http.server import hypercorn_config
from ethproofs_daemon.node.rpc import JsonRpcClient, JsonValue, RpcEndpoint
from ethproofs_daemon.proofnode.witness import RpcWitnessProvider, WitnessTimeout

from .harness import FakeNode

BLOCK_HASH = "0x" + "cd" * 32
WITNESS: JsonValue = {"state": ["0x01"], "codes": [], "keys": [], "headers": ["0x02"]}


class Fallback:
    """A fallback ``FallbackWitnessSource`` that has the witness after ``misses`` calls."""

    def __init__(self, misses: int = 0) -> None:
        self.misses = misses
        self.calls: list[tuple[str, int]] = []

    async def witness(self, *, block_hash: str, block_number: int) -> JsonValue | None:
        self.calls.append((block_hash, block_number))
        return WITNESS if len(self.calls) > self.misses else None


async def rpc_for(nursery: trio.Nursery, fake: FakeNode) -> JsonRpcClient:
    urls = await nursery.start(serve, fake.app(), hypercorn_config("127.0.0.1", 0))
    return JsonRpcClient(RpcEndpoint(urls[0], timeout_s=2.0))


async def test_null_answers_are_retried_until_the_witness_is_there(nursery: trio.Nursery) -> None:
    fake = FakeNode(witnesses={BLOCK_HASH: WITNESS}, nulls=3)
    async with await rpc_for(nursery, fake) as rpc:
        provider = RpcWitnessProvider(rpc, retry_interval_s=0.01)
        got = await provider.fetch(block_hash=BLOCK_HASH, block_number=5, timeout_s=5)
    assert got == WITNESS
    assert fake.calls == 4


async def test_a_node_without_the_method_falls_back_and_is_not_asked_again(
    nursery: trio.Nursery,
) -> None:
    fake = FakeNode(method_missing=True)
    fallback = Fallback(misses=2)
    async with await rpc_for(nursery, fake) as rpc:
        provider = RpcWitnessProvider(rpc, fallbacks=[fallback], retry_interval_s=0.01)
        got = await provider.fetch(block_hash=BLOCK_HASH, block_number=5, timeout_s=5)
    assert got == WITNESS
    assert fake.calls == 1
    assert fallback.calls == [(BLOCK_HASH, 5)] * 3


async def test_no_witness_within_the_budget_is_a_witness_timeout(nursery: trio.Nursery) -> None:
    fake = FakeNode(nulls=10**6)
    async with await rpc_for(nursery, fake) as rpc:
        provider = RpcWitnessProvider(
            rpc, fallbacks=[Fallback(misses=10**6)], retry_interval_s=0.02
        )
        start = trio.current_time()
        with pytest.raises(WitnessTimeout, match=f"witness timeout for block {BLOCK_HASH}"):
            await provider.fetch(block_hash=BLOCK_HASH, block_number=5, timeout_s=0.3)
    assert trio.current_time() - start < 3
    assert fake.calls >= 2


async def test_an_unreachable_node_is_retried_then_times_out() -> None:
    async with JsonRpcClient(RpcEndpoint("http://127.0.0.1:9/", timeout_s=0.5)) as rpc:
        provider = RpcWitnessProvider(rpc, retry_interval_s=0.02)
        with pytest.raises(
            WitnessTimeout,
            match=r"witness timeout for block 0x(cd)+ \(debug_executionWitnessByBlockHash: ",
        ):
            await provider.fetch(block_hash=BLOCK_HASH, block_number=5, timeout_s=0.3)


async def test_lookups_back_off_so_unknown_blocks_cost_a_few_calls_each(
    nursery: trio.Nursery,
) -> None:
    # 0.2 s first pause, doubling to a 2 s cap: in 3 s at most t = 0, 0.2, 0.6, 1.4 (+ jitter),
    # 2.8 → 5 lookups per request; zkboost's fixed 0.2 s would make ~15
    fake = FakeNode(nulls=10**6)
    async with await rpc_for(nursery, fake) as rpc:
        provider = RpcWitnessProvider(rpc, retry_interval_s=0.2)

        async def one(i: int) -> None:
            with pytest.raises(WitnessTimeout):
                await provider.fetch(block_hash="0x" + f"{i:064x}", block_number=i,
                                     timeout_s=3.0)

        async with trio.open_nursery() as inner:
            for i in range(20):
                inner.start_soon(one, i)
    assert fake.calls <= 20 * 6

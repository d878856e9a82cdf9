"""The head loop against a scripted JSON-RPC node on 127.0.0.1: bogus heads are not trusted
until the next poll confirms them, targets go on from the real head, and ``CONFIRMATIONS``
holds targets back; ``block_hash_at`` reads the canonical hash at a height."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.head import CURSOR_KEY, HeadFollower, block_hash_at
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcMalformedResponse
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store
from tests.standins.serve import start_on_loopback

BOGUS = 10**18


@dataclass
class ScriptedNode:
    """Answers ``eth_blockNumber`` with ``heads`` in turn (the last one repeats) and
    ``eth_getBlockByNumber`` from ``blocks`` (missing: ``null``)."""

    heads: list[int] = field(default_factory=list)
    blocks: dict[int, Any] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def rpc(request: Request) -> Response:
            req = json.loads(await request.body())
            if req["method"] == "eth_blockNumber":
                head = self.heads.pop(0) if len(self.heads) > 1 else self.heads[0]
                result: Any = hex(head)
            elif req["method"] == "eth_getBlockByNumber":
                result = self.blocks.get(int(req["params"][0], 16))
            else:
                return JSONResponse({"jsonrpc": "2.0", "id": req["id"],
                                     "error": {"code": -32601, "message": "no such method"}})
            return JSONResponse({"jsonrpc": "2.0", "id": req["id"], "result": result})

        return Starlette(routes=[Route("/", rpc, methods=["POST"])])


@dataclass
class Rig:
    node: ScriptedNode
    store: Store
    follower: HeadFollower
    status: FollowerStatus

    def jobs(self) -> list[int]:
        return sorted(j.block_number for j in self.store.recent_jobs(100))


@pytest.fixture
async def make_rig(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[Callable[..., Any]]:
    """Rigs whose scripted node is served in pytest-trio's ``nursery`` (cancelled after the
    test)."""
    cleanups: list[tuple[JsonRpcClient, Store]] = []

    async def make(heads: list[int], *, confirmations: int = 0, start_block: int | None = 1000,
                   lookback: int = 1000) -> Rig:
        node = ScriptedNode(heads)
        url = await start_on_loopback(nursery, node.app())
        rpc = JsonRpcClient(RpcEndpoint(url + "/", timeout_s=10))
        store = Store(tmp_path / "db.sqlite", clock=lambda: 1_000.0)
        cleanups.append((rpc, store))
        lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=lambda: 1_000.0)
        status = FollowerStatus()
        config = FollowerConfig(proof_type="ethrex-zisk", block_interval=100,
                                lookback_blocks=lookback, poll_interval_s=1.0,
                                start_block=start_block, inputs_dir=tmp_path / "inputs",
                                confirmations=confirmations)
        follower = HeadFollower(store=store, lifecycle=lifecycle, rpc=rpc, config=config,
                                notifier=NullNotifier(), status=status, clock=lambda: 1_000.0)
        return Rig(node, store, follower, status)

    yield make
    for rpc, store in cleanups:
        await rpc.aclose()
        store.close()


async def test_a_bogus_head_then_the_real_head_targets_go_on_from_the_real_one(
    make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig([1050, 1050, BOGUS, 1101, 1201])
    assert await rig.follower.poll_head_once() == []  # first head after start: confirm it
    assert await rig.follower.poll_head_once() == [1000]
    assert await rig.follower.poll_head_once() == []  # 10**18: not trusted
    assert rig.status.head == 1050 and rig.status.untrusted_head == BOGUS
    assert rig.store.get_meta(CURSOR_KEY) == "1100"
    assert rig.status.skipped_targets == 0
    assert await rig.follower.poll_head_once() == [1100]
    assert await rig.follower.poll_head_once() == [1200]
    assert rig.jobs() == [1000, 1100, 1200]
    assert rig.status.head == 1201 and rig.status.untrusted_head is None


async def test_a_head_that_repeats_on_the_next_poll_is_trusted(
    make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig([1050, 1050, 3050, 3051], lookback=1000)
    await rig.follower.poll_head_once()
    await rig.follower.poll_head_once()
    assert await rig.follower.poll_head_once() == []  # 2000 blocks on in one poll
    assert await rig.follower.poll_head_once() == [2100, 2200, 2300, 2400, 2500, 2600, 2700,
                                                   2800, 2900, 3000]
    assert rig.status.skipped_targets == 10  # 1100 … 2000 are older than the look-back


async def test_a_target_is_enqueued_only_once_confirmations_blocks_are_on_top(
    make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig([1000, 1000, 1002, 1003], confirmations=3)
    assert await rig.follower.poll_head_once() == []
    assert await rig.follower.poll_head_once() == []  # 1000 is the head: 0 on top
    assert await rig.follower.poll_head_once() == []  # 2 on top
    assert await rig.follower.poll_head_once() == [1000]  # 3 on top


async def test_block_hash_at_reads_the_canonical_hash_or_none(
    make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig([1])
    rig.node.blocks = {7: {"number": "0x7", "hash": "0x" + "AB" * 32}, 8: {"number": "0x8"}}
    rpc = rig.follower.rpc
    assert await block_hash_at(rpc, 7) == "0x" + "ab" * 32
    assert await block_hash_at(rpc, 9) is None
    with pytest.raises(RpcMalformedResponse):
        await block_hash_at(rpc, 8)

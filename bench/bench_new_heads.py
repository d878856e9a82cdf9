"""Benchmark the new-head latency with a real anvil (issue 13 §4; target: < 50 ms p50).

A ``HeadFollower`` with the ``newHeads`` subscription (``ETH_WS_URL``) and a poll interval of an
hour follows an anvil on 127.0.0.1; each block is mined with ``evm_mine`` over HTTP. For every
block this prints, from just before ``evm_mine`` is sent:

- ``announced``: the subscription delivered the block's notification (the follower is woken);
- ``acted``: the woken poll read the new head with ``eth_blockNumber`` and enqueued its target.

Run: ``PYTHONPATH=$PWD .venv/bin/python bench/bench_new_heads.py [--blocks 200]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import trio

from ethproofs_daemon.demo.anvil import find_anvil, start_anvil
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.node.config import FollowerConfig, NewHeadsConfig
from ethproofs_daemon.node.head import HeadFollower
from ethproofs_daemon.node.new_heads import NewHead
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store


class TimedFollower(HeadFollower):
    """Records when each head was announced and when a poll first trusted it."""

    announced: dict[int, float]
    acted: dict[int, float]
    changed: trio.Event

    def record(self, head: NewHead) -> None:
        self.announced.setdefault(head.number, trio.current_time())

    async def poll_head_once(self) -> list[int]:
        added = await super().poll_head_once()
        if self.status.head is not None and self.status.head not in self.acted:
            self.acted[self.status.head] = trio.current_time()
            self.changed.set()
        return added


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(blocks: int) -> None:
    async with start_anvil(binary=find_anvil()) as node:
        rpc = JsonRpcClient(RpcEndpoint(node.url + "/", timeout_s=10))
        miner = JsonRpcClient(RpcEndpoint(node.url + "/", timeout_s=10))
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "db.sqlite", clock=lambda: 1_000.0)
            config = FollowerConfig(
                proof_type="ethrex-zisk", block_interval=1, lookback_blocks=100_000,
                poll_interval_s=3600.0, start_block=0, inputs_dir=Path(tmp) / "inputs",
                new_heads=NewHeadsConfig(url=node.url.replace("http://", "ws://")))
            follower = TimedFollower(
                store=store, lifecycle=Lifecycle(store, reporting=None, retry=RetryPolicy(),
                                                 clock=lambda: 1_000.0),
                rpc=rpc, config=config, notifier=NullNotifier(), status=FollowerStatus(),
                clock=lambda: 1_000.0)
            follower.announced, follower.acted, follower.changed = {}, {}, trio.Event()
            assert follower.new_heads is not None
            wake = follower.new_heads.on_head
            follower.new_heads.on_head = lambda head: (follower.record(head), wake(head))[1]
            sent: dict[int, float] = {}
            async with trio.open_nursery() as nursery:
                nursery.start_soon(follower.run)
                with trio.fail_after(10):
                    while not (follower.new_heads.live and 0 in follower.acted):
                        await trio.sleep(0.01)
                for n in range(1, blocks + 1):
                    follower.changed = trio.Event()
                    sent[n] = trio.current_time()
                    await miner.call("evm_mine", [])
                    with trio.fail_after(10):
                        while n not in follower.acted:
                            await follower.changed.wait()
                            follower.changed = trio.Event()
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
            store.close()
        await rpc.aclose()
        await miner.aclose()
    announced = [(follower.announced[n] - sent[n]) * 1000 for n in sent]
    acted = [(follower.acted[n] - sent[n]) * 1000 for n in sent]
    print(f"{blocks} blocks mined with evm_mine on anvil; ms from sending evm_mine:")
    for name, values in (("announced (woken)", announced), ("acted (head trusted)", acted)):
        print(f"  {name:22} p50 {statistics.median(values):7.2f}  "
              f"p95 {percentile(values, 0.95):7.2f}  max {max(values):7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=200)
    args = parser.parse_args()
    trio.run(bench, args.blocks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

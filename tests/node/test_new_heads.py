"""The ``newHeads`` subscription: strict parsing of its messages, real notifications from anvil
waking the head loop, and a stand-in node (``tests/standins/new_heads_node.py``) that sends junk,
drops the connection, refuses or never confirms the subscription, or stops answering pings: the
head loop keeps polling, catches every target up, and the subscription comes back."""

from __future__ import annotations

import functools
import json
import statistics
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
import wsproto
import wsproto.events

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.demo.anvil import AnvilNode
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.node.config import FollowerConfig, NewHeadsConfig
from ethproofs_daemon.node.head import HeadFollower
from ethproofs_daemon.node.new_heads import (
    MalformedMessage,
    NewHead,
    NewHeadsSubscription,
    SubscriptionRefused,
    WsTarget,
    endpoint_label,
    parse_notification,
    parse_subscribe_reply,
    subscribe_request,
    ws_target,
)
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store
from tests.helpers import wait_until
from tests.standins.new_heads_node import Behaviour, NewHeadsNode

SUB = "0x4a78767a51544137694a3166764a6b51"
HASH = "0x" + "Ab" * 32

#: Quick retries for tests: 50 ms, 100 ms, capped at 200 ms, no jitter.
FAST = Backoff(base_s=0.05, factor=2.0, cap_s=0.2)
#: A poll interval no test waits out: a head acted on within a test's deadline was woken.
NEVER_S = 3600.0


def note(result: Any, sub: str = SUB) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                       "params": {"subscription": sub, "result": result}})


# --- parsing (pure) ---------------------------------------------------------------------------

def test_a_notification_gives_the_head_number_and_lower_case_hash() -> None:
    head = parse_notification(note({"number": "0x1b4", "hash": HASH, "miner": "0x00"}), SUB)
    assert head == NewHead(436, HASH.lower())


@pytest.mark.parametrize("message", [
    "", "not json", b"\xff\xfe", "[]", "null", '{"jsonrpc":"1.0"}',
    json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x1"}),
    note({"number": "0x1", "hash": HASH}, sub="0xother"),
    note(None), note([]), note({"hash": HASH}), note({"number": 1, "hash": HASH}),
    note({"number": "0x01", "hash": HASH}), note({"number": "0x", "hash": HASH}),
    note({"number": "0x1" + "0" * 16, "hash": HASH}), note({"number": "0x1"}),
    note({"number": "0x1", "hash": HASH[:-2]}), note({"number": "0x1", "hash": "0x" + "zz" * 32}),
    '{"jsonrpc":"2.0","x":' + "[" * 5000 + "]" * 5000 + "}",
])
def test_anything_but_a_well_formed_notification_of_ours_is_malformed(
    message: str | bytes
) -> None:
    with pytest.raises(MalformedMessage):
        parse_notification(message, SUB)


def test_the_subscribe_reply_gives_the_id_skips_others_and_raises_on_error() -> None:
    request = json.loads(subscribe_request(7))
    assert request == {"jsonrpc": "2.0", "id": 7, "method": "eth_subscribe",
                       "params": ["newHeads"]}
    assert parse_subscribe_reply('{"jsonrpc":"2.0","id":7,"result":"0xab"}', 7) == "0xab"
    assert parse_subscribe_reply('{"jsonrpc":"2.0","id":6,"result":"0xab"}', 7) is None
    assert parse_subscribe_reply(note({"number": "0x1", "hash": HASH}), 7) is None
    with pytest.raises(SubscriptionRefused):
        parse_subscribe_reply('{"jsonrpc":"2.0","id":7,"error":{"code":-32601}}', 7)
    for result in ('""', "5", "null", '{"a":1}'):
        with pytest.raises(MalformedMessage):
            parse_subscribe_reply(f'{{"jsonrpc":"2.0","id":7,"result":{result}}}', 7)


def test_only_scheme_host_and_port_of_the_url_are_logged() -> None:
    assert endpoint_label("wss://user:pw@mainnet.example/ws/v3/SECRETKEY?x=1") == (
        "wss://mainnet.example")
    assert endpoint_label("ws://127.0.0.1:8546") == "ws://127.0.0.1:8546"


def test_a_url_that_is_not_ws_or_wss_is_refused_when_the_subscription_is_made() -> None:
    assert ws_target("wss://node.example/ws/KEY?a=1") == WsTarget(
        "node.example", 443, True, "/ws/KEY?a=1")
    assert ws_target("ws://127.0.0.1:8546").host_header == "127.0.0.1:8546"
    for url in ("http://127.0.0.1:8545", "ws:///path", "127.0.0.1:8546"):
        with pytest.raises(ValueError):
            NewHeadsSubscription(NewHeadsConfig(url=url), on_head=lambda head: None)


# --- a head follower with the subscription -----------------------------------------------------

class QuiescentFollower(HeadFollower):
    """Says whether a poll is under way, so the fixture stops it between polls: cancelling an
    httpx request in the middle leaves its body generator to the garbage collector, which trio
    reports as a ResourceWarning (encode/httpx#3686)."""

    polling = False

    async def poll_head_once(self) -> list[int]:
        self.polling = True
        try:
            return await super().poll_head_once()
        finally:
            self.polling = False


@dataclass
class Rig:
    follower: QuiescentFollower
    status: FollowerStatus
    store: Store

    @property
    def sub(self) -> NewHeadsSubscription:
        assert self.follower.new_heads is not None
        return self.follower.new_heads

    def jobs(self) -> list[int]:
        return sorted(j.block_number for j in self.store.recent_jobs(1000))


@pytest.fixture
async def make_rig(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[Callable[..., Any]]:
    """Head followers running in pytest-trio's ``nursery``, stopped (and waited for) before
    their RPC client and store are closed."""
    cleanups: list[tuple[JsonRpcClient, Store]] = []
    running: list[tuple[QuiescentFollower, trio.CancelScope, trio.Event]] = []

    async def run_until_stopped(follower: HeadFollower, scope: trio.CancelScope,
                                done: trio.Event) -> None:
        try:
            with scope:
                await follower.run()
        finally:
            done.set()

    async def make(http_url: str, ws_url: str, *, poll_interval_s: float = NEVER_S,
                   block_interval: int = 100, start_block: int = 1000,
                   **ws: Any) -> Rig:
        rpc = JsonRpcClient(RpcEndpoint(http_url, timeout_s=10))
        store = Store(tmp_path / f"db{len(cleanups)}.sqlite", clock=lambda: 1_000.0)
        cleanups.append((rpc, store))
        lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=lambda: 1_000.0)
        status = FollowerStatus()
        new_heads = NewHeadsConfig(url=ws_url, reconnect=FAST, **ws)
        config = FollowerConfig(proof_type="ethrex-zisk", block_interval=block_interval,
                                lookback_blocks=10_000, poll_interval_s=poll_interval_s,
                                start_block=start_block, inputs_dir=tmp_path / "inputs",
                                new_heads=new_heads)
        follower = QuiescentFollower(store=store, lifecycle=lifecycle, rpc=rpc, config=config,
                                     notifier=NullNotifier(), status=status,
                                     clock=lambda: 1_000.0)
        scope, done = trio.CancelScope(), trio.Event()
        running.append((follower, scope, done))
        nursery.start_soon(run_until_stopped, follower, scope, done)
        return Rig(follower, status, store)

    yield make
    for follower, scope, done in running:
        await wait_until(lambda f=follower: not f.polling, 5.0, poll_s=0.001)
        scope.cancel()
        with trio.fail_after(5):
            await done.wait()
    for rpc, store in cleanups:
        await rpc.aclose()
        store.close()


@pytest.fixture
async def node(nursery: trio.Nursery) -> NewHeadsNode:
    standin = NewHeadsNode(head=1050)
    await standin.start(nursery)
    return standin


async def test_anvil_announces_every_mined_block_and_each_one_wakes_the_head_loop(
    anvil: AnvilNode, make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig(anvil.url + "/", anvil.url.replace("http://", "ws://"),
                              block_interval=2, start_block=0)
    await wait_until(lambda: rig.status.new_heads_live is True and rig.status.head == 0)
    heads: list[NewHead] = []
    on_head = rig.sub.on_head
    rig.sub.on_head = lambda head: (heads.append(head), on_head(head))[1]
    mine = JsonRpcClient(RpcEndpoint(anvil.url + "/", timeout_s=10))
    latencies_ms = []
    try:
        for n in range(1, 11):
            started = trio.current_time()
            await mine.call("evm_mine", [])
            await wait_until(lambda n=n: rig.status.head == n, 5.0, poll_s=0.001)
            latencies_ms.append((trio.current_time() - started) * 1000)
        await mine.call("anvil_mine", ["0x3"])
        await wait_until(lambda: len(heads) == 13 and rig.status.head == 13, 5.0)
        hashes = [await mine.call("eth_getBlockByNumber", [hex(n), False]) for n in (1, 13)]
    finally:
        await mine.aclose()
    assert [h.number for h in heads] == list(range(1, 14))
    assert [heads[0].block_hash, heads[-1].block_hash] == [h["hash"] for h in hashes]
    assert rig.jobs() == list(range(0, 14, 2))
    assert rig.sub.messages_skipped == 0 and rig.sub.sessions == 1
    print(f"anvil mine → head loop acted: p50 {statistics.median(latencies_ms):.1f} ms, "
          f"max {max(latencies_ms):.1f} ms over {len(latencies_ms)} blocks")


async def test_junk_between_notifications_is_skipped_and_heads_still_wake_the_loop(
    node: NewHeadsNode, make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig(node.http_url, node.ws_url)
    await wait_until(lambda: rig.status.new_heads_live is True and rig.status.head == 1050)
    junk = ["}{", b"\x00\xff", "[1,2]", note({"number": "0x1", "hash": HASH}, sub="0xother"),
            note({"number": "0x1"}, sub="0x" + "0" * 31 + "1"), '{"jsonrpc":"2.0","id":99}']
    await node.advance(50, junk=junk)
    await wait_until(lambda: rig.status.head == 1100)
    await node.advance(100, junk=junk)
    await wait_until(lambda: rig.status.head == 1200)
    assert rig.jobs() == [1000, 1100, 1200]
    assert rig.sub.messages_skipped == 2 * len(junk)
    assert rig.sub.sessions == 1 and rig.status.new_heads_live is True


async def test_a_dropped_connection_is_reopened_and_heads_wake_the_loop_again(
    node: NewHeadsNode, make_rig: Callable[..., Any]
) -> None:
    node.behaviours = [Behaviour.DROP, Behaviour.DROP, Behaviour.NORMAL]
    rig: Rig = await make_rig(node.http_url, node.ws_url)
    await wait_until(lambda: node.subscribers == 1 and rig.status.new_heads_live is True)
    assert rig.sub.sessions == 3
    await wait_until(lambda: rig.status.head == 1050)
    await node.advance(50)
    await wait_until(lambda: rig.status.head == 1100)
    assert rig.jobs() == [1000, 1100]


@pytest.mark.parametrize("behaviour", [Behaviour.SILENT, Behaviour.REFUSE])
async def test_while_the_subscription_is_not_confirmed_polling_catches_every_target(
    node: NewHeadsNode, make_rig: Callable[..., Any], behaviour: Behaviour
) -> None:
    node.behaviours = [behaviour]
    rig: Rig = await make_rig(node.http_url, node.ws_url, poll_interval_s=0.05,
                              subscribe_timeout_s=0.2)
    for _ in range(5):
        await node.advance(100)
        await wait_until(lambda: rig.status.head == node.head)
    await wait_until(lambda: rig.sub.sessions >= 3)
    assert rig.status.new_heads_live is False
    assert rig.jobs() == [1000, 1100, 1200, 1300, 1400, 1500]
    assert rig.status.skipped_targets == 0
    node.behaviours.append(Behaviour.NORMAL)  # the node gets well: the next session is live
    await wait_until(lambda: rig.status.new_heads_live is True)


async def test_a_head_announced_far_ahead_catches_up_the_targets_in_between(
    node: NewHeadsNode, make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig(node.http_url, node.ws_url)
    await wait_until(lambda: rig.status.head == 1050)
    await node.advance(350)  # 1100, 1200, 1300 and 1400 in one announcement
    await wait_until(lambda: rig.status.head == 1400)
    assert rig.jobs() == [1000, 1100, 1200, 1300, 1400]


async def test_without_a_websocket_server_the_loop_polls_and_the_subscription_retries(
    node: NewHeadsNode, make_rig: Callable[..., Any]
) -> None:
    with trio.socket.socket() as unused:  # a port nothing listens on
        await unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    rig: Rig = await make_rig(node.http_url, f"ws://127.0.0.1:{port}", poll_interval_s=0.05)
    await node.advance(100)
    await wait_until(lambda: rig.status.head == 1150 and rig.sub.sessions >= 3)
    assert rig.jobs() == [1000, 1100]
    assert rig.status.new_heads_live is False


async def test_an_oversized_message_closes_the_socket_and_the_subscription_reopens(
    node: NewHeadsNode, make_rig: Callable[..., Any]
) -> None:
    rig: Rig = await make_rig(node.http_url, node.ws_url, max_message_bytes=4096)
    await wait_until(lambda: rig.status.new_heads_live is True)
    await node.send_raw("x" * 5000)
    await wait_until(lambda: rig.sub.sessions == 2 and rig.status.new_heads_live is True)
    await node.advance(50)
    await wait_until(lambda: rig.status.head == 1100)


async def _deaf_websocket(stream: trio.SocketStream) -> None:
    """Confirm the subscription, then never read again: pings go unanswered."""
    conn = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    with trio.move_on_after(5):
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, wsproto.events.Request):
                    await stream.send_all(conn.send(wsproto.events.AcceptConnection()))
                elif isinstance(event, wsproto.events.TextMessage):
                    reply = {"jsonrpc": "2.0", "id": json.loads(event.data)["id"],
                             "result": "0x01"}
                    await stream.send_all(conn.send(wsproto.events.Message(
                        data=json.dumps(reply))))
                    await trio.sleep(5)  # deaf until the client gives up
                    return


async def test_a_connection_that_stops_answering_pings_is_replaced(
    nursery: trio.Nursery,
) -> None:
    listeners = await nursery.start(functools.partial(trio.serve_tcp, _deaf_websocket, 0,
                                                      host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    live: list[bool] = []
    sub = NewHeadsSubscription(
        NewHeadsConfig(url=f"ws://127.0.0.1:{port}", reconnect=FAST, ping_interval_s=0.05,
                       ping_timeout_s=0.1),
        on_head=lambda head: None, on_live=live.append)
    nursery.start_soon(sub.run)
    await wait_until(lambda: sub.sessions >= 2)
    assert live[:2] == [True, False]

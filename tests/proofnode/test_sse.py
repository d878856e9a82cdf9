"""SSE ``GET /v1/execution_proof_requests``: catch-up, live events, keep-alives, disconnects.

Spec: the operation's description in ``../shared/specs/proof-node-api.openapi.json``;
reference behaviour ``../shared/docs/proof-node-api.md`` §1.6 (failures are replayed here too).
"""

from __future__ import annotations

from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.events import ProofEvent
from ethproofs_daemon.proofnode.settings import ProofNodeSettings
from tests.helpers import wait_until

from .harness import (
    ZKBOOST_BLOCK_HASH,
    ZKBOOST_ROOT,
    Node,
    post,
    start_node,
    stop_node,
    witness_for_tests,
    zkboost_body,
)
from .sse_client import next_event, subscribe

OTHER_ROOT = "0x" + "ab" * 32


def count_tasks() -> int:
    """Every task alive in this trio run (walks the task tree from the root task)."""
    seen = 0
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        seen += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return seen


async def test_subscriber_after_completion_receives_it(node: Node, shared_fixtures: Path) -> None:
    node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    await post(node, zkboost_body(shared_fixtures))
    await wait_until(lambda: node.service.cache_size == 1)
    async with subscribe(node.client, {"new_payload_request_root": ZKBOOST_ROOT}) as items:
        item = await next_event(items)
        assert item.event == "proof_complete"
        assert item.data == {"new_payload_request_root": ZKBOOST_ROOT, "proof_type": "ethrex-zisk"}
        node.service.hub.publish(ProofEvent.complete(OTHER_ROOT, "ethrex-zisk"))  # filtered out
        node.service.hub.publish(
            ProofEvent.failure(ZKBOOST_ROOT, "ethrex-zisk", FailureReason.INTERNAL_ERROR, "x")
        )
        following = await next_event(items)
        assert following.event == "proof_failure"  # the other root's event never arrived


async def test_subscriber_before_completion_receives_it_live_without_duplicates(
    node: Node, shared_fixtures: Path
) -> None:
    node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    node.prover.gate = trio.Event()
    async with (
        subscribe(node.client, {"new_payload_request_root": ZKBOOST_ROOT}) as by_root,
        subscribe(node.client) as everything,
    ):
        await wait_until(lambda: node.service.subscriber_count == 2)
        await post(node, zkboost_body(shared_fixtures))
        node.prover.gate.set()
        for items in (by_root, everything):
            item = await next_event(items)
            assert item.event == "proof_complete"
            assert item.data is not None
            assert item.data["new_payload_request_root"] == ZKBOOST_ROOT
        node.service.hub.publish(ProofEvent.complete(OTHER_ROOT, "ethrex-zisk"))
        assert (await next_event(everything)).data == {
            "new_payload_request_root": OTHER_ROOT,
            "proof_type": "ethrex-zisk",
        }


async def test_catch_up_then_live_sends_an_event_once(node: Node, tmp_path: Path) -> None:
    """An event published after subscribing that the catch-up already sent is skipped once."""
    from contextlib import aclosing

    from ethproofs_daemon.proofnode.app import proof_event_stream

    proof = tmp_path / "proof.bin"
    proof.write_bytes(b"p")
    node.service.cache.put(ZKBOOST_ROOT, "ethrex-zisk", proof)
    async with aclosing(proof_event_stream(node.service, ZKBOOST_ROOT)) as stream:
        first = await anext(stream)  # the catch-up; the subscription exists from here on
        assert (first.event, node.service.subscriber_count) == ("proof_complete", 1)
        node.service.hub.publish(ProofEvent.complete(ZKBOOST_ROOT, "ethrex-zisk"))  # duplicate
        failure = ProofEvent.failure(ZKBOOST_ROOT, "reth-zisk", FailureReason.PROVING_ERROR, "e")
        node.service.hub.publish(failure)
        node.service.hub.publish(ProofEvent.complete(ZKBOOST_ROOT, "ethrex-zisk"))  # new again
        assert [(await anext(stream)).event for _ in range(2)] == [
            "proof_failure",
            "proof_complete",
        ]
    assert node.service.subscriber_count == 0


async def test_keepalive_comments_arrive_on_an_idle_stream(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0, keepalive_s=0.2))
    try:
        async with subscribe(node.client) as items:
            comments = 0
            with trio.fail_after(5):
                async for item in items:
                    assert item.event is None
                    comments += item.comment is not None
                    if comments == 3:
                        break
            assert comments == 3
    finally:
        await stop_node(node)


async def test_a_disconnecting_client_leaves_no_task(node: Node) -> None:
    await trio.sleep(0.05)
    baseline = count_tasks()
    async with subscribe(node.client, {"new_payload_request_root": ZKBOOST_ROOT}):
        await wait_until(lambda: node.service.subscriber_count == 1)
        assert count_tasks() > baseline
    await node.client.aclose()  # drop the pooled connection too
    await wait_until(lambda: node.service.subscriber_count == 0)
    await wait_until(lambda: count_tasks() == baseline)


async def test_invalid_root_filter_is_400(node: Node) -> None:
    reply = await node.client.get(
        "/v1/execution_proof_requests", params={"new_payload_request_root": "0x1234"}
    )
    assert reply.status_code == 400
    assert reply.json()["code"] == 400


async def test_streams_end_when_the_service_stops(node: Node) -> None:
    async with node.client.stream("GET", "/v1/execution_proof_requests") as reply:
        await wait_until(lambda: node.service.subscriber_count == 1)
        node.service.hub.close_all()  # what ProofNodeService.run does when it ends
        with trio.fail_after(5):
            async for _ in reply.aiter_bytes():
                pass

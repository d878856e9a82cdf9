"""Issue 14: a Proof Node API request in flight when the daemon stops is answered after the
restart with a ``proof_failure`` (never silently dropped). Real service and API server on
127.0.0.1, a real SQLite cache; the second service reads the first one's state directory."""

from __future__ import annotations

from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.events import EventName

from .harness import (
    ZKBOOST_BLOCK_HASH,
    ZKBOOST_ROOT,
    post,
    start_node,
    stop_node,
    witness_for_tests,
    zkboost_body,
)
from .standin_backend import StandinProver


async def test_a_request_in_flight_at_a_stop_is_a_proof_failure_after_the_restart(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as first:
            node = await start_node(first, tmp_path, prover=StandinProver(gate=trio.Event()))
            node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
            status, doc = await post(node, zkboost_body(shared_fixtures))
            assert status == 200 and doc["new_payload_request_root"] == ZKBOOST_ROOT
            while not node.prover.calls:  # bounded by fail_after: the job is proving
                await trio.sleep(0.02)
            await node.client.aclose()
            await node.rpc.aclose()
            node.conn.close()
            first.cancel_scope.cancel()  # the daemon stops with the job in flight
        async with trio.open_nursery() as second:
            again = await start_node(second, tmp_path)
            try:
                events = again.service.catch_up(ZKBOOST_ROOT)
                assert [(e.name, e.proof_type, e.reason) for e in events] == [
                    (EventName.PROOF_FAILURE, "ethrex-zisk", FailureReason.INTERNAL_ERROR)]
                assert "restarted" in (events[0].error or "")
                assert not (tmp_path / "in-flight").exists() or not any(
                    (tmp_path / "in-flight").iterdir())
            finally:
                await stop_node(again)
                second.cancel_scope.cancel()


async def test_a_request_body_is_dropped_once_its_input_is_written(
    nursery: trio.Nursery, tmp_path: Path, shared_fixtures: Path
) -> None:
    node = await start_node(nursery, tmp_path, prover=StandinProver(gate=trio.Event()))
    try:
        node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
        status, _ = await post(node, zkboost_body(shared_fixtures))
        assert status == 200
        with trio.fail_after(30):
            while not node.prover.calls:  # the job waits in the prover: its input is written
                await trio.sleep(0.02)
        work = node.service._roots[ZKBOOST_ROOT]
        assert work.input_path is not None and work.input_path.stat().st_size > 602
        assert work.request.body == b""  # the 602-byte body is no longer held
        assert work.request.root_hex == ZKBOOST_ROOT
    finally:
        await stop_node(node)

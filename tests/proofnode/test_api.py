"""The Proof Node API over real HTTP (hypercorn on 127.0.0.1:0) with the stand-in prover.

Spec: ``../shared/specs/proof-node-api.openapi.json``; reference behaviour:
``../shared/docs/proof-node-api.md`` §1.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.backend import ProvingFailed
from ethproofs_daemon.proofnode.settings import ProofNodeSettings
from tests.helpers import wait_until

from .harness import (
    ZKBOOST_BLOCK_HASH,
    ZKBOOST_ROOT,
    FakeNode,
    Node,
    post,
    start_node,
    stop_node,
    witness_for_tests,
    zkboost_body,
)
from .sse_client import next_event, subscribe
from .standin_backend import StandinProver


async def test_end_to_end_request_event_download_verify(node: Node, shared_fixtures: Path) -> None:
    node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    async with subscribe(node.client, {"new_payload_request_root": ZKBOOST_ROOT}) as items:
        await wait_until(lambda: node.service.subscriber_count == 1)
        status, doc = await post(node, zkboost_body(shared_fixtures))
        assert (status, doc) == (200, {"new_payload_request_root": ZKBOOST_ROOT})
        item = await next_event(items)
    assert item.event == "proof_complete"
    assert item.data == {"new_payload_request_root": ZKBOOST_ROOT, "proof_type": "ethrex-zisk"}
    proof = await node.client.get(f"/v1/execution_proofs/{ZKBOOST_ROOT}/ethrex-zisk")
    assert proof.status_code == 200
    assert proof.headers["content-type"] == "application/octet-stream"
    verify_params = {"new_payload_request_root": ZKBOOST_ROOT, "proof_type": "ethrex-zisk"}
    valid = await node.client.post(
        "/v1/execution_proof_verifications", params=verify_params, content=proof.content
    )
    assert valid.json() == {"status": "VALID"}
    tampered = bytearray(proof.content)
    tampered[20] ^= 0x01
    invalid = await node.client.post(
        "/v1/execution_proof_verifications", params=verify_params, content=bytes(tampered)
    )
    assert (invalid.status_code, invalid.json()) == (200, {"status": "INVALID"})
    other_root = "0x" + "00" * 32
    wrong = await node.client.post(
        "/v1/execution_proof_verifications",
        params={**verify_params, "new_payload_request_root": other_root},
        content=proof.content,
    )
    assert wrong.json() == {"status": "INVALID"}
    (call,) = node.prover.calls
    assert (call.priority, call.timeout_s) == (7, 30.0)
    assert node.service.queue_length == 0
    assert node.service.cache_size == 1
    assert not any((node.tmp / "work").iterdir())  # inputs removed once proved


async def test_duplicate_requests_are_proved_once(node: Node, shared_fixtures: Path) -> None:
    node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    node.prover.gate = trio.Event()
    body = zkboost_body(shared_fixtures)
    assert (await post(node, body))[0] == 200
    assert (await post(node, body))[0] == 200  # in flight
    assert node.service.queue_length == 1
    node.prover.gate.set()
    await wait_until(lambda: node.service.cache_size == 1)
    assert (await post(node, body))[0] == 200  # cached
    await trio.sleep(0.1)
    assert len(node.prover.calls) == 1
    assert node.service.queue_length == 0


async def test_validation_errors_follow_the_reference(node: Node, shared_fixtures: Path) -> None:
    body = zkboost_body(shared_fixtures)
    cases = {
        None: "Failed to deserialize query string: missing field `proof_types`",
        "": "empty proof types in request",
        "ethrex-zisk,ethrex-zisk": "duplicate proof types in request",
        " ethrex-zisk , ethrex-zisk": "duplicate proof types in request",
        "reth-sp1": "no zkVM configured for proof type 'reth-sp1'",
        "foo": "Failed to deserialize query string: Unsupported proof type `foo`, expect one of "
        "[ethrex-risc0, ethrex-sp1, ethrex-zisk, reth-openvm, reth-risc0, reth-sp1, reth-zisk]",
    }
    for proof_types, message in cases.items():
        assert await post(node, body, proof_types) == (400, {"code": 400, "message": message})


async def test_malformed_bodies_get_400_never_500(node: Node, shared_fixtures: Path) -> None:
    body = zkboost_body(shared_fixtures)
    bad_offset = b"\x30\x00\x00\x00" + body[4:]
    for bad in (b"", b"\x00" * 3, body + b"\x00", body[:-1], bad_offset, b"\xff" * 700):
        status, doc = await post(node, bad)
        assert status == 400, bad[:8]
        assert doc["message"].startswith("invalid SSZ body: ")
    status, doc = await post(node, body + b"\x00")
    assert "trailing bytes" in doc["message"]
    assert node.prover.calls == []


async def test_oversized_body_is_refused_before_decoding(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    node = await start_node(
        nursery, tmp_path, settings=ProofNodeSettings(port=0, max_body_bytes=100)
    )
    try:
        status, doc = await post(node, b"\x00" * 101)
        assert status == 413
        assert doc == {"code": 413, "message": "body of 101 bytes exceeds 100 bytes"}
    finally:
        await stop_node(node)


async def test_witness_timeout_is_a_proof_failure_replayed_to_late_subscribers(
    nursery: trio.Nursery, tmp_path: Path, shared_fixtures: Path
) -> None:
    settings = ProofNodeSettings(port=0, witness_timeout_s=0.3)
    node = await start_node(nursery, tmp_path, settings=settings, fake_el=FakeNode(nulls=10**6))
    try:
        assert (await post(node, zkboost_body(shared_fixtures)))[0] == 200
        await wait_until(lambda: node.service.queue_length == 0)
        async with subscribe(node.client, {"new_payload_request_root": ZKBOOST_ROOT}) as items:
            item = await next_event(items)
        assert item.event == "proof_failure"
        assert item.data is not None
        assert item.data["reason"] == "witness_timeout"
        assert item.data["error"].startswith(f"witness timeout for block {ZKBOOST_BLOCK_HASH}")
        assert node.service.failed_total[FailureReason.WITNESS_TIMEOUT] == 1
    finally:
        await stop_node(node)


async def test_prover_failures_become_events_and_a_retry_proves_again(
    node: Node, shared_fixtures: Path
) -> None:
    node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    body = zkboost_body(shared_fixtures)
    for reason in (FailureReason.PROVING_TIMEOUT, FailureReason.PROVING_ERROR):
        node.prover.fail_with = ProvingFailed(reason, f"{reason} from the stand-in")
        assert (await post(node, body))[0] == 200
        await wait_until(lambda r=reason: node.service.failed_total[r] == 1)  # type: ignore[misc]
        (event,) = node.service.hub.failures_for(ZKBOOST_ROOT)
        assert (event.reason, event.error) == (reason, f"{reason} from the stand-in")
    node.prover.fail_with = None
    assert (await post(node, body))[0] == 200
    await wait_until(lambda: node.service.cache_size == 1)
    assert node.service.hub.failures_for(ZKBOOST_ROOT) == []
    assert len(node.prover.calls) == 3


async def test_proving_timeout_from_the_backend(
    nursery: trio.Nursery, tmp_path: Path, shared_fixtures: Path
) -> None:
    settings = ProofNodeSettings(port=0, proving_timeout_s=0.2)
    node = await start_node(nursery, tmp_path, settings=settings, prover=StandinProver(proving_s=5))
    try:
        node.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
        await post(node, zkboost_body(shared_fixtures))
        await wait_until(lambda: node.service.failed_total[FailureReason.PROVING_TIMEOUT] == 1)
        (event,) = node.service.hub.failures_for(ZKBOOST_ROOT)
        assert json.loads(event.data_json())["error"] == "proving timed out after 0.20 seconds"
    finally:
        await stop_node(node)


async def test_unknown_proof_and_unknown_route_are_404(node: Node) -> None:
    missing = await node.client.get(f"/v1/execution_proofs/{ZKBOOST_ROOT}/ethrex-zisk")
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": 404, "message": f"proof not found for root {ZKBOOST_ROOT} and type ethrex-zisk"},
    )
    bad_root = await node.client.get("/v1/execution_proofs/0xABC/ethrex-zisk")
    assert bad_root.status_code == 404
    route = await node.client.get("/v2/nothing")
    assert route.json() == {"code": 404, "message": "route not found"}


async def test_verification_of_an_unconfigured_type_is_404(node: Node) -> None:
    reply = await node.client.post(
        "/v1/execution_proof_verifications",
        params={"new_payload_request_root": ZKBOOST_ROOT, "proof_type": "reth-sp1"},
        content=b"x",
    )
    assert (reply.status_code, reply.json()) == (
        404,
        {"code": 404, "message": "unknown proof_type: reth-sp1"},
    )
    short = await node.client.post(
        "/v1/execution_proof_verifications",
        params={"new_payload_request_root": ZKBOOST_ROOT, "proof_type": "ethrex-zisk"},
        content=b"x",
    )
    assert short.json() == {"status": "INVALID"}  # the verifier could not run: INVALID


async def test_proof_types_lists_the_configured_types(node: Node) -> None:
    reply = await node.client.get("/v1/proof_types")
    assert reply.json() == {
        "proof_types": [
            {"proof_type": "ethrex-zisk", "kind": "zisk", "can_prove": True, "can_verify": True}
        ]
    }


async def test_cached_proofs_survive_a_restart(
    nursery: trio.Nursery, tmp_path: Path, shared_fixtures: Path
) -> None:
    first = await start_node(nursery, tmp_path / "a")
    first.fake_el.witnesses[ZKBOOST_BLOCK_HASH] = witness_for_tests(shared_fixtures)
    await post(first, zkboost_body(shared_fixtures))
    await wait_until(lambda: first.service.cache_size == 1)
    proof = (await first.client.get(f"/v1/execution_proofs/{ZKBOOST_ROOT}/ethrex-zisk")).content
    await stop_node(first)
    second = await start_node(nursery, tmp_path / "a")  # same store file, same proof folder
    try:
        again = await second.client.get(f"/v1/execution_proofs/{ZKBOOST_ROOT}/ethrex-zisk")
        assert again.content == proof
        assert (await post(second, zkboost_body(shared_fixtures)))[0] == 200
        assert second.prover.calls == []  # cached: not proved again
    finally:
        await stop_node(second)


async def test_a_large_body_is_decoded_off_the_event_loop(node: Node) -> None:
    from ethproofs_daemon.ssz import Fork, decode_new_payload_request, encode_new_payload_request

    payload = (
        b"\x01" * 32, b"\x02" * 20, b"\x03" * 32, b"\x04" * 32, b"\x00" * 256, b"\x05" * 32,
        9, 30_000_000, 21_000, 1_700_000_000, b"", 7, b"\x06" * 32, (b"\x02" * 200_000,) * 2,
    )  # fmt: skip
    body = encode_new_payload_request((payload,), Fork.BELLATRIX)
    node.fake_el.witnesses["0x" + "06" * 32] = {"state": [], "codes": [], "headers": []}
    status, doc = await post(node, body)
    assert status == 200
    assert doc == {"new_payload_request_root": decode_new_payload_request(body).root_hex}
    await wait_until(lambda: node.service.cache_size == 1)  # the stand-in guest read it too

"""The EthProofs client against the stand-in API (ethproofs-api.md §1.2, §1.3, §1.5)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.ethproofs import EthProofsClient, Rejected, Retryable, make_client
from ethproofs_daemon.reporting.payloads import (
    ProvedFields,
    proved_payload,
    proving_payload,
    queued_payload,
)
from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs
from tests.standins.serve import serving_on_loopback

KEY = "test-key-0123456789abcdef"
CLUSTER = 7


@pytest.fixture
async def api() -> AsyncIterator[tuple[EthProofsClient, EthProofsState]]:
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        yield EthProofsClient(base_url, KEY, http, timeout_s=5.0), state


def proved(block: int, proof: bytes = b"\x00proof\xff") -> str:
    return proved_payload(block, CLUSTER, ProvedFields(1234, proof, 99, "id-1"))


async def test_three_reports_are_accepted_with_bearer_auth_and_json(
    api: tuple[EthProofsClient, EthProofsState],
) -> None:
    client, state = api
    assert await client.post_status(ReportKind.QUEUED, queued_payload(100, CLUSTER)) == 200
    assert await client.post_status(ReportKind.PROVING, proving_payload(100, CLUSTER)) == 200
    assert await client.post_status(ReportKind.PROVED, proved(100)) == 200
    assert state.sequence() == [(100, "queued"), (100, "proving"), (100, "proved")]
    assert {r.authorization for r in state.received} == {f"Bearer {KEY}"}
    assert {r.content_type for r in state.received} == {"application/json"}
    assert base64.b64decode(state.received[-1].body["proof"]) == b"\x00proof\xff"
    assert state.proof_status(100, CLUSTER) == "proved"


async def test_409_after_proved_is_returned_not_raised(
    api: tuple[EthProofsClient, EthProofsState],
) -> None:
    client, _ = api
    await client.post_status(ReportKind.QUEUED, queued_payload(100, CLUSTER))
    await client.post_status(ReportKind.PROVED, proved(100))
    assert await client.post_status(ReportKind.PROVED, proved(100)) == 409
    assert await client.post_status(ReportKind.QUEUED, queued_payload(100, CLUSTER)) == 409


async def test_proved_before_queued_is_a_retryable_500(
    api: tuple[EthProofsClient, EthProofsState],
) -> None:
    client, state = api
    with pytest.raises(Retryable) as info:
        await client.post_status(ReportKind.PROVED, proved(200))
    assert info.value.status == 500
    assert "Internal server error" in str(info.value)
    assert state.statuses() == [500]


async def test_429_carries_retry_after(api: tuple[EthProofsClient, EthProofsState]) -> None:
    client, state = api
    state.fail_next_429 = 1
    state.retry_after = "3"
    with pytest.raises(Retryable) as info:
        await client.post_status(ReportKind.QUEUED, queued_payload(1, CLUSTER))
    assert (info.value.status, info.value.retry_after_s) == (429, 3.0)


async def test_schema_error_is_rejected_with_the_plain_text_body(
    api: tuple[EthProofsClient, EthProofsState],
) -> None:
    client, _ = api
    body = json.dumps({"block_number": 1, "cluster_id": CLUSTER, "proving_time": 0, "proof": "x"})
    with pytest.raises(Rejected) as info:
        await client.post_status(ReportKind.PROVED, body)
    assert info.value.status == 400
    assert info.value.body.startswith("Invalid request:")
    assert "proving_time" in info.value.body


async def test_unknown_cluster_is_rejected_404(api: tuple[EthProofsClient, EthProofsState]) -> None:
    client, _ = api
    with pytest.raises(Rejected) as info:
        await client.post_status(ReportKind.QUEUED, queued_payload(1, 99))
    assert (info.value.status, info.value.body) == (404, "Cluster not found")


async def test_bad_key_is_rejected_401_and_never_echoed() -> None:
    async with run_standin_ethproofs() as (base_url, _), httpx.AsyncClient() as http:
        client = EthProofsClient(base_url, "wrong-key-secret", http)
        with pytest.raises(Rejected) as info:
            await client.post_status(ReportKind.QUEUED, queued_payload(1, CLUSTER))
    assert (info.value.status, info.value.body) == (401, "Invalid API key")
    assert "wrong-key-secret" not in str(info.value) + repr(client)


async def test_transport_failure_is_retryable() -> None:
    async with run_standin_ethproofs() as (base_url, _):
        pass  # server stopped: the port now refuses connections
    async with httpx.AsyncClient() as http:
        client = EthProofsClient(base_url, KEY, http, timeout_s=2.0)
        with pytest.raises(Retryable) as info:
            await client.post_status(ReportKind.QUEUED, queued_payload(1, CLUSTER))
    assert info.value.status is None
    assert KEY not in str(info.value)


async def test_make_client_is_none_unless_url_and_key_are_set() -> None:
    async with httpx.AsyncClient() as http:
        assert make_client(None, KEY, http) is None
        assert make_client("http://x/api/v0", "", http) is None
        client = make_client("http://x/api/v0/", KEY, http)
        assert client is not None and client.url_for(ReportKind.PROVED) == (
            "http://x/api/v0/proofs/proved"
        )


async def test_a_body_its_charset_cannot_decode_is_still_classified() -> None:
    # Found by fuzz/ethproofs_replies.py: reply.text raised UnicodeError (utf-16 declared, no
    # BOM) out of post_status, which the reporter does not catch.
    async def reply(request: Request) -> Response:
        return Response(b"bad gateway", status_code=502,
                        headers={"content-type": "text/plain; charset=utf-16"})

    app = Starlette(routes=[Route("/api/v0/proofs/queued", reply, methods=["POST"])])
    async with serving_on_loopback(app) as base_url, httpx.AsyncClient() as http:
        client = EthProofsClient(base_url + "/api/v0", KEY, http)
        with pytest.raises(Retryable, match="HTTP 502"):
            await client.post_status(ReportKind.QUEUED, queued_payload(1, CLUSTER))


async def test_a_deeply_nested_200_body_is_delivered() -> None:
    # Found by fuzz/ethproofs_replies.py: the proof_id lookup ran json.loads on it
    # (RecursionError out of post_status, or a C stack overflow under a raised recursion limit).
    async def reply(request: Request) -> Response:
        return Response(b"[" * 100_000 + b"]" * 100_000, media_type="application/json")

    app = Starlette(routes=[Route("/api/v0/proofs/queued", reply, methods=["POST"])])
    async with serving_on_loopback(app) as base_url, httpx.AsyncClient() as http:
        client = EthProofsClient(base_url + "/api/v0", KEY, http)
        assert await client.post_status(ReportKind.QUEUED, queued_payload(1, CLUSTER)) == 200

"""Bind and limits of the Proof Node API over real HTTP (hypercorn on 127.0.0.1:0): the body limit
(413), the optional bearer token (401), the SSE subscriber cap (503), the bounded number of body
decodes at once, and the loopback default bind."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import trio

from ethproofs_daemon.http.server import MAX_IN_FLIGHT
from ethproofs_daemon.proofnode.app import serve_proof_node
from ethproofs_daemon.proofnode.settings import ProofNodeSettings
from ethproofs_daemon.ssz import DecodedNewPayloadRequest, SszError
from tests.helpers import wait_until

from .harness import REQUESTS, start_node, stop_node
from .sse_client import subscribe

TOKEN = "t0ken-for-tests"


async def raw_exchange(url: str, request: bytes, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """Send ``request`` on a new TCP connection to ``url``'s host and port; (status, whole reply
    up to the end of its JSON body). Bounded by ``timeout_s``."""
    parsed = httpx.URL(url)
    assert parsed.port is not None
    stream = await trio.open_tcp_stream(parsed.host, parsed.port)
    reply = b""
    async with stream:
        with trio.fail_after(timeout_s):
            await stream.send_all(request)
            while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply


def head(target: str, *lines: str) -> bytes:
    lines = (f"POST {target} HTTP/1.1", "Host: 127.0.0.1", *lines)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_declared_oversized_body_is_413_before_any_byte_is_read(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0,
                                                                          max_body_bytes=100))
    try:
        # Only the head is sent: the answer cannot wait for the (never sent) 5000 bytes.
        status, reply = await raw_exchange(node.url, head(
            f"{REQUESTS}?proof_types=ethrex-zisk", "Content-Length: 5000"))
        assert status == 413
        assert b'"code":413' in reply and b"exceeds 100 bytes" in reply
        assert node.prover.calls == []
    finally:
        await stop_node(node)


async def test_chunked_oversized_body_is_413_once_past_the_limit(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0,
                                                                          max_body_bytes=100))
    try:
        chunk = b"\x00" * 60
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
        status, reply = await raw_exchange(node.url, head(
            f"{REQUESTS}?proof_types=ethrex-zisk", "Transfer-Encoding: chunked") + chunks)
        assert status == 413
        assert b"body exceeds 100 bytes" in reply
        # Through httpx as well (a streamed body has no Content-Length).
        async def body() -> Any:
            for _ in range(3):
                yield chunk

        answer = await node.client.post(REQUESTS, params={"proof_types": "ethrex-zisk"},
                                        content=body())
        assert answer.status_code == 413
        assert "content-length" not in answer.request.headers
        assert node.prover.calls == []
    finally:
        await stop_node(node)


async def test_token_is_required_on_every_route_when_set(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    settings = ProofNodeSettings(port=0, token=TOKEN)
    assert TOKEN not in repr(settings)
    node = await start_node(nursery, tmp_path, settings=settings)
    root = "0x" + "ab" * 32
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            for method, path, params in (
                ("GET", "/v1/proof_types", {}),
                ("POST", REQUESTS, {"proof_types": "ethrex-zisk"}),
                ("GET", REQUESTS, {}),
                ("GET", f"/v1/execution_proofs/{root}/ethrex-zisk", {}),
                ("POST", "/v1/execution_proof_verifications",
                 {"new_payload_request_root": root, "proof_type": "ethrex-zisk"}),
                ("GET", "/nope", {}),
            ):
                reply = await node.client.request(method, path, params=params, headers=headers,
                                                  content=b"\x00" if method == "POST" else None)
                assert reply.status_code == 401, (headers, method, path)
                assert reply.headers["www-authenticate"] == "Bearer"
                assert reply.json() == {"code": 401, "message": "missing or invalid bearer token"}
        good = {"Authorization": f"Bearer {TOKEN}"}
        types = await node.client.get("/v1/proof_types", headers=good)
        assert types.status_code == 200 and "ethrex-zisk" in types.text
        missing = await node.client.get(f"/v1/execution_proofs/{root}/ethrex-zisk", headers=good)
        assert missing.status_code == 404
        bad = await node.client.post(REQUESTS, params={"proof_types": "ethrex-zisk"},
                                     content=b"\x00", headers=good)
        assert bad.status_code == 400
        node.client.headers.update(good)
        async with subscribe(node.client):
            await wait_until(lambda: node.service.subscriber_count == 1)
    finally:
        await stop_node(node)


async def test_subscribers_past_the_cap_get_503_until_one_leaves(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0,
                                                                          max_subscribers=2))
    try:
        async with subscribe(node.client), subscribe(node.client, {
            "new_payload_request_root": "0x" + "11" * 32
        }):  # fmt: skip
            await wait_until(lambda: node.service.subscriber_count == 2)
            refused = await node.client.get(REQUESTS)
            assert refused.status_code == 503
            assert refused.json() == {"code": 503, "message": "too many subscribers (2)"}
            assert refused.headers["retry-after"] == "5"
        # The slots come back once the streams end (bounded wait).
        await wait_until(lambda: node.service.subscriber_count == 0)
        with trio.fail_after(10):
            while True:
                async with node.client.stream("GET", REQUESTS) as reply:
                    if reply.status_code == 200:
                        break
                    await reply.aread()
                await trio.sleep(0.05)
    finally:
        await stop_node(node)


class CountingDecoder:
    """Decoder stand-in run in worker threads: records how many run at once, waits for
    ``release`` (bounded), then refuses the body."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, body: bytes, *, max_bytes: int,
                 gloas_enabled: bool) -> DecodedNewPayloadRequest:
        assert threading.current_thread() is not threading.main_thread()
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            self.release.wait(timeout=10)
        finally:
            with self.lock:
                self.running -= 1
        raise SszError("refused by the counting decoder")


async def test_at_most_max_decodes_bodies_are_decoded_at_once_in_threads(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    decoder = CountingDecoder()
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0, max_decodes=2),
                            decoder=decoder)
    statuses: list[int] = []

    async def one(i: int) -> None:
        reply = await node.client.post(REQUESTS, params={"proof_types": "ethrex-zisk"},
                                       content=bytes([i]) * 10)
        statuses.append(reply.status_code)

    try:
        async with trio.open_nursery() as clients:
            for i in range(6):
                clients.start_soon(one, i)
            await wait_until(lambda: decoder.running == 2)
            await trio.sleep(0.3)  # a chance for a third decode to start (none may)
            assert decoder.running == 2
            decoder.release.set()
        assert statuses == [400] * 6
        assert decoder.calls == 6
        assert decoder.most == 2
    finally:
        decoder.release.set()
        await stop_node(node)


async def test_default_bind_is_loopback(nursery: trio.Nursery, tmp_path: Path) -> None:
    assert ProofNodeSettings().host == "127.0.0.1"
    node = await start_node(nursery, tmp_path)
    try:
        # A second server for the same service, with no host given: it binds settings.host.
        urls = await nursery.start(lambda task_status: serve_proof_node(
            node.service, graceful_timeout_s=0.5, task_status=task_status))  # fmt: skip
        assert urls and all(url.startswith("http://127.0.0.1:") for url in urls)
        async with httpx.AsyncClient(base_url=urls[0], timeout=10) as client:
            reply = await client.get("/v1/proof_types")
        assert reply.status_code == 200 and reply.json()["proof_types"]
    finally:
        await stop_node(node)


async def test_open_streams_up_to_the_cap_leave_room_for_other_requests(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    cap = MAX_IN_FLIGHT + 2  # more streams than the plain in-flight limit
    node = await start_node(nursery, tmp_path, settings=ProofNodeSettings(port=0,
                                                                          max_subscribers=cap))
    parsed = httpx.URL(node.url)
    assert parsed.port is not None
    streams: list[trio.SocketStream] = []
    try:
        with trio.fail_after(20):
            for _ in range(cap):
                stream = await trio.open_tcp_stream(parsed.host, parsed.port)
                streams.append(stream)
                await stream.send_all(f"GET {REQUESTS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Accept: text/event-stream\r\n\r\n".encode())
                head_bytes = b""
                while b"\r\n\r\n" not in head_bytes:
                    chunk = await stream.receive_some(65536)
                    assert chunk, "stream closed before its head"
                    head_bytes += chunk
                assert head_bytes.startswith(b"HTTP/1.1 200"), head_bytes[:200]
        await wait_until(lambda: node.service.subscriber_count == cap)
        refused = await node.client.get(REQUESTS)
        assert refused.status_code == 503 and "too many subscribers" in refused.text
        types = await node.client.get("/v1/proof_types")
        assert types.status_code == 200
    finally:
        for stream in streams:
            await stream.aclose()
        await wait_until(lambda: node.service.subscriber_count == 0)
        await stop_node(node)

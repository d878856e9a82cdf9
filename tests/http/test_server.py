"""The shared hypercorn setup (``http/server.py``) on real loopback sockets: a client that dribbles
a request head or body is disconnected, and requests beyond the in-flight cap get 503 at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import httpx
import trio
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ethproofs_daemon.http.server import (
    BACKLOG,
    KEEP_ALIVE_MAX_REQUESTS,
    MAX_APP_QUEUE_SIZE,
    READ_TIMEOUT_S,
    hypercorn_config,
    limit_in_flight,
    serve_app,
)

BOUND_S = 20  # every wait below ends by then


def test_both_servers_get_timeouts_and_limits() -> None:
    config = hypercorn_config("127.0.0.1", 0)
    assert config.read_timeout == READ_TIMEOUT_S
    assert config.keep_alive_max_requests == KEEP_ALIVE_MAX_REQUESTS
    assert config.backlog == BACKLOG and config.max_app_queue_size == MAX_APP_QUEUE_SIZE
    assert hypercorn_config("::1", 0, read_timeout_s=None).read_timeout is None


def _echo_app(held: trio.Event, entered: list[int]) -> Starlette:
    async def echo(request: Request) -> Response:
        return JSONResponse({"bytes": len(await request.body())})

    async def hold(request: Request) -> Response:
        entered.append(1)
        await held.wait()
        return JSONResponse({"held": True})

    return Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/hold", hold)])


async def _read_until_closed(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection (bounded by ``BOUND_S``)."""
    got = b""
    with trio.fail_after(BOUND_S):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:  # reset by the server
                return got
            if not chunk:
                return got
            got += chunk


async def test_a_dribbled_request_head_or_body_is_disconnected() -> None:
    held, entered = trio.Event(), list[int]()
    config = hypercorn_config("127.0.0.1", 0, keep_alive_timeout_s=0.5, read_timeout_s=1,
                              log_errors=False)
    async with trio.open_nursery() as nursery:
        url = (await nursery.start(serve, limit_in_flight(_echo_app(held, entered)), config))[0]
        port = int(url.rsplit(":", 1)[1])
        head_only = await trio.open_tcp_stream("127.0.0.1", port)
        await head_only.send_all(b"GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
        assert await _read_until_closed(head_only) == b""
        body_short = await trio.open_tcp_stream("127.0.0.1", port)
        await body_short.send_all(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Content-Length: 10\r\n\r\n1")  # 9 bytes never come
        assert b"200 OK" not in await _read_until_closed(body_short)
        await head_only.aclose()
        await body_short.aclose()
        async with httpx.AsyncClient(base_url=url) as client:  # the server still serves
            assert (await client.post("/echo", content=b"12345")).json() == {"bytes": 5}
        nursery.cancel_scope.cancel()
    assert entered == []


async def test_requests_beyond_the_in_flight_cap_get_503_at_once() -> None:
    held, entered = trio.Event(), list[int]()
    config = hypercorn_config("127.0.0.1", 0, log_errors=False)
    app = limit_in_flight(_echo_app(held, entered), max_in_flight=2)
    statuses: list[int] = []
    async with trio.open_nursery() as nursery:
        url = (await nursery.start(serve, app, config))[0]
        async with httpx.AsyncClient(base_url=url, timeout=BOUND_S) as client:

            async def get_held() -> None:
                statuses.append((await client.get("/hold")).status_code)

            nursery.start_soon(get_held)
            nursery.start_soon(get_held)
            with trio.fail_after(BOUND_S):
                while len(entered) < 2:
                    await trio.sleep(0.01)
            busy = await client.get("/hold")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert "error" in busy.json()
            held.set()
            with trio.fail_after(BOUND_S):
                while len(statuses) < 2:
                    await trio.sleep(0.01)
            assert (await client.get("/hold")).status_code == 200  # room again
        nursery.cancel_scope.cancel()
    assert statuses == [200, 200] and len(entered) == 3


def _slow_stream_app(seconds: float) -> Starlette:
    """``GET /stream``: one chunk every 0.5 s for ``seconds`` (an SSE-like response; the client
    sends nothing after its request)."""

    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(int(seconds / 0.5)):
                yield b"data: tick\n\n"
                await trio.sleep(0.5)

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return Starlette(routes=[Route("/stream", stream)])


async def _read_stream(url: str) -> int:
    """Bytes received from ``/stream`` before it ended (normally or by the server closing)."""
    received = 0
    async with httpx.AsyncClient(base_url=url, timeout=BOUND_S) as client:
        try:
            async with client.stream("GET", "/stream") as reply:
                async for chunk in reply.aiter_bytes():
                    received += len(chunk)
        except httpx.TransportError:
            pass  # the server closed the connection mid-stream
    return received


async def test_a_stream_outlives_the_read_timeout_only_where_reads_are_unbounded() -> None:
    whole = len(b"data: tick\n\n") * 8  # 4 s of ticks
    results: dict[int | None, int] = {}
    for read_timeout_s in (1, None):
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(partial(serve_app, _slow_stream_app(4.0), "127.0.0.1", 0,
                                               read_timeout_s=read_timeout_s))
            with trio.fail_after(BOUND_S):
                results[read_timeout_s] = await _read_stream(urls[0])
            nursery.cancel_scope.cancel()
    assert results[None] == whole
    assert results[1] < whole  # hypercorn bounds every read, the idle request side included

"""Serve an ASGI app with hypercorn's trio worker, as a supervised child.

Both HTTP servers (ops and Proof Node API) are built from ``hypercorn_config`` and are bounded so
a slow or greedy client cannot hold every file handle or task:

- a connection that has not sent a whole request head within ``keep_alive_timeout_s`` is closed
  (hypercorn's idle timer runs from accept until the head is parsed, and between requests);
- ``read_timeout_s``: a connection that sends nothing for that long while a request body is due
  is closed (off for servers with streaming responses: hypercorn applies it to every read, so a
  Server-Sent Events subscriber, which sends nothing after its request, would be cut);
- a connection serves at most ``KEEP_ALIVE_MAX_REQUESTS`` requests, the kernel queues at most
  ``BACKLOG`` unaccepted ones, a request's ASGI receive queue holds ``MAX_APP_QUEUE_SIZE`` events;
- ``limit_in_flight``: at most ``MAX_IN_FLIGHT`` requests are handled at once; more get 503.

Settings: hypercorn 0.18 ``hypercorn/config.py`` (``read_timeout``, ``keep_alive_timeout``,
``keep_alive_max_requests``, ``max_app_queue_size``, ``backlog``); the idle timer is
``hypercorn/trio/tcp_server.py`` (``_idle_timeout``). Hypercorn has no connection cap of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

#: Seconds a request body may go without a byte before its connection is closed (ops server).
READ_TIMEOUT_S: Final = 30
#: Requests served on one keep-alive connection before it is closed.
KEEP_ALIVE_MAX_REQUESTS: Final = 100
#: Connections the kernel queues before hypercorn accepts them (``listen(2)`` backlog).
BACKLOG: Final = 64
#: ASGI receive events queued per request.
MAX_APP_QUEUE_SIZE: Final = 10
#: Requests one server handles at once (``limit_in_flight``); Server-Sent Events streams count.
MAX_IN_FLIGHT: Final = 64


def hypercorn_config(
    host: str,
    port: int,
    *,
    graceful_timeout_s: float = 2.0,
    keep_alive_timeout_s: float = 30.0,
    read_timeout_s: int | None = READ_TIMEOUT_S,
    log_errors: bool = True,
) -> Config:
    """A hypercorn config bound to ``host:port`` (port 0: any free port; an IPv6 ``host`` is
    bracketed) with access logs off and the bounds of the module docstring.

    Args:
        host: address to bind.
        port: port to bind (0: any free port).
        graceful_timeout_s: seconds open connections get at shutdown.
        keep_alive_timeout_s: seconds a connection may idle, or take to send a request head.
        read_timeout_s: seconds any read may wait (None: no bound; for SSE servers).
        log_errors: hypercorn's errors go to the ``hypercorn.error`` logger; False drops them.
    """
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error") if log_errors else None
    config.graceful_timeout = graceful_timeout_s
    config.keep_alive_timeout = keep_alive_timeout_s
    config.read_timeout = read_timeout_s
    config.keep_alive_max_requests = KEEP_ALIVE_MAX_REQUESTS
    config.backlog = BACKLOG
    config.max_app_queue_size = MAX_APP_QUEUE_SIZE
    return config


#: An ASGI 3 application (starlette apps and plain ASGI wrappers alike).
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

_BUSY_BODY: Final = b'{"error": "too many requests in progress, retry shortly"}'


def limit_in_flight(app: ASGIApp, max_in_flight: int = MAX_IN_FLIGHT) -> ASGIApp:
    """``app`` answering at most ``max_in_flight`` HTTP requests at once; any more get ``503``
    with ``Retry-After: 1`` and ``Connection: close`` at once (lifespan events pass through)."""
    in_flight = 0

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        nonlocal in_flight
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if in_flight >= max_in_flight:
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", b"1"),
                (b"connection", b"close"), (b"content-length", str(len(_BUSY_BODY)).encode()),
            ]})
            await send({"type": "http.response.body", "body": _BUSY_BODY})
            return
        in_flight += 1
        try:
            await app(scope, receive, send)
        finally:
            in_flight -= 1

    return limited


async def serve_app(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    on_bound: Callable[[list[str]], None] | None = None,
    read_timeout_s: int | None = READ_TIMEOUT_S,
    max_in_flight: int = MAX_IN_FLIGHT,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``limit_in_flight(app, max_in_flight)`` on ``host:port`` (port 0: any free port)
    until cancelled.

    ``on_bound(urls)`` and then ``task_status.started(urls)`` are called once the socket is
    bound, with the bound ``http://host:port`` URLs. ``read_timeout_s`` None: no bound on a read
    (a server of Server-Sent Events, whose subscribers send nothing after their request; with a
    bound hypercorn would close them); ``max_in_flight`` counts open streams too.
    """
    config = hypercorn_config(host, port, read_timeout_s=read_timeout_s)
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            # hypercorn's Framework is the same protocol
            serve, limit_in_flight(app, max_in_flight), config
        )
        if on_bound is not None:
            on_bound(binds)
        task_status.started(binds)

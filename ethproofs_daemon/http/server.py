"""Serve an ASGI app with hypercorn's trio worker, as a supervised child."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


def hypercorn_config(
    host: str,
    port: int,
    *,
    graceful_timeout_s: float = 2.0,
    keep_alive_timeout_s: float = 30.0,
    log_errors: bool = True,
) -> Config:
    """A hypercorn config bound to ``host:port`` (port 0: any free port; an IPv6 ``host`` is
    bracketed) with access logs off. Seconds: ``graceful_timeout_s`` for open connections at
    shutdown, ``keep_alive_timeout_s`` for idle ones. ``log_errors``: hypercorn's errors go to
    the ``hypercorn.error`` logger; False drops them."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error") if log_errors else None
    config.graceful_timeout = graceful_timeout_s
    config.keep_alive_timeout = keep_alive_timeout_s
    return config


#: An ASGI 3 application (starlette apps and plain ASGI wrappers alike).
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


async def serve_app(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    on_bound: Callable[[list[str]], None] | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` (port 0: any free port) until cancelled.

    ``on_bound(urls)`` and then ``task_status.started(urls)`` are called once the socket is
    bound, with the bound ``http://host:port`` URLs.
    """
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            serve, app, hypercorn_config(host, port)  # hypercorn's Framework is the same protocol
        )
        if on_bound is not None:
            on_bound(binds)
        task_status.started(binds)

"""Serve an ASGI app with hypercorn's trio worker, as a supervised child."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


def hypercorn_config(host: str, port: int) -> Config:
    """A quiet hypercorn config bound to ``host:port`` (port 0: any free port)."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = 30.0
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
    """Serve ``app`` until cancelled; ``task_status.started(urls)`` once the socket is bound."""
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            serve, app, hypercorn_config(host, port)  # hypercorn's Framework is the same protocol
        )
        if on_bound is not None:
            on_bound(binds)
        task_status.started(binds)

"""Serve a stand-in's ASGI app on 127.0.0.1 (port 0) with hypercorn's trio worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette


def loopback_config() -> Config:
    """Hypercorn bound to 127.0.0.1 on a free port, quiet, quick to stop."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    return config


async def start_on_loopback(nursery: trio.Nursery, app: Starlette) -> str:
    """Start ``app`` in ``nursery`` (it stops when the nursery is cancelled); returns its base
    URL ``http://127.0.0.1:<port>`` without a trailing slash."""
    binds: list[str] = await nursery.start(serve, app, loopback_config())
    return binds[0].rstrip("/")


@asynccontextmanager
async def serving_on_loopback(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` for the ``async with`` body; yields its base URL (no trailing slash)."""
    async with trio.open_nursery() as nursery:
        base = await start_on_loopback(nursery, app)
        try:
            yield base
        finally:
            nursery.cancel_scope.cancel()

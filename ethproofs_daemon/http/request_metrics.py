"""Count HTTP requests by route template and status, as a plain ASGI wrapper.

Route templates (not raw paths) are the label, so a root or block number never becomes a label
value (prometheus.io naming practice: bounded label sets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from prometheus_client import Counter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def route_label(path: str, prefixes: Sequence[str]) -> str:
    """The first of ``prefixes`` that ``path`` starts with, else ``other`` (pure)."""
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return prefix
    return "other"


class CountRequests:
    """ASGI middleware: ``counter.labels(route, status).inc()`` once per HTTP response.
    ``routes`` are path prefixes in the order they are tried (most specific first)."""

    def __init__(self, app: ASGIApp, counter: Counter, routes: Sequence[str]) -> None:
        self.app = app
        self.counter = counter
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_label(scope["path"], self.routes)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.counter.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)

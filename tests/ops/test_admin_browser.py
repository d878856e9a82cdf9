"""A web page a local browser opens cannot drive the admin API: headless Chromium loads a page
served from another origin (a second loopback server) that tries to enqueue blocks on the ops app
with a ``no-cors`` ``text/plain`` fetch and with an HTML form (``enctype="text/plain"``, the classic
JSON CSRF). The requests reach the ops app (recorded) and are refused; nothing is enqueued."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.http.app import create_ops_app
from ethproofs_daemon.http.server import serve_app
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.store import Store
from tests.ops.test_status_page import chromium, run_chromium

__all__ = ["chromium"]  # the fixture, imported for this module's tests

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ATTACK = """<!doctype html><html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="csrf" method="POST" action="{admin}/admin/jobs" enctype="text/plain" target="sink">
  <input name='{{"blocks": [12], "x": "' value='"}}'>
</form>
<script>
fetch("{admin}/admin/jobs", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}}, body: '{{"blocks": [11]}}'}})
  .finally(() => {{ document.getElementById("csrf").submit(); document.title = "sent"; }});
</script></body></html>"""


async def test_a_foreign_page_in_chromium_cannot_enqueue_blocks(
    chromium: str, tmp_path: Path
) -> None:
    store = Store(tmp_path / "db.sqlite")
    state = DaemonState(started_at=time.time(), store_open=True)
    lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=time.time)
    ops = create_ops_app(store=store, lifecycle=lifecycle, state=state,
                         metrics=DaemonMetrics(store, state), stuck_threshold_s=3600,
                         admin_token=None)
    seen: list[tuple[str, str, int]] = []

    async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await ops(scope, receive, send_status if scope["type"] == "http" else send)

    admin_url: list[str] = []

    async def attack_page(request: Request) -> HTMLResponse:
        return HTMLResponse(ATTACK.format(admin=admin_url[0]))

    attacker = Starlette(routes=[Route("/", attack_page)])

    try:
        async with trio.open_nursery() as nursery:
            admin_url += await nursery.start(serve_app, recorded, "127.0.0.1", 0)
            page_url = (await nursery.start(serve_app, attacker, "127.0.0.1", 0))[0]
            assert page_url != admin_url[0]  # another port: another origin
            dom = await run_chromium(chromium, tmp_path / "profile", "--dump-dom",
                                     f"{page_url}/")
            nursery.cancel_scope.cancel()
        assert "<title>sent</title>" in dom  # the page ran its script to the end
        posts = [(path, status) for method, path, status in seen if method == "POST"]
        assert len(posts) == 2, seen  # both attempts reached the admin API ...
        assert all(path == "/admin/jobs" and status in (403, 415) for path, status in posts)
        assert store.job_for_block(11, "ethrex-zisk") is None  # ... and enqueued nothing
        assert store.job_for_block(12, "ethrex-zisk") is None
    finally:
        store.close()

"""A stand-in Slack incoming webhook (``POST /services/T000/B000/XXXX``), recording what it gets.

Slack's documented answers (api.slack.com/messaging/webhooks, "Handling errors"): 200 ``ok``
(text/plain); 400 ``invalid_payload`` (not JSON) or ``no_text`` (neither ``text`` nor ``blocks``);
404 ``no_service`` (unknown webhook path); 429 with ``Retry-After`` when rate limited; 500
``rollup_error``. Switches on ``SlackState``: ``fail_next_500``, ``fail_next_429``.
Served by hypercorn's trio worker on 127.0.0.1, port 0.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.standins.serve import serving_on_loopback

WEBHOOK_PATH = "/services/T000/B000/secretwebhooktoken"


@dataclass
class SlackState:
    """Accepted messages (parsed JSON) in order, every status answered, and failure switches."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    fail_next_500: int = 0
    fail_next_429: int = 0
    retry_after: str = "0"

    def headlines(self) -> list[str]:
        """The header text of every accepted message, in order."""
        return [m["blocks"][0]["text"]["text"] for m in self.messages]

    def fields(self, index: int) -> dict[str, str]:
        """``{label: value}`` from the section of accepted message ``index`` (backticks removed)."""
        blocks = self.messages[index]["blocks"]
        if len(blocks) < 2:
            return {}
        out: dict[str, str] = {}
        for line in blocks[1]["text"]["text"].split("\n"):
            label, _, value = line.partition(":* ")
            out[label.removeprefix("*")] = value.strip("`")
        return out


def build_app(state: SlackState) -> Starlette:
    """The webhook app over ``state``."""

    async def webhook(request: Request) -> Response:
        response = await _answer(state, request)
        state.statuses.append(response.status_code)
        return response

    return Starlette(routes=[Route("/{path:path}", webhook, methods=["POST"])])


async def _answer(state: SlackState, request: Request) -> Response:
    if request.url.path != WEBHOOK_PATH:
        return PlainTextResponse("no_service", status_code=404)
    if state.fail_next_500 > 0:
        state.fail_next_500 -= 1
        return PlainTextResponse("rollup_error", status_code=500)
    if state.fail_next_429 > 0:
        state.fail_next_429 -= 1
        return PlainTextResponse(
            "rate_limited", status_code=429, headers={"Retry-After": state.retry_after}
        )
    try:
        body = json.loads(await request.body())
    except ValueError:
        return PlainTextResponse("invalid_payload", status_code=400)
    if not isinstance(body, dict):
        return PlainTextResponse("invalid_payload", status_code=400)
    if not body.get("text") and not body.get("blocks"):
        return PlainTextResponse("no_text", status_code=400)
    state.messages.append(body)
    return PlainTextResponse("ok")


@asynccontextmanager
async def run_standin_slack(
    state: SlackState | None = None,
) -> AsyncIterator[tuple[str, SlackState]]:
    """Serve the stand-in on 127.0.0.1 (port 0); yields ``(webhook_url, state)``."""
    state = state or SlackState()
    async with serving_on_loopback(build_app(state)) as base:
        yield base + WEBHOOK_PATH, state

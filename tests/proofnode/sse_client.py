"""A minimal SSE reader for tests: parses ``event:``/``data:`` lines and ``:`` comments."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import trio


@dataclass(frozen=True)
class SseItem:
    """An event (``event`` set, ``data`` parsed JSON) or a comment (``comment`` set)."""

    event: str | None = None
    data: dict[str, str] | None = None
    comment: str | None = None


async def sse_items(response: httpx.Response) -> AsyncIterator[SseItem]:
    """Yield items as they arrive; ends with the stream."""
    event: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield SseItem(comment=line[1:].strip())
        elif line.startswith("event:"):
            event = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].strip())
        elif line == "" and (event or data):
            yield SseItem(event=event, data=json.loads("\n".join(data)) if data else None)
            event, data = None, []


@asynccontextmanager
async def subscribe(
    client: httpx.AsyncClient, params: dict[str, str] | None = None
) -> AsyncIterator[trio.MemoryReceiveChannel[SseItem]]:
    """Open ``GET /v1/execution_proof_requests`` and read it in a task until the block ends.

    The reader consumes the stream to its end or its cancellation, so httpx's generators are
    never left half-read. Yields once the response headers arrived (status must be 200).
    """
    send, receive = trio.open_memory_channel[SseItem](1000)

    async def reader(task_status: trio.TaskStatus[int]) -> None:
        async with send, client.stream("GET", "/v1/execution_proof_requests", params=params) as r:
            task_status.started(r.status_code)
            async for item in sse_items(r):
                await send.send(item)

    async with trio.open_nursery() as nursery:
        status = await nursery.start(reader)
        assert status == 200
        yield receive
        nursery.cancel_scope.cancel()


async def next_event(items: trio.MemoryReceiveChannel[SseItem], timeout_s: float = 10) -> SseItem:
    """The next item that is an event (comments skipped)."""
    with trio.fail_after(timeout_s):
        async for item in items:
            if item.event is not None:
                return item
    raise AssertionError("stream ended without an event")

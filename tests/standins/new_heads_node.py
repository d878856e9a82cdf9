"""A stand-in execution node for the ``newHeads`` subscription: ``eth_blockNumber`` over HTTP
(hypercorn) and ``eth_subscribe("newHeads")`` over WebSocket (trio-websocket
``serve_websocket``), both on 127.0.0.1 port 0.

The WebSocket side follows the wire format in ``ethproofs_daemon/node/new_heads.py`` (geth's
pub/sub), and misbehaves per connection as ``behaviours`` says (one entry per connection in
turn, the last repeats): never answer the subscription, refuse it, confirm it then drop the
connection. ``advance`` moves the head and announces it to every confirmed subscriber, after
any ``junk`` messages.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    WebSocketServer,
    serve_websocket,
)

from tests.standins.serve import start_on_loopback


class Behaviour(enum.StrEnum):
    NORMAL = "normal"
    SILENT = "silent"  # reads the request, never answers it
    REFUSE = "refuse"  # answers with a JSON-RPC error
    DROP = "drop"  # confirms, then closes the connection


@dataclass
class NewHeadsNode:
    head: int
    behaviours: list[Behaviour] = field(default_factory=lambda: [Behaviour.NORMAL])
    connections: int = 0
    http_url: str = ""
    ws_url: str = ""
    _subscribers: dict[str, WebSocketConnection] = field(default_factory=dict)

    async def start(self, nursery: trio.Nursery) -> None:
        """Serve both sides in ``nursery`` (they stop when it is cancelled)."""
        self.http_url = await start_on_loopback(nursery, self._http_app()) + "/"
        server: WebSocketServer = await nursery.start(
            serve_websocket, self._handle, "127.0.0.1", 0, None)
        self.ws_url = f"ws://127.0.0.1:{server.port}"

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def block_hash(self, number: int) -> str:
        return "0x" + number.to_bytes(32, "big").hex()

    async def advance(self, blocks: int = 1, *, junk: Sequence[str | bytes] = ()) -> None:
        """Move the head on by ``blocks`` and announce only the new head (after ``junk``)."""
        self.head += blocks
        for sub_id, ws in list(self._subscribers.items()):
            try:
                for message in junk:
                    await ws.send_message(message)
                await ws.send_message(json.dumps({
                    "jsonrpc": "2.0", "method": "eth_subscription",
                    "params": {"subscription": sub_id, "result": {
                        "number": hex(self.head), "hash": self.block_hash(self.head),
                        "parentHash": self.block_hash(self.head - 1)}}}))
            except ConnectionClosed:
                self._subscribers.pop(sub_id, None)

    async def send_raw(self, message: str | bytes) -> None:
        """Send ``message`` to every confirmed subscriber."""
        for ws in list(self._subscribers.values()):
            await ws.send_message(message)

    def _http_app(self) -> Starlette:
        async def rpc(request: Request) -> Response:
            req = json.loads(await request.body())
            if req["method"] != "eth_blockNumber":
                return JSONResponse({"jsonrpc": "2.0", "id": req["id"],
                                     "error": {"code": -32601, "message": "no such method"}})
            return JSONResponse({"jsonrpc": "2.0", "id": req["id"], "result": hex(self.head)})

        return Starlette(routes=[Route("/", rpc, methods=["POST"])])

    async def _handle(self, request: WebSocketRequest) -> None:
        ws = await request.accept()
        self.connections += 1
        behaviour = self.behaviours[min(self.connections, len(self.behaviours)) - 1]
        sub_id = f"0x{self.connections:032x}"
        try:
            req = json.loads(await ws.get_message())
            if behaviour is Behaviour.REFUSE:
                await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": {
                    "code": -32601, "message": "the method eth_subscribe does not exist"}}))
            elif behaviour is not Behaviour.SILENT:
                await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": req["id"],
                                                  "result": sub_id}))
                if behaviour is Behaviour.DROP:
                    await ws.aclose()
                    return
                self._subscribers[sub_id] = ws
            while True:  # until the client goes away; wsproto answers its pings
                await ws.get_message()
        except ConnectionClosed:
            pass
        finally:
            self._subscribers.pop(sub_id, None)

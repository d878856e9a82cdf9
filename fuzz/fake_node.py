"""A JSON-RPC execution node behind ``httpx.MockTransport`` that answers fuzzed replies.

No socket is opened: the daemon's real ``JsonRpcClient`` (streaming read, size limit, envelope
parsing) talks to ``FakeNode.handle``. A ``Reply`` says how one method is answered: a result, a
JSON-RPC error object, raw bytes, a non-200 HTTP status, a wrong id, and byte edits applied to
the serialized envelope (so a reply can be cut, spliced or made invalid UTF-8 after the fact).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import strategies as st

from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint

from .mutation import JSON_VALUES, deeply_nested_json

#: Largest reply the fake node's client accepts (small, so the over-limit path is reachable).
MAX_RESPONSE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """One edit of the serialized reply: ``op`` at ``pos`` (modulo the length) with ``data``."""

    op: str
    pos: int
    data: bytes

    def apply(self, body: bytes) -> bytes:
        at = self.pos % (len(body) + 1)
        if self.op == "flip" and at < len(body):
            mask = self.data[0] if self.data and self.data[0] else 1
            return body[:at] + bytes([body[at] ^ mask]) + body[at + 1:]
        if self.op == "insert":
            return body[:at] + self.data + body[at:]
        if self.op == "delete":
            return body[:at] + body[at + 1 + len(self.data):]
        if self.op == "truncate":
            return body[:at]
        return body


@dataclass(frozen=True, slots=True)
class Reply:
    """How the node answers one call (see the module docstring).

    ``kind``: ``result`` | ``error`` | ``raw`` | ``status``; ``id_mode``: ``echo`` or a JSON
    value sent as the id instead.
    """

    result: Any = None
    kind: str = "result"
    error: Any = None
    raw: bytes = b""
    status: int = 200
    id_mode: Any = "echo"
    edits: tuple[ByteEdit, ...] = ()

    def render(self, request_id: Any) -> tuple[int, bytes]:
        """The HTTP status and body for a call with ``request_id``."""
        if self.kind == "raw":
            return 200, self.raw
        if self.kind == "status":
            return self.status, self.raw
        rid = request_id if self.id_mode == "echo" else self.id_mode
        doc: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        if self.kind == "error":
            doc["error"] = self.error
        else:
            doc["result"] = self.result
        body = json.dumps(doc).encode()
        for edit in self.edits:
            body = edit.apply(body)
        return 200, body


_BYTE_EDITS = st.lists(
    st.builds(ByteEdit, st.sampled_from(["flip", "insert", "delete", "truncate"]),
              st.integers(0, 1 << 20), st.binary(max_size=6)),
    min_size=1, max_size=3,
).map(tuple)

_ERRORS = st.one_of(
    st.fixed_dictionaries({"code": st.sampled_from([-32601, -32000, -32602, 3, 0]),
                           "message": st.text(max_size=30)},
                          optional={"data": JSON_VALUES}),
    st.fixed_dictionaries({"code": JSON_VALUES}, optional={"message": JSON_VALUES}),
    JSON_VALUES,
)

_RAW = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"null", b"[]", b"{}", b'{"jsonrpc":"2.0"}', b"\xff\xfe{",
                     b'{"id":1,"result":1}', deeply_nested_json(600),
                     deeply_nested_json(100_000), b'{"a":' * 3000 + b"1" + b"}" * 3000,
                     b'{"jsonrpc":"2.0","id":1,"result":"' + b"a" * (MAX_RESPONSE_BYTES + 1)
                     + b'"}']),
)


def replies(results: st.SearchStrategy[Any]) -> st.SearchStrategy[Reply]:
    """Replies that are mostly well-formed envelopes around ``results`` (7 in 10), else an
    error object, raw bytes, a non-200 status, a wrong id or a byte-edited envelope."""
    return st.integers(0, 9).flatmap(lambda k: _reply_of_kind(k, results))


def _reply_of_kind(k: int, results: st.SearchStrategy[Any]) -> st.SearchStrategy[Reply]:
    if k <= 6:
        return st.builds(Reply, result=results)
    if k == 7:
        return st.one_of(
            st.builds(Reply, kind=st.just("error"), error=_ERRORS),
            st.builds(Reply, kind=st.just("raw"), raw=_RAW),
            st.builds(Reply, kind=st.just("status"), status=st.sampled_from([201, 204, 301, 400,
                      404, 429, 500, 503]), raw=st.binary(max_size=600)),
        )
    if k == 8:
        return st.builds(Reply, result=results, id_mode=JSON_VALUES)
    return st.builds(Reply, result=results, edits=_BYTE_EDITS)


@dataclass
class FakeNode:
    """Answers each JSON-RPC method from ``replies`` (a ``Reply``, or a function of the call's
    params giving one); a method it has none for answers -32601. ``calls`` counts requests."""

    replies: dict[str, Reply | Callable[[list[Any]], Reply]] = field(default_factory=dict)
    calls: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        doc = json.loads(request.content)
        method, request_id, params = doc["method"], doc["id"], doc["params"]
        answer = self.replies.get(method)
        if answer is None:
            answer = Reply(kind="error", error={"code": -32601, "message": "method not found"})
        elif callable(answer):
            answer = answer(params)
        status, body = answer.render(request_id)
        return httpx.Response(status, content=body,
                              headers={"content-type": "application/json"})


@asynccontextmanager
async def node_client(node: FakeNode) -> AsyncIterator[JsonRpcClient]:
    """The daemon's ``JsonRpcClient`` talking to ``node`` (5 s per call, 1 MiB replies)."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(node.handle))
    async with http:
        yield JsonRpcClient(RpcEndpoint("http://node.invalid/", timeout_s=5.0,
                                        max_response_bytes=MAX_RESPONSE_BYTES), http)

"""A small JSON-RPC 2.0 client for the execution node, over httpx (runs under trio).

web3's providers are asyncio-only, so the transport is httpx. Errors form one hierarchy so that a
caller decides by class what to do next:

- ``RpcTransportError``: connect/read failure, timeout (the whole call, not only one read, is
  bounded by ``RpcEndpoint.timeout_s``), non-200 HTTP status. Retry.
- ``RpcMethodNotFound``: JSON-RPC error ``-32601`` (e.g. a node without ``debug_executionWitness``).
  Do not retry: the node does not serve the method.
- ``RpcResponseError``: any other JSON-RPC error object (carries ``code``, ``message``, ``data``).
- ``RpcMalformedResponse``: a 200 reply that is not a JSON-RPC response (not JSON, nested too deep
  to decode, wrong id, neither ``result`` nor ``error``), or a body larger than
  ``RpcEndpoint.max_response_bytes`` (read as a stream and abandoned past the limit).

Text that comes from the node (error messages, bodies) is cut to ``MAX_NODE_TEXT_CHARS`` in every
error message, so a hostile or broken node cannot flood the logs or Slack.

Source of the envelope: JSON-RPC 2.0 specification §4–§5; the Ethereum method list:
ethereum/execution-apis (``eth_blockNumber``, ``eth_getBlockByNumber``) and the nodes' own
``debug_executionWitness`` (not yet specified there: ethereum/execution-apis issue #845, PR #847).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, replace
from typing import Final

import httpx
import trio

from ethproofs_daemon.eth.json import JsonValue as JsonValue

METHOD_NOT_FOUND: Final = -32601

#: Default of ``RpcEndpoint.max_response_bytes`` (``RPC_MAX_RESPONSE_BYTES``): 1 GiB, far above
#: a real witness (mainnet's largest are tens of MB).
DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 30

#: Characters of node-supplied text (error messages, bodies) kept in an error message.
MAX_NODE_TEXT_CHARS: Final = 500

#: Block numbers at or above this do not fit SQLite's signed 64-bit INTEGER; a node that claims
#: such a head is broken (``eth_blockNumber`` answers ``RpcMalformedResponse``).
MAX_BLOCK_NUMBER: Final = (1 << 63) - 1


#: Deepest JSON nesting accepted in a reply (real ones nest under 10). ``json.loads`` recurses in
#: C once per level: far deeper input raises ``RecursionError`` or, when a library has raised the
#: interpreter's recursion limit (py_ecc sets 100 000), overflows the C stack.
MAX_JSON_DEPTH: Final = 512

_JSON_TOKEN: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_too_deep(content: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``content`` nest deeper than ``limit`` (strings skipped).

    Fast when the reply has fewer than ``limit`` brackets (every real witness: a few arrays of
    hex strings); otherwise one regex pass over strings and brackets.
    """
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def truncate_node_text(text: str, limit: int = MAX_NODE_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


class RpcError(Exception):
    """Base of every error the JSON-RPC client raises."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method}: {truncate_node_text(message)}")
        self.method = method


class RpcTransportError(RpcError):
    """The request did not get a usable HTTP reply (connect, timeout, HTTP status ≠ 200)."""


class RpcMalformedResponse(RpcError):
    """The node answered 200 with something that is not a JSON-RPC 2.0 response for our call."""


class RpcResponseError(RpcError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: JsonValue = None) -> None:
        super().__init__(method, f"JSON-RPC error {code}: {message}")
        self.code = code
        self.rpc_message = message
        self.data = data


class RpcMethodNotFound(RpcResponseError):
    """JSON-RPC error -32601: the node does not serve this method."""


@dataclass(frozen=True, slots=True)
class RpcEndpoint:
    """Where the node is, how long one call may take (``timeout_s`` seconds, the whole request:
    connect, send, every read) and how large one reply body may be (``max_response_bytes``)."""

    url: str
    timeout_s: float = 30.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


class JsonRpcClient:
    """JSON-RPC 2.0 over HTTP POST, one call per request.

    The client owns no retry policy: callers retry ``RpcTransportError`` as their loop decides.
    Use as an async context manager, or pass an ``httpx.AsyncClient`` you close yourself.
    """

    def __init__(self, endpoint: RpcEndpoint, http: httpx.AsyncClient | None = None) -> None:
        self.endpoint = endpoint
        self._http = http or httpx.AsyncClient(timeout=endpoint.timeout_s)
        self._owns_http = http is None
        self._ids = itertools.count(1)

    def with_max_response_bytes(self, limit: int) -> JsonRpcClient:
        """A client for the same node over the same HTTP connections whose replies may be up to
        ``limit`` bytes (``RPC_MAX_RESPONSE_BYTES``); closing it does not close the connections."""
        derived = JsonRpcClient(replace(self.endpoint, max_response_bytes=limit), self._http)
        derived._ids = self._ids
        return derived

    async def __aenter__(self) -> JsonRpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client when this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def call(
        self, method: str, params: list[JsonValue], *, timeout_s: float | None = None
    ) -> JsonValue:
        """Call ``method`` with positional ``params`` and return the decoded ``result``.

        Args:
            timeout_s: seconds for the whole request; the endpoint's ``timeout_s`` when None.

        Raises:
            RpcTransportError: connect or read failure, the whole call over ``timeout_s``, HTTP
                status other than 200.
            RpcMethodNotFound: JSON-RPC error -32601.
            RpcResponseError: any other JSON-RPC error object.
            RpcMalformedResponse: a 200 reply that is not a JSON-RPC response to this call, or a
                body over ``max_response_bytes``.
        """
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        timeout = timeout_s if timeout_s is not None else self.endpoint.timeout_s
        try:
            with trio.fail_after(timeout):
                status, content = await self._post(method, body, timeout)
        except trio.TooSlowError as exc:
            raise RpcTransportError(method, f"no complete reply within {timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise RpcTransportError(method, f"{type(exc).__name__}: {exc}") from exc
        if status != 200:
            text = content.decode("utf-8", "replace")
            raise RpcTransportError(method, f"HTTP {status}: {text!r}")
        return parse_response(method, request_id, content)

    async def _post(self, method: str, body: dict[str, object], read_s: float
                    ) -> tuple[int, bytes]:
        """POST ``body``; the status and the body, read as a stream up to the size limit (of a
        non-200 reply only the first ``MAX_NODE_TEXT_CHARS`` bytes are kept)."""
        limit = self.endpoint.max_response_bytes
        async with self._http.stream("POST", self.endpoint.url, json=body,
                                     timeout=read_s) as reply:
            declared = reply.headers.get("content-length", "")
            if reply.status_code == 200 and declared.isdigit() and int(declared) > limit:
                raise RpcMalformedResponse(
                    method, f"reply of {int(declared)} bytes is over the {limit}-byte limit "
                            "(RPC_MAX_RESPONSE_BYTES)")
            keep = limit if reply.status_code == 200 else MAX_NODE_TEXT_CHARS
            chunks: list[bytes] = []
            size = 0
            # Stop reading by cancelling the read, not by leaving the loop: the cancellation runs
            # through httpx's and httpcore's stream generators and closes each of them.
            with trio.CancelScope() as stop:
                async for chunk in reply.aiter_bytes():
                    if size > keep:
                        continue  # stopped; the next read raises Cancelled
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > keep:
                        stop.cancel()
            if reply.status_code == 200 and size > limit:
                raise RpcMalformedResponse(
                    method, f"reply is over the {limit}-byte limit (RPC_MAX_RESPONSE_BYTES)")
            return reply.status_code, b"".join(chunks)

    async def block_number(self) -> int:
        """``eth_blockNumber`` as an int.

        Raises:
            RpcError: as ``call`` (a non-quantity result is ``RpcMalformedResponse``).
        """
        value = await self.call("eth_blockNumber", [])
        head = parse_quantity(method="eth_blockNumber", value=value)
        if head > MAX_BLOCK_NUMBER:
            # Hex, not decimal: a head of thousands of digits has no decimal str() in CPython.
            raise RpcMalformedResponse("eth_blockNumber",
                                       f"head is not a block number (≥ 2^63): {head:#x}")
        return head


def parse_response(method: str, request_id: int, content: bytes) -> JsonValue:
    """Decode one JSON-RPC 2.0 response body and return its ``result``.

    Raises:
        RpcMethodNotFound: error code -32601.
        RpcResponseError: any other error object.
        RpcMalformedResponse: not JSON, nested too deep to decode, not an object, wrong id, no
            result and no error.
    """
    if json_too_deep(content):
        raise RpcMalformedResponse(method, f"reply JSON is nested deeper than {MAX_JSON_DEPTH}")
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RpcMalformedResponse(method, f"reply is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise RpcMalformedResponse(method, "reply JSON is nested too deep to decode") from exc
    if not isinstance(doc, dict):
        raise RpcMalformedResponse(method, f"reply is a {type(doc).__name__}, not an object")
    if doc.get("id") != request_id:
        raise RpcMalformedResponse(
            method, f"reply id {doc.get('id')!r:.80} != request id {request_id}")
    if "error" in doc and doc["error"] is not None:
        err = doc["error"]
        if not isinstance(err, dict) or not isinstance(err.get("code"), int):
            raise RpcMalformedResponse(method, f"error member is malformed: {err!r:.200}")
        code = err["code"]
        message = str(err.get("message", ""))
        if code == METHOD_NOT_FOUND:
            raise RpcMethodNotFound(method, code, message, err.get("data"))
        raise RpcResponseError(method, code, message, err.get("data"))
    if "result" not in doc:
        raise RpcMalformedResponse(method, "reply has neither result nor error")
    result: JsonValue = doc["result"]
    return result


def parse_quantity(*, method: str, value: JsonValue) -> int:
    """Decode a JSON-RPC QUANTITY (``"0x1b4"``) to an int.

    Raises:
        RpcMalformedResponse: not a ``0x``-prefixed hex string.
    """
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise RpcMalformedResponse(method, f"expected a hex quantity, got {value!r:.80}")
    try:
        return int(value, 16)
    except ValueError as exc:
        raise RpcMalformedResponse(method, f"expected a hex quantity, got {value!r:.80}") from exc

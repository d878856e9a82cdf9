"""A small JSON-RPC 2.0 client for the execution node, over httpx (runs under trio).

web3's providers are asyncio-only, so the transport is httpx. Errors form one hierarchy so that a
caller decides by class what to do next:

- ``RpcTransportError``: connect/read failure, timeout, non-200 HTTP status. Retry.
- ``RpcMethodNotFound``: JSON-RPC error ``-32601`` (e.g. a node without ``debug_executionWitness``).
  Do not retry: the node does not serve the method.
- ``RpcResponseError``: any other JSON-RPC error object (carries ``code``, ``message``, ``data``).
- ``RpcMalformedResponse``: a 200 reply that is not a JSON-RPC response (not JSON, wrong id, neither
  ``result`` nor ``error``).

Source of the envelope: JSON-RPC 2.0 specification §4–§5; the Ethereum method list:
ethereum/execution-apis (``eth_blockNumber``, ``eth_getBlockByNumber``) and the nodes' own
``debug_executionWitness`` (not yet specified there: ethereum/execution-apis issue #845, PR #847).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Final

import httpx

from ethproofs_daemon.eth.json import JsonValue as JsonValue

METHOD_NOT_FOUND: Final = -32601


class RpcError(Exception):
    """Base of every error the JSON-RPC client raises."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method}: {message}")
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
    """Where the node is and how long one call may take (``timeout_s`` seconds, whole request)."""

    url: str
    timeout_s: float = 30.0


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
            RpcTransportError: connect or read failure, timeout, HTTP status other than 200.
            RpcMethodNotFound: JSON-RPC error -32601.
            RpcResponseError: any other JSON-RPC error object.
            RpcMalformedResponse: a 200 reply that is not a JSON-RPC response to this call.
        """
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        timeout = timeout_s if timeout_s is not None else self.endpoint.timeout_s
        try:
            reply = await self._http.post(self.endpoint.url, json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            raise RpcTransportError(method, f"{type(exc).__name__}: {exc}") from exc
        if reply.status_code != 200:
            raise RpcTransportError(method, f"HTTP {reply.status_code}: {reply.text[:200]!r}")
        return parse_response(method, request_id, reply.content)

    async def block_number(self) -> int:
        """``eth_blockNumber`` as an int.

        Raises:
            RpcError: as ``call`` (a non-quantity result is ``RpcMalformedResponse``).
        """
        value = await self.call("eth_blockNumber", [])
        return parse_quantity(method="eth_blockNumber", value=value)


def parse_response(method: str, request_id: int, content: bytes) -> JsonValue:
    """Decode one JSON-RPC 2.0 response body and return its ``result``.

    Raises:
        RpcMethodNotFound: error code -32601.
        RpcResponseError: any other error object.
        RpcMalformedResponse: not JSON, not an object, wrong id, no result and no error.
    """
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RpcMalformedResponse(method, f"reply is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise RpcMalformedResponse(method, f"reply is a {type(doc).__name__}, not an object")
    if doc.get("id") != request_id:
        raise RpcMalformedResponse(method, f"reply id {doc.get('id')!r} != request id {request_id}")
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

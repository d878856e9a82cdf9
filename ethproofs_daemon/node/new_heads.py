"""New heads as the node announces them: ``eth_subscribe("newHeads")`` over WebSocket.

The subscription only wakes the head loop (``node/head.py``) early; the loop still reads the
head with ``eth_blockNumber`` and trusts, selects and catches up exactly as when it polls, and it
goes on polling every ``POLL_INTERVAL_SECONDS`` whether or not the subscription is live.

Wire format (ethereum/execution-apis has no pub/sub spec; geth's is the reference,
ethereum/go-ethereum ``rpc/subscription.go`` and docs ``interacting-with-geth/rpc/pubsub``):

- request ``{"jsonrpc":"2.0","id":N,"method":"eth_subscribe","params":["newHeads"]}``;
- reply ``{"jsonrpc":"2.0","id":N,"result":"<subscription id>"}`` (a string) or an ``error``;
- then one notification per new head: ``{"jsonrpc":"2.0","method":"eth_subscription",
  "params":{"subscription":"<id>","result":<header>}}`` where the header has at least ``number``
  (a hex quantity) and ``hash`` (32 bytes, hex). anvil 1.7.1 sends exactly this, about 1.8 KB
  per head, one notification per block of ``anvil_mine(n)`` (observed).

Parsing is strict and pure (``parse_subscribe_reply``, ``parse_notification``): a message that
is not one of these shapes raises ``MalformedMessage``; the actor logs it (``new_heads_message_
skipped``) and reads the next one. Messages are bounded by ``max_message_bytes``: a larger one
makes trio-websocket close the connection (code 1009), which then reconnects like any drop.

``NewHeadsSubscription.run`` connects, subscribes, reports each head to ``on_head`` and whether
the subscription is live to ``on_live``; a refused connection, a reply that does not come within
``subscribe_timeout_s``, a refused subscription, a ping without pong within ``ping_timeout_s``
or a closed socket ends the session, and the next one starts after ``reconnect`` backoff
(``backoff.Backoff``; the attempt count goes back to 1 once a session stayed live
``STABLE_SESSION_S``).
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NoReturn
from urllib.parse import urlsplit

import structlog
import trio
from trio_websocket import (
    ConnectionClosed,
    DisconnectionTimeout,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from ethproofs_daemon.node.config import NewHeadsConfig
from ethproofs_daemon.node.rpc import json_too_deep, truncate_node_text

log = structlog.get_logger(__name__)

#: A session that stayed live this long (s) counts as healthy: the next drop waits the first
#: backoff delay again instead of the next one.
STABLE_SESSION_S: Final = 60.0
#: Characters of a skipped message kept in the log line.
LOGGED_MESSAGE_CHARS: Final = 200

_QUANTITY: Final = re.compile(r"0x(?:0|[1-9a-fA-F][0-9a-fA-F]{0,15})")
_HASH: Final = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class NewHead:
    """A head the node announced: ``number`` and ``block_hash`` (``0x`` hex, lower case)."""

    number: int
    block_hash: str


class NewHeadsError(Exception):
    """Base of the errors of the subscription's wire format."""


class MalformedMessage(NewHeadsError):
    """A message that is not the shape expected (see the module docstring); skipped."""


class SubscriptionRefused(NewHeadsError):
    """The node answered ``eth_subscribe`` with an error (no WebSocket pub/sub, method not
    found, too many subscriptions); the session ends and is retried with backoff."""


def subscribe_request(request_id: int) -> str:
    """The ``eth_subscribe("newHeads")`` request text with ``request_id``."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "eth_subscribe",
                       "params": ["newHeads"]}, separators=(",", ":"))


def _json_object(message: str | bytes) -> dict[str, object]:
    raw = message.encode() if isinstance(message, str) else message
    if json_too_deep(raw):
        raise MalformedMessage("JSON nested too deep")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
        raise MalformedMessage("not a JSON-RPC 2.0 object")
    return value


def parse_subscribe_reply(message: str | bytes, request_id: int) -> str | None:
    """The subscription id in the reply to the ``eth_subscribe`` request ``request_id``, or None
    when ``message`` is a well-formed JSON-RPC message that is not that reply (to skip).

    Raises:
        SubscriptionRefused: the reply carries an ``error``.
        MalformedMessage: not a JSON-RPC 2.0 object, or the reply's ``result`` is not a
            non-empty string.
    """
    reply = _json_object(message)
    if reply.get("id") != request_id or "method" in reply:
        return None
    if "error" in reply:
        raise SubscriptionRefused(truncate_node_text(json.dumps(reply["error"])))
    sub_id = reply.get("result")
    if not isinstance(sub_id, str) or not sub_id:
        raise MalformedMessage(f"eth_subscribe result is not a string: {sub_id!r:.100}")
    return sub_id


def parse_notification(message: str | bytes, subscription_id: str) -> NewHead:
    """The head in an ``eth_subscription`` notification of ``subscription_id``.

    Raises:
        MalformedMessage: any other message, another subscription's notification, or a header
            without a hex quantity ``number`` (< 2**64) and a 32-byte hex ``hash``.
    """
    note = _json_object(message)
    params = note.get("params")
    if note.get("method") != "eth_subscription" or not isinstance(params, dict):
        raise MalformedMessage("not an eth_subscription notification")
    if params.get("subscription") != subscription_id:
        raise MalformedMessage(f"notification of another subscription: "
                               f"{params.get('subscription')!r:.100}")
    header = params.get("result")
    if not isinstance(header, dict):
        raise MalformedMessage("notification result is not a header object")
    number, block_hash = header.get("number"), header.get("hash")
    if not isinstance(number, str) or not _QUANTITY.fullmatch(number):
        raise MalformedMessage(f"header number is not a hex quantity: {number!r:.100}")
    if not isinstance(block_hash, str) or not _HASH.fullmatch(block_hash):
        raise MalformedMessage(f"header hash is not 32 bytes of hex: {block_hash!r:.100}")
    return NewHead(int(number, 16), block_hash.lower())


@dataclass(frozen=True, slots=True)
class WsTarget:
    """Where a ``ws://`` or ``wss://`` URL points: ``host``, ``port`` (default 80/443), ``tls``,
    the request target ``resource`` (path and query) and the ``Host`` header value."""

    host: str
    port: int
    tls: bool
    resource: str

    @property
    def host_header(self) -> str:
        return self.host if self.port == (443 if self.tls else 80) else f"{self.host}:{self.port}"


def ws_target(url: str) -> WsTarget:
    """Split a WebSocket URL (RFC 6455 §3).

    Raises:
        ValueError: the scheme is not ``ws`` or ``wss``, or there is no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws:// or wss:// URL with a host: {endpoint_label(url)}")
    tls = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WsTarget(parts.hostname, parts.port or (443 if tls else 80), tls, resource)


async def open_stream(target: WsTarget) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    """A TCP stream to ``target``, wrapped in TLS (system trust store) for ``wss``.

    Raises:
        OSError: the connection could not be made.
    """
    if target.tls:
        return await trio.open_ssl_over_tcp_stream(
            target.host, target.port, ssl_context=ssl.create_default_context(),
            https_compatible=True)
    return await trio.open_tcp_stream(target.host, target.port)


def endpoint_label(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what is logged of it (paths and queries often carry
    a provider's API key)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


#: What ends a session (and is retried): the connection could not be opened or was closed, the
#: subscription was refused or its reply malformed, or it did not come in time.
SESSION_ERRORS: Final = (HandshakeError, DisconnectionTimeout, ConnectionClosed, OSError,
                         trio.BrokenResourceError, trio.TooSlowError, NewHeadsError)


class NewHeadsSubscription:
    """Keeps one ``newHeads`` subscription open (see the module docstring).

    ``on_head`` is called (synchronously, in the subscription's task) for every well-formed
    notification; ``on_live(True)`` once a subscription is confirmed, ``on_live(False)`` when it
    ends. ``live``, ``heads_received``, ``messages_skipped`` and ``sessions`` are for status and
    tests.

    Raises:
        ValueError: ``config.url`` is not a ``ws://`` or ``wss://`` URL with a host.
    """

    def __init__(
        self,
        config: NewHeadsConfig,
        *,
        on_head: Callable[[NewHead], None],
        on_live: Callable[[bool], None] | None = None,
    ) -> None:
        self.config = config
        self.target = ws_target(config.url)
        self.on_head = on_head
        self.on_live = on_live
        self.live = False
        self.heads_received = 0
        self.messages_skipped = 0
        self.sessions = 0
        self._request_id = 0
        self._live_since: float | None = None

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            if self.on_live is not None:
                self.on_live(live)

    async def run(self) -> NoReturn:
        """Subscribe, and subscribe again after every drop, until cancelled."""
        endpoint = endpoint_label(self.config.url)
        attempt = 0
        while True:
            started = trio.current_time()
            self._live_since = None
            try:
                reason = await self._session()
            except* SESSION_ERRORS as group:  # naked, or from the reader task's nursery
                first = group.exceptions[0]
                reason = f"{type(first).__name__}: {first}"
            finally:
                self._set_live(False)
            live_since = self._live_since
            if live_since is not None and trio.current_time() - live_since >= STABLE_SESSION_S:
                attempt = 0
            attempt += 1
            delay = self.config.reconnect.delay_s(attempt)
            log.warning("new_heads_disconnected", endpoint=endpoint, reason=reason,
                        attempt=attempt, retry_in_s=round(delay, 3),
                        session_s=round(trio.current_time() - started, 3))
            await trio.sleep(delay)

    async def _session(self) -> str:
        """One connection: subscribe, then deliver heads until it ends; returns why it ended
        (``_live_since``: when it went live, ``trio.current_time()``).

        The TCP (or TLS) stream is opened and closed here rather than by
        ``open_websocket_url``: trio-websocket 0.12 leaves the socket of a client connection
        open when the server closes the WebSocket first (its ``aclose`` returns early once a
        close reason is set), which would leak one socket per drop. The daemon's side ends a
        session by closing the TCP stream without a closing handshake: the peer is gone,
        stalled, or the daemon is stopping.
        """
        cfg = self.config
        self.sessions += 1
        target = self.target
        with trio.fail_after(cfg.connect_timeout_s):
            stream = await open_stream(target)
        try:
            async with trio.open_nursery() as nursery:  # trio-websocket's reader task
                try:
                    with trio.fail_after(cfg.connect_timeout_s):
                        ws = await wrap_client_stream(
                            nursery, stream, target.host_header, target.resource,
                            max_message_size=cfg.max_message_bytes)
                    return await self._subscribed(ws)
                finally:
                    nursery.cancel_scope.cancel()
        finally:
            await trio.aclose_forcefully(stream)

    async def _subscribed(self, ws: WebSocketConnection) -> str:
        cfg = self.config
        with trio.fail_after(cfg.subscribe_timeout_s):
            sub_id = await self._subscribe(ws)
        self._live_since = trio.current_time()
        log.info("new_heads_subscribed", endpoint=endpoint_label(cfg.url))
        self._set_live(True)
        with trio.CancelScope() as stalled:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_alive, ws, stalled)
                reason = await self._deliver(ws, sub_id)
                nursery.cancel_scope.cancel()
        if stalled.cancelled_caught:
            reason = f"no pong within {cfg.ping_timeout_s} s"
        return reason

    async def _subscribe(self, ws: WebSocketConnection) -> str:
        self._request_id += 1
        await ws.send_message(subscribe_request(self._request_id))
        while True:  # bounded by the caller's subscribe_timeout_s
            message = await ws.get_message()
            try:
                sub_id = parse_subscribe_reply(message, self._request_id)
            except MalformedMessage as exc:
                self._skip(message, exc)
                continue
            if sub_id is not None:
                return sub_id
            self._skip(message, "not the eth_subscribe reply")

    async def _deliver(self, ws: WebSocketConnection, sub_id: str) -> str:
        while True:  # ends when the socket closes (or the caller cancels)
            try:
                message = await ws.get_message()
            except ConnectionClosed as exc:
                return f"closed: {exc.reason}"
            try:
                head = parse_notification(message, sub_id)
            except MalformedMessage as exc:
                self._skip(message, exc)
                continue
            self.heads_received += 1
            self.on_head(head)

    async def _keep_alive(self, ws: WebSocketConnection, stalled: trio.CancelScope) -> None:
        """Ping every ``ping_interval_s``; cancel ``stalled`` when a pong is late (a silent,
        half-open socket would otherwise look live forever)."""
        cfg = self.config
        while True:
            await trio.sleep(cfg.ping_interval_s)
            with trio.move_on_after(cfg.ping_timeout_s) as late:
                try:
                    await ws.ping()
                except ConnectionClosed:
                    return  # _deliver sees the close too
            if late.cancelled_caught:
                stalled.cancel()
                return

    def _skip(self, message: str | bytes, why: object) -> None:
        self.messages_skipped += 1
        text = message if isinstance(message, str) else repr(message)
        log.warning("new_heads_message_skipped", reason=str(why),
                    message=truncate_node_text(text, LOGGED_MESSAGE_CHARS))

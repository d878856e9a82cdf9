"""Operator notifications sent to a Slack incoming webhook.

Actors call ``notify(notice)`` of a ``notices.Notifier`` (synchronous, never blocking, never
raising); with ``SLACK_WEBHOOK`` unset they get a ``notices.NullNotifier``. ``SlackNotifier`` turns
each notice into an ``events.Event`` and puts it on a bounded trio memory channel; its ``run()``
task (a supervised child) takes them off, applies the rate limit (``ratelimit.CoalescingBucket``:
a burst, then one message per interval, the rest coalesced into one "N more suppressed" message)
and POSTs the Block Kit body (``events.py``; the original client's messages) with
retries: tenacity's ``AsyncRetrying`` with ``sleep=trio.sleep``, on 429 (honouring
``Retry-After``), 5xx and transport errors (``SLACK_RULES``).

Block facts (gas used, tx count) are cached per block from ``BlockNoted`` notices (the input
generator sends one when it has the block JSON), as the original client did, so that later events
about the block carry them without every caller passing them.

The webhook URL is a secret: it never appears in a log line or ``repr``.
"""

from __future__ import annotations

import abc
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx
import structlog
import trio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.reporting import events
from ethproofs_daemon.reporting.events import Event, HostInfo
from ethproofs_daemon.reporting.notices import BlockNoted, Notice, NullNotifier
from ethproofs_daemon.reporting.ratelimit import CoalescingBucket, RateLimit
from ethproofs_daemon.reporting.replies import OutcomeKind, StatusRules, classify_reply

log = structlog.get_logger(__name__)

#: Blocks whose facts are remembered for later events.
FACTS_CACHE_SIZE: Final = 256
#: Events waiting to be sent; beyond this new events are dropped (and counted).
DEFAULT_QUEUE_SIZE: Final = 256
#: Incoming-webhook answers: 200 sent; 429 (with ``Retry-After``) and 5xx retried; any other
#: status (``invalid_payload`` 400, ``no_service`` 404, ...) rejected. Excerpts of 200 characters.
SLACK_RULES: Final = StatusRules(
    delivered=frozenset({200}),
    already_done=frozenset(),
    retryable=frozenset({429, *range(500, 1000)}),
    excerpt_chars=200,
)


class EventNotifier(abc.ABC):
    """A ``Notifier`` that turns each notice into an ``events.Event`` (with block facts and host
    info added) and hands it to ``emit``. Subclasses implement ``emit``."""

    def __init__(self, host: HostInfo) -> None:
        self.host = host
        self._facts: OrderedDict[int, BlockNoted] = OrderedDict()

    @abc.abstractmethod
    def emit(self, event: Event) -> None:
        """Deliver one complete event (non-blocking)."""

    def facts(self, block_number: int) -> BlockNoted | None:
        """The cached facts of ``block_number``, if a ``BlockNoted`` for it came recently."""
        return self._facts.get(block_number)

    def notify(self, notice: Notice) -> None:
        """Cache a ``BlockNoted`` (the most recent ``FACTS_CACHE_SIZE`` blocks); emit any other
        notice as its message with block facts and host info added."""
        if isinstance(notice, BlockNoted):
            self._remember(notice)
            return
        event = events.message(notice)
        if event is None:
            return
        facts = self.facts(event.block_number) if event.block_number is not None else None
        self.emit(events.with_context(event, facts, self.host))

    def _remember(self, noted: BlockNoted) -> None:
        self._facts[noted.block_number] = noted
        self._facts.move_to_end(noted.block_number)
        while len(self._facts) > FACTS_CACHE_SIZE:
            self._facts.popitem(last=False)


class CollectingNotifier(EventNotifier):
    """Keeps every event in ``self.events`` (tests, and a future status page)."""

    def __init__(self, host: HostInfo | None = None) -> None:
        super().__init__(host or HostInfo())
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        """Append ``event`` to ``self.events``."""
        self.events.append(event)


class SlackError(Exception):
    """A webhook POST failed."""


class SlackRetryable(SlackError):
    """429, 5xx or transport: try again (``retry_after_s`` from ``Retry-After`` when sent)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SlackRejected(SlackError):
    """Any other non-200 (Slack's ``invalid_payload`` 400, ``no_service`` 404, ...): give up."""


@dataclass(frozen=True, slots=True)
class SlackRetry:
    """Retries of one message: ``attempts`` in all, waits ``base_s * 2**n`` capped at ``cap_s``
    (a ``Retry-After`` is honoured up to ``cap_s``); ``timeout_s`` per POST. Seconds."""

    attempts: int = 4
    base_s: float = 1.0
    cap_s: float = 60.0
    timeout_s: float = 10.0

    def wait_s(self, state: RetryCallState) -> float:
        """tenacity ``wait`` callback: Retry-After of the last failure, or exponential."""
        attempt: int = state.attempt_number
        backoff = Backoff(self.base_s, 2.0, self.cap_s).delay_s(attempt)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, SlackRetryable) and exc.retry_after_s is not None:
            retry_after: float = exc.retry_after_s
            return min(self.cap_s, max(retry_after, 0.0))
        return backoff


class SlackNotifier(EventNotifier):
    """Sends events to a Slack incoming webhook in the background, rate-limited.

    Start ``run`` in a nursery (``await nursery.start(notifier.run)``); events emitted before it
    starts wait in the channel.

    Args:
        webhook_url: ``SLACK_WEBHOOK`` (a secret: never logged or shown in ``repr``).
        http: an ``httpx.AsyncClient`` owned by the caller.
        host: the machine's description, from ``host.host_info()``.
        rate: the burst and interval of the rate limit.
        retry: the per-message retry policy.
        queue_size: the bound of the event channel; a full channel drops the new event and
            counts it in ``dropped``.
        clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        webhook_url: str,
        http: httpx.AsyncClient,
        *,
        host: HostInfo,
        rate: RateLimit | None = None,
        retry: SlackRetry | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(host)
        self._url = webhook_url
        self._http = http
        self.retry = retry or SlackRetry()
        self._bucket: CoalescingBucket[Event] = CoalescingBucket(rate or RateLimit())
        self._clock = clock
        self._send, self._receive = trio.open_memory_channel[Event](queue_size)
        self.dropped = 0
        self.sent = 0
        self.failed = 0

    def __repr__(self) -> str:
        return "SlackNotifier(webhook_url=<redacted>)"

    def emit(self, event: Event) -> None:
        """Queue ``event`` for ``run``; drop it (counted, logged) when the channel is full."""
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self.dropped += 1
            log.warning("notification_dropped", kind=str(event.kind), dropped=self.dropped)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self.dropped += 1

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send queued events until cancelled: rate-limited, each with retries.

        A summary of suppressed events goes out as soon as the bucket has a token for it.
        """
        task_status.started()
        while True:
            held = self._bucket.take_suppressed(self._clock())
            if held:
                await self._deliver(events.suppressed_summary(held))
                continue
            # (+1 ms so that float rounding cannot leave the token just short of 1.0)
            wait = (
                self._bucket.seconds_until_token(self._clock()) + 0.001
                if self._bucket.suppressed
                else math.inf
            )
            event: Event | None = None
            with trio.move_on_after(wait):
                event = await self._receive.receive()
            if event is not None and self._bucket.offer(event, self._clock()):
                await self._deliver(event)

    async def drain(self, timeout_s: float) -> None:
        """Send what is queued now (ignoring the rate limit) within ``timeout_s`` (shutdown)."""
        with trio.move_on_after(timeout_s):
            held = self._bucket.suppressed
            self._bucket.suppressed = []
            if held:
                await self._deliver(events.suppressed_summary(held))
            while True:
                try:
                    event = self._receive.receive_nowait()
                except trio.WouldBlock:
                    return
                await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        body = events.block_kit_json(event)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.retry.attempts),
                wait=self.retry.wait_s,
                retry=retry_if_exception_type(SlackRetryable),
                sleep=trio.sleep,
                reraise=True,
            ):
                with attempt:
                    await self._post(body)
        except SlackError as exc:
            self.failed += 1
            log.warning("notification_failed", kind=str(event.kind), error=str(exc))
            return
        self.sent += 1
        log.debug("notification_sent", kind=str(event.kind), block_number=event.block_number)

    async def _post(self, body: str) -> None:
        try:
            reply = await self._http.post(
                self._url,
                content=body.encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=self.retry.timeout_s,
            )
        except httpx.HTTPError as exc:
            # Only the class name: some httpx messages include the (secret) URL.
            raise SlackRetryable(f"transport: {type(exc).__name__}") from exc
        outcome = classify_reply(reply.status_code, reply.headers, reply.text, SLACK_RULES)
        if outcome.kind is OutcomeKind.DELIVERED:
            return
        if outcome.kind is OutcomeKind.RETRY:
            raise SlackRetryable(f"HTTP {outcome.status}: {outcome.excerpt}", outcome.retry_after_s)
        raise SlackRejected(f"HTTP {outcome.status}: {outcome.excerpt}")


def make_notifier(
    webhook_url: str | None,
    http: httpx.AsyncClient,
    *,
    host: HostInfo,
    rate: RateLimit | None = None,
) -> SlackNotifier | NullNotifier:
    """A ``SlackNotifier`` for ``SLACK_WEBHOOK``, or a ``NullNotifier`` when it is unset/empty.

    Unlike the original client (which sent to Slack only when ``SLACK_WEBHOOK`` and all three
    ``ETHPROOFS_*`` were set), Slack does not also require the ``ETHPROOFS_*`` settings: failures
    are worth hearing about when reporting is off too.
    """
    if not webhook_url:
        return NullNotifier()
    return SlackNotifier(webhook_url, http, host=host, rate=rate)

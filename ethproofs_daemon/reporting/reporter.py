"""The reporter actor: drains the outbox to EthProofs, per block in order.

Contract with the store: ``outbox.Outbox``. ``due_reports`` returns per block only its oldest
pending row, so ``proved`` never goes before ``queued``/``proving``. That order matters: the
``proved`` route does not create the ``blocks`` row its proof's foreign key needs (only
``queued``/``proving`` do), so a ``proved`` that comes first answers 500
(ethproofs/ethproofs@98b7a6f ``app/api/v0/proofs/proved/route.ts``; from reading the code, not
observed).

What happens to a row (``next_step``, a pure function):

- 200 or 409 → ``mark_report_delivered`` (409: the block is already proved for this cluster
  version; every proof status route answers so).
  A delivered ``proved`` also sends the "proved and submitted" notification.
- 429 → ``defer_report`` until ``Retry-After`` (or the backoff when absent); the whole reporter
  pauses until then, since the limit is per key (``apikey:<key>``, 60 requests per 60 s;
  ethproofs/ethproofs@98b7a6f ``lib/middleware/with-rate-limit.ts``) and other rows would be
  refused too.
- 408/5xx/transport → ``defer_report`` with exponential backoff and jitter, capped
  (``BackoffPolicy``); a ``Retry-After`` on a 5xx lengthens the wait. After
  ``alert_after_attempts`` failed tries the operator is notified once.
- 400/401/404/other → ``fail_report`` and notify.

A row that keeps failing is only deferred: other blocks' rows go out meanwhile.

Without an EthProofs client (no ``ETHPROOFS_*`` settings) the reporter sends nothing and leaves
the rows **pending**, so configuring the API later delivers them. Delivery is at least once; the
API is idempotent for these calls.

``row.attempts`` is read as the number of earlier failed attempts of the row (the store
increments it in ``defer_report``/``fail_report``); the backoff for the current failure uses
``row.attempts + 1``.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import structlog
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.outbox import OutboxRow, ReportKind
from ethproofs_daemon.reporting.ethproofs import (
    HTTP_ALREADY_PROVED,
    EthProofsClient,
    EthProofsError,
    Rejected,
    Retryable,
)
from ethproofs_daemon.reporting.notices import (
    EthProofsRequestFailed,
    Notifier,
    NullNotifier,
    ProofSubmitted,
)
from ethproofs_daemon.reporting.outbox import Outbox
from ethproofs_daemon.reporting.payloads import MAX_BODY_BYTES, PayloadError, summarize_payload
from ethproofs_daemon.supervisor import crash_context

log = structlog.get_logger(__name__)

#: Rows fetched per pass.
DEFAULT_BATCH: Final = 20
#: Longest sleep without looking at the outbox (s), in case a ``wake()`` was missed.
DEFAULT_IDLE_POLL_S: Final = 30.0


class ProvedCheck(enum.StrEnum):
    """What to do with a due ``proved`` row, decided just before it is posted (the reorg check
    that ``app.py`` builds): ``send`` it; ``withhold`` it for good (its block left the chain:
    the row is stopped and the job is built again); ``wait`` (the check could not be made now:
    the row is deferred with the backoff, nothing is posted)."""

    SEND = "send"
    WITHHOLD = "withhold"
    WAIT = "wait"


#: The error kept on a ``proved`` row withheld by the reorg check.
WITHHELD_ERROR: Final = "withheld: the proved block is no longer canonical (reorg)"


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Waits between failed deliveries of one row, seconds.

    ``base_s * factor ** (attempt - 1)`` capped at ``cap_s``, plus up to ``jitter`` (a fraction)
    at random; a ``Retry-After`` is honoured up to ``max_retry_after_s``.
    """

    base_s: float = 5.0
    factor: float = 2.0
    cap_s: float = 600.0
    jitter: float = 0.2
    max_retry_after_s: float = 3600.0

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        """Seconds before the next try after failed attempt number ``attempt`` (>= 1)."""
        return Backoff(self.base_s, self.factor, self.cap_s, self.jitter).delay_s(attempt, rng)


@dataclass(frozen=True, slots=True)
class Delivered:
    """Mark the row delivered with this HTTP status (200 or 409)."""

    http_status: int


@dataclass(frozen=True, slots=True)
class Deferred:
    """Try the row again at ``until`` (Unix s); ``pause_all`` when the whole key is limited
    (429); ``alert`` when the operator should hear about it now."""

    until: float
    error: str
    pause_all: bool = False
    alert: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    """Stop the row for good and alert."""

    error: str


Step = Delivered | Deferred | Failed


def next_step(
    row: OutboxRow,
    result: int | EthProofsError,
    now: float,
    policy: BackoffPolicy,
    rng: random.Random,
    *,
    alert_after_attempts: int = 5,
) -> Step:
    """What to do with ``row`` after one delivery attempt (see the module docstring).

    Pure apart from ``rng``.

    Args:
        row: the row just attempted; ``row.attempts`` counts its earlier failed attempts.
        result: the status ``post_status`` returned (200/409) or the error it raised.
        now: Unix seconds.
        policy: the backoff for retryable failures.
        rng: draws the jitter.
        alert_after_attempts: the failed attempt that also alerts the operator (once).

    Returns:
        ``Delivered``, ``Deferred`` (``until`` in Unix seconds) or ``Failed``.
    """
    if isinstance(result, int):
        return Delivered(result)
    if isinstance(result, Retryable):
        attempt = row.attempts + 1
        wait = policy.delay_s(attempt, rng)
        if result.retry_after_s is not None:
            retry_after = min(policy.max_retry_after_s, result.retry_after_s)
            wait = retry_after if result.status == 429 else max(wait, retry_after)
        return Deferred(
            until=now + wait,
            error=str(result),
            pause_all=result.status == 429,
            alert=attempt == alert_after_attempts,
        )
    if isinstance(result, Rejected):
        return Failed(str(result))
    return Failed(f"unexpected: {result}")


class AttemptOutcome(enum.StrEnum):
    """One delivery attempt, as a metrics label (``observer``)."""

    DELIVERED = "delivered"
    ALREADY_PROVED = "already_proved"
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"
    REJECTED = "rejected"


def attempt_outcome(step: Step) -> AttemptOutcome:
    """The metrics label of a ``next_step`` result."""
    if isinstance(step, Delivered):
        if step.http_status == HTTP_ALREADY_PROVED:
            return AttemptOutcome.ALREADY_PROVED
        return AttemptOutcome.DELIVERED
    if isinstance(step, Deferred):
        return AttemptOutcome.RATE_LIMITED if step.pause_all else AttemptOutcome.RETRY
    return AttemptOutcome.REJECTED


class Reporter:
    """Delivers outbox rows to EthProofs (see the module docstring).

    Args:
        outbox: the store's outbox side.
        client: the EthProofs client; None disables reporting (rows stay pending).
        backoff: waits between failed deliveries of a row.
        notifier: gets failures and successful ``proved`` deliveries.
        clock: Unix seconds (the outbox times).
        rng: jitters the backoff.
        batch: rows per pass.
        idle_poll_s: the longest sleep without looking at the outbox, seconds.
        alert_after_attempts: the failed attempt of a retrying row that notifies the operator.
        observer: called with each attempt's endpoint and outcome (metrics).
        check_proved: asked before a ``proved`` row is posted (``ProvedCheck``): the reorg
            check, so a proof of a block that left the chain while its report waited in the
            outbox (an API outage) never reaches EthProofs. None: always send.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: EthProofsClient | None,
        *,
        backoff: BackoffPolicy | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        batch: int = DEFAULT_BATCH,
        idle_poll_s: float = DEFAULT_IDLE_POLL_S,
        alert_after_attempts: int = 5,
        observer: Callable[[ReportKind, AttemptOutcome], None] | None = None,
        check_proved: Callable[[OutboxRow], Awaitable[ProvedCheck]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.backoff = backoff or BackoffPolicy()
        self.notifier: Notifier = notifier or NullNotifier()
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch = batch
        self.idle_poll_s = idle_poll_s
        self.alert_after_attempts = alert_after_attempts
        self.observer = observer
        self.check_proved = check_proved
        self._wakeup = trio.Event()
        self._paused_until = 0.0
        self.delivered = 0
        self.deferred = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        """True when an EthProofs client is configured."""
        return self.client is not None

    def wake(self) -> None:
        """Look at the outbox now (call after writing a row). Call from the trio thread (e.g. a
        ``Store.on_change`` listener); not thread-safe."""
        self._wakeup.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver due rows until cancelled; sleep until the next due time or ``wake()``.

        Never raises for a delivery failure (each row's fate is recorded in the outbox); store
        errors propagate so the supervisor restarts the reporter (waiting out a failing store,
        see ``app.py``); a crash while a row is attempted carries its ``block_number``.
        """
        task_status.started()
        if self.client is None:
            log.info("reporting_disabled", reason="no EthProofs settings; rows stay pending")
            await trio.sleep_forever()
        while True:
            self._wakeup = trio.Event()
            handled = await self.deliver_due()
            if handled and self.clock() >= self._paused_until:
                await trio.lowlevel.checkpoint()
                continue
            await self._sleep()

    async def deliver_due(self) -> int:
        """One pass: post every due row (at most ``batch``) once.

        Stops the pass early on a 429 (the reporter then pauses until ``Retry-After``).

        Returns:
            The number of rows attempted; 0 without a client or while paused.
        """
        if self.client is None:
            return 0
        now = self.clock()
        if now < self._paused_until:
            return 0
        handled = 0
        for row in self.outbox.due_reports(now, self.batch):
            handled += 1
            step = await self._attempt(self.client, row)
            if isinstance(step, Deferred) and step.pause_all:
                self._paused_until = max(self._paused_until, step.until)
                break
        return handled

    async def drain(self, timeout_s: float) -> bool:
        """Deliver pending rows until none is pending or ``timeout_s`` seconds pass (shutdown).

        Waits out backoffs and ``Retry-After`` pauses within the deadline.

        Returns:
            True when no row is left pending (always True without a client: nothing is ever
            sent then).
        """
        if self.client is None:
            return True
        with trio.move_on_after(timeout_s):
            while True:
                if await self.deliver_due():
                    continue
                due = self.outbox.next_report_due_at()
                if due is None:
                    return True
                await trio.sleep(max(0.0, max(due, self._paused_until) - self.clock()))
        return self.outbox.next_report_due_at() is None

    async def _sleep(self) -> None:
        now = self.clock()
        due = self.outbox.next_report_due_at()
        wake_at = max(due if due is not None else math.inf, self._paused_until)
        timeout = min(self.idle_poll_s, max(0.0, wake_at - now))
        with trio.move_on_after(timeout):
            if now < self._paused_until:
                # Rate-limited: a wake() must not end the pause early.
                await trio.sleep(timeout)
            else:
                await self._wakeup.wait()

    async def _attempt(self, client: EthProofsClient, row: OutboxRow) -> Step:
        with crash_context(block_number=row.block_number, report_kind=str(row.kind),
                           row_id=row.id):
            return await self._attempt_row(client, row)

    async def _attempt_row(self, client: EthProofsClient, row: OutboxRow) -> Step:
        bound = log.bind(block_number=row.block_number, kind=str(row.kind), row_id=row.id)
        if row.kind is ReportKind.PROVED and self.check_proved is not None:
            verdict = await self.check_proved(row)
            if verdict is ProvedCheck.WITHHOLD:
                self.outbox.fail_report(row.id, WITHHELD_ERROR)
                bound.warning("proved_report_withheld", error=WITHHELD_ERROR)
                return Failed(WITHHELD_ERROR)
            if verdict is ProvedCheck.WAIT:
                error = "reorg check before sending proved: the node did not answer"
                until = self.clock() + self.backoff.delay_s(row.attempts + 1, self.rng)
                self.outbox.defer_report(row.id, until, error)
                bound.warning("proved_report_waiting_for_reorg_check", retry_at=until)
                return Deferred(until, error)
        if len(row.payload_json) > MAX_BODY_BYTES:
            bound.warning("report_body_over_limit", bytes=len(row.payload_json))
        result: int | EthProofsError
        try:
            result = await client.post_status(row.kind, row.payload_json)
        except EthProofsError as exc:
            result = exc
        now = self.clock()
        step = next_step(
            row, result, now, self.backoff, self.rng, alert_after_attempts=self.alert_after_attempts
        )
        if self.observer is not None:
            self.observer(row.kind, attempt_outcome(step))
        if isinstance(step, Delivered):
            self.outbox.mark_report_delivered(row.id, step.http_status)
            self.delivered += 1
            bound.info("report_delivered", http_status=step.http_status, attempts=row.attempts + 1)
            if row.kind is ReportKind.PROVED:
                self._notify_submitted(row)
        elif isinstance(step, Deferred):
            self.outbox.defer_report(row.id, step.until, step.error)
            self.deferred += 1
            bound.warning(
                "report_deferred",
                error=step.error,
                retry_in_s=round(step.until - now, 3),
                attempts=row.attempts + 1,
            )
            if step.alert:
                error = f"still failing after {row.attempts + 1} tries: " + step.error
                self.notifier.notify(EthProofsRequestFailed(row.block_number, row.kind, error))
        else:
            self.outbox.fail_report(row.id, step.error)
            self.failed += 1
            bound.error("report_rejected", error=step.error)
            self.notifier.notify(EthProofsRequestFailed(row.block_number, row.kind, step.error))
        return step

    def _notify_submitted(self, row: OutboxRow) -> None:
        try:
            summary = summarize_payload(row.payload_json)
        except PayloadError:
            return
        if summary.proving_time_ms is not None:
            self.notifier.notify(ProofSubmitted(row.block_number, summary.proving_time_ms))

"""The input generator actor: follows the head, turns targets into jobs, prepares their inputs.

Two loops under one nursery:

- **head loop**: ``eth_blockNumber`` every ``poll_interval_s``; new targets (``targets.py``) become
  ``detected`` jobs; the cursor is kept in the store so a restart neither repeats nor loses one.
  Node failures feed ``RpcHealthTracker`` (Slack "RPC down/recovered") and the health status.
- **prepare loop**: takes the next ``detected`` job (priority, then oldest block), moves it to
  ``fetching``, asks the ``InputSource`` for the input, writes it to the state directory and moves
  the job to ``input_ready`` then ``queued`` (with the EthProofs ``queued`` report). It stays at
  most ``max_prepared`` jobs ahead of the prover so the next input is ready while one block
  proves, without fetching a whole backlog of witnesses at once. Failed jobs whose retry time has
  come are put back here too.

The decisions (targets, what a failure means, where a retried job goes) are pure functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason, Job, JobState, RetryPolicy
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcError
from ethproofs_daemon.node.targets import first_target_at_or_after, select_targets
from ethproofs_daemon.reporting.notices import BlockNoted, InputGenerationFailed, Notifier
from ethproofs_daemon.reporting.outbox import ReportKind
from ethproofs_daemon.reporting.rpc_health import RpcHealthTracker
from ethproofs_daemon.store import Store

log = structlog.get_logger(__name__)

CURSOR_KEY: Final = "follower.next_target"


@dataclass(frozen=True, slots=True)
class PreparedInput:
    """A guest input ready to prove: ``data`` (bytes, framed per the guest profile), and facts
    about the block kept for notifications (gas used, transaction count)."""

    data: bytes
    block_hash: str
    gas_used: int
    tx_count: int


class InputPreparationFailed(Exception):
    """The input of a block could not be prepared; ``reason`` decides what happens next.

    ``step`` names where it failed (``block``, ``witness``, ``verify``, ``build``).
    """

    def __init__(self, reason: FailureReason, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.reason = reason
        self.step = step
        self.message = message


class NodeUnavailable(Exception):
    """The node did not answer (transport error, timeout): not the block's fault, no attempt is
    counted; the job goes back to ``detected`` and waits for the node."""


class InputSource(Protocol):
    """Prepares the input of one block (``node/input_source.py``)."""

    async def prepare(self, block_number: int) -> PreparedInput:
        """Raises ``InputPreparationFailed`` or ``NodeUnavailable``."""
        ...


@dataclass
class FollowerStatus:
    """What ``/health`` and metrics show about the chain side (mutated by the actor only).

    Times are Unix seconds.
    """

    head: int | None = None
    head_seen_at: float | None = None
    last_target_seen: int | None = None
    next_target: int | None = None
    rpc_ok: bool = True
    rpc_failing_since: float | None = None
    rpc_last_error: str | None = None
    witness_method_missing: bool = False
    skipped_targets: int = 0
    prepared_count: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """Settings of the generator (seconds and block counts)."""

    proof_type: str
    block_interval: int
    lookback_blocks: int
    poll_interval_s: float
    start_block: int | None
    inputs_dir: Path
    max_prepared: int = 2
    input_retention_s: float = 14 * 86400.0


def retry_state(job: Job) -> JobState:
    """Where a failed job goes when its retry time comes (pure): back to the prover's queue
    when its input is still on disk, else back to ``detected`` to be fetched again."""
    if job.input_path is not None and os.path.exists(job.input_path):
        return JobState.QUEUED
    return JobState.DETECTED


QueuedReport = Callable[[int], tuple[ReportKind, str] | None]


class InputGenerator:
    """The input generator actor (see the module docstring).

    ``queued_report(block_number)`` returns the outbox row to write when a job enters the
    prover's queue, or None when nothing is reported (no EthProofs settings, execute mode).
    """

    def __init__(
        self,
        *,
        store: Store,
        rpc: JsonRpcClient,
        source: InputSource,
        config: FollowerConfig,
        notifier: Notifier,
        queued_report: QueuedReport,
        retry: RetryPolicy,
        status: FollowerStatus | None = None,
        clock: Callable[[], float],
        metrics: DaemonMetrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.rpc = rpc
        self.source = source
        self.config = config
        self.notifier = notifier
        self.queued_report = queued_report
        self.retry = retry
        self.status = status or FollowerStatus()
        self.clock = clock
        self._rpc_health = RpcHealthTracker(rpc.endpoint.url)
        self._work = trio.Event()
        self._next_cleanup_at = 0.0
        store.on_change(self._on_store_change)

    def _on_store_change(self, topic: str) -> None:
        if topic == "jobs":
            self._work.set()

    def resume_interrupted(self) -> None:
        """Put back in line the jobs a dead daemon left half-prepared: ``fetching`` goes back to
        ``detected`` (fetched again), ``input_ready`` (its input is on disk) goes on to ``queued``
        with its ``queued`` report."""
        for job in self.store.jobs_in([JobState.FETCHING]):
            self.store.transition(job.id, JobState.DETECTED)
            log.info("job_resumed", block_number=job.block_number, job_id=job.id, state="detected")
        for job in self.store.jobs_in([JobState.INPUT_READY]):
            self.store.transition(job.id, JobState.QUEUED,
                                  report=self.queued_report(job.block_number))
            log.info("job_resumed", block_number=job.block_number, job_id=job.id, state="queued")

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Resume half-prepared jobs, then run both loops until cancelled."""
        self.config.inputs_dir.mkdir(parents=True, exist_ok=True)
        self.resume_interrupted()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._head_loop)
            nursery.start_soon(self._prepare_loop)
            task_status.started()

    # -- head ------------------------------------------------------------------------------

    async def _head_loop(self) -> None:
        while True:
            await self.poll_head_once()
            await trio.sleep(self.config.poll_interval_s)

    async def poll_head_once(self) -> list[int]:
        """One poll: read the head, enqueue new targets; returns the blocks enqueued."""
        now = self.clock()
        try:
            head = await self.rpc.block_number()
        except RpcError as exc:
            self.status.rpc_ok = False
            self.status.rpc_failing_since = self.status.rpc_failing_since or now
            self.status.rpc_last_error = str(exc)
            log.warning("head_poll_failed", error=str(exc))
            down = self._rpc_health.failure(now, str(exc))
            if down is not None:
                self.notifier.notify(down)
            return []
        recovered = self._rpc_health.success(now)
        if recovered is not None:
            self.notifier.notify(recovered)
        self.status.rpc_ok, self.status.rpc_failing_since = True, None
        self.status.head, self.status.head_seen_at = head, now
        return self._enqueue_targets(head)

    def _enqueue_targets(self, head: int) -> list[int]:
        cfg = self.config
        stored = self.store.get_meta(CURSOR_KEY)
        if stored is not None:
            cursor = int(stored)
        else:
            start = cfg.start_block if cfg.start_block is not None else head
            cursor = first_target_at_or_after(start, cfg.block_interval)
        selection = select_targets(cursor, head, cfg.block_interval, cfg.lookback_blocks)
        if selection.skipped_count:
            self.status.skipped_targets += selection.skipped_count
            log.error(
                "targets_skipped_beyond_lookback",
                first=selection.skipped_first,
                count=selection.skipped_count,
                lookback_blocks=cfg.lookback_blocks,
            )
        added = []
        for block_number in selection.targets:
            _, created = self.store.add_job(block_number, cfg.proof_type)
            if created:
                added.append(block_number)
                log.info("target_detected", block_number=block_number, head=head)
        if selection.targets:
            self.status.last_target_seen = selection.targets[-1]
        if stored is None or selection.next_target != cursor:
            self.store.set_meta(CURSOR_KEY, str(selection.next_target))
        self.status.next_target = selection.next_target
        return added

    # -- prepare ---------------------------------------------------------------------------

    def _prepared_ahead(self) -> int:
        counts = self.store.count_by_state()
        return counts[JobState.INPUT_READY] + counts[JobState.QUEUED]

    def _requeue_due_retries(self) -> None:
        for job in self.store.due_retries(self.clock()):
            target = retry_state(job)
            report = self.queued_report(job.block_number) if target is JobState.QUEUED else None
            self.store.transition(job.id, target, report=report)
            log.info("job_retry", block_number=job.block_number, job_id=job.id,
                     attempts=job.attempts, state=target)

    def remove_expired_inputs(self) -> int:
        """Delete the input files of jobs finished more than ``input_retention_s`` ago (the
        original client's cron deletes inputs older than 14 days); returns how many."""
        removed = 0
        for job in self.store.expired_inputs(self.clock() - self.config.input_retention_s):
            assert job.input_path is not None
            Path(job.input_path).unlink(missing_ok=True)
            self.store.update_job(job.id, input_path=None)
            removed += 1
        if removed:
            log.info("inputs_removed", count=removed)
        return removed

    async def _prepare_loop(self) -> None:
        while True:
            self._work = trio.Event()
            if self.clock() >= self._next_cleanup_at:
                self._next_cleanup_at = self.clock() + 60.0
                self.remove_expired_inputs()
            self._requeue_due_retries()
            job = self.store.next_job(JobState.DETECTED)
            if job is not None and self._prepared_ahead() < self.config.max_prepared:
                await self.prepare_job(job)
                continue
            wait_s = self.config.poll_interval_s
            retry_at = self.store.next_retry_at()
            if retry_at is not None:
                wait_s = min(wait_s, max(0.0, retry_at - self.clock()))
            with trio.move_on_after(wait_s if math.isfinite(wait_s) else 1.0):
                await self._work.wait()

    async def prepare_job(self, job: Job) -> None:
        """Fetch, build and queue one ``detected`` job, recording the outcome in the store."""
        with structlog.contextvars.bound_contextvars(
            block_number=job.block_number, job_id=job.id, proof_type=job.proof_type
        ):
            await self._prepare_job(job)

    async def _prepare_job(self, job: Job) -> None:
        self.store.transition(job.id, JobState.FETCHING)
        started = self.clock()
        try:
            prepared = await self.source.prepare(job.block_number)
        except NodeUnavailable as exc:
            log.warning("input_node_unavailable", error=str(exc))
            self.store.transition(job.id, JobState.DETECTED)
            await trio.sleep(self.config.poll_interval_s)
            return
        except InputPreparationFailed as exc:
            self._record_failure(job, exc)
            return
        path = self.config.inputs_dir / f"{job.block_number}-{job.proof_type}.bin"
        await trio.to_thread.run_sync(_write_atomically, path, prepared.data)
        self.notifier.notify(BlockNoted(job.block_number, prepared.gas_used, prepared.tx_count))
        self.store.transition(
            job.id, JobState.INPUT_READY, input_path=str(path),
            gas_used=prepared.gas_used, tx_count=prepared.tx_count,
        )
        self.store.transition(
            job.id, JobState.QUEUED, report=self.queued_report(job.block_number)
        )
        self.status.prepared_count += 1
        if self.metrics is not None:
            self.metrics.input_build_duration.observe(self.clock() - started)
            self.metrics.input_size.observe(len(prepared.data))
        if self.status.witness_method_missing and self.status.warnings:
            self.status.witness_method_missing = False
            self.status.warnings.clear()
        log.info("input_ready", input_bytes=len(prepared.data),
                  build_ms=int((self.clock() - started) * 1000), path=str(path))

    def _record_failure(self, job: Job, exc: InputPreparationFailed) -> None:
        attempts = job.attempts + 1
        retry_at = self.retry.retry_at(attempts, exc.reason, self.clock())
        if exc.reason is FailureReason.WITNESS_UNAVAILABLE:
            self.status.witness_method_missing = True
            warning = f"the node does not serve execution witnesses: {exc.message}"
            if warning not in self.status.warnings:
                self.status.warnings.append(warning)
        self.store.fail(job.id, exc.reason, str(exc), retry_at=retry_at)
        if self.metrics is not None:
            self.metrics.job_failed(exc.reason, retrying=retry_at is not None)
        self.notifier.notify(InputGenerationFailed(job.block_number, exc.step, str(exc)))
        log.error("input_generation_failed", block_number=job.block_number, job_id=job.id,
                  reason=exc.reason, step=exc.step, error=exc.message, attempts=attempts,
                  retry_at=retry_at)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

"""The input generator actor: follows the head, turns targets into jobs, prepares their inputs.

Two loops under one nursery:

- **head loop** (``node/head.py``): ``eth_blockNumber`` every ``poll_interval_s``; new targets
  become ``detected`` jobs.
- **prepare loop** (here): takes the next ``detected`` job (priority, then oldest block), moves it
  to ``fetching``, asks the ``InputSource`` for the input, writes it to the state directory and
  moves the job to ``input_ready`` then ``queued`` (with the EthProofs ``queued`` report). It stays
  at most ``max_prepared`` jobs ahead of the prover so the next input is ready while one block
  proves, without fetching a whole backlog of witnesses at once. Failed jobs whose retry time has
  come are put back here too, and the inputs of long-finished jobs are deleted.

No job blocks the others (issue 10): a job whose node does not answer, or has not got the block,
goes back to ``detected`` and is passed over for ``poll_interval_s`` while later jobs go ahead. A
block above the head waits for as long as it takes (the node is not asked for it); a block at or
below the head that the node still does not serve ``missing_block_timeout_s``
(``WITNESS_TIMEOUT_SECONDS``) after it was first found missing there fails ``block_unavailable``
(``missing_block_verdict``) and is retried within its budget. Anything else
a job's preparation raises fails that job (``internal_error``, traceback logged once) instead of
the actor; cancellation still propagates.

Every state change is a verb of ``lifecycle.Lifecycle``; the decisions (targets, where a retried
job goes) are pure functions.
"""

from __future__ import annotations

import enum
import math
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason, Job, JobState
from ethproofs_daemon.lifecycle import Lifecycle, retry_target
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.head import HeadFollower
from ethproofs_daemon.node.preparation import (
    BlockNotServed,
    InputPreparationFailed,
    InputSource,
    NodeUnavailable,
)
from ethproofs_daemon.node.rpc import JsonRpcClient, truncate_node_text
from ethproofs_daemon.reporting.notices import BlockNoted, InputGenerationFailed, Notifier
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store

log = structlog.get_logger(__name__)

#: Faults of the machine, not of a block: a full disk or a locked database. They propagate to the
#: supervisor, which restarts the actor with backoff (``app.py``), so they never fail a job.
STORE_AND_DISK_ERRORS: Final = (sqlite3.Error, OSError)


def input_on_disk(job: Job) -> bool:
    """True when the job's input file is still where the store says it is."""
    return job.input_path is not None and os.path.exists(job.input_path)


def retry_state(job: Job) -> JobState:
    """Where a failed job goes when its retry time comes: back to the prover's queue when its
    input is still on disk, else back to ``detected`` to be fetched again."""
    return retry_target(input_on_disk=input_on_disk(job))


class MissingBlock(enum.StrEnum):
    """What to do with a job whose block the node does not serve."""

    WAIT = "wait"
    FAIL = "fail"


def missing_block_verdict(block_number: int, head: int | None, missing_since: float | None,
                          now: float, timeout_s: float) -> MissingBlock:
    """``fail`` once a block at or below the node's ``head`` has been missing there (since
    ``missing_since``, Unix s; None: not yet) for ``timeout_s`` seconds; else ``wait``. An unknown
    head counts as below the block (the block may not exist yet)."""
    if head is None or block_number > head or missing_since is None:
        return MissingBlock.WAIT
    return MissingBlock.FAIL if now - missing_since >= timeout_s else MissingBlock.WAIT


def first_ready(jobs: list[Job], deferred_until: dict[int, float], now: float) -> Job | None:
    """The first of ``jobs`` (in the store's order) not passed over until later than ``now``."""
    for job in jobs:
        if deferred_until.get(job.id, 0.0) <= now:
            return job
    return None


class InputGenerator:
    """The input generator actor (see the module docstring). ``clock`` returns Unix seconds."""

    def __init__(
        self,
        *,
        store: Store,
        lifecycle: Lifecycle,
        rpc: JsonRpcClient,
        source: InputSource,
        config: FollowerConfig,
        notifier: Notifier,
        status: FollowerStatus | None = None,
        clock: Callable[[], float],
        metrics: DaemonMetrics | None = None,
    ) -> None:
        self.metrics = metrics
        #: Job id → when (Unix s) it may be taken again; jobs the node could not serve just now.
        self._deferred_until: dict[int, float] = {}
        #: Job id → when (Unix s) its block was first found missing at or below the head.
        self._missing_since: dict[int, float] = {}
        self.store = store
        self.lifecycle = lifecycle
        self.source = source
        self.config = config
        self.notifier = notifier
        self.status = status or FollowerStatus()
        self.clock = clock
        self.head = HeadFollower(store=store, lifecycle=lifecycle, rpc=rpc, config=config,
                                 notifier=notifier, status=self.status, clock=clock)
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
        for state in (JobState.FETCHING, JobState.INPUT_READY):
            for job in self.store.jobs_in([state]):
                resumed = self.lifecycle.resume_after_crash(job)
                log.info("job_resumed", block_number=job.block_number, job_id=job.id,
                         state=str(resumed.state))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Resume half-prepared jobs, then run both loops until cancelled."""
        self.config.inputs_dir.mkdir(parents=True, exist_ok=True)
        self.resume_interrupted()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.head.run)
            nursery.start_soon(self._prepare_loop)
            task_status.started()

    def _prepared_ahead(self) -> int:
        counts = self.store.count_by_state()
        return counts[JobState.INPUT_READY] + counts[JobState.QUEUED]

    def _requeue_due_retries(self) -> None:
        for job in self.store.due_retries(self.clock()):
            target = retry_state(job)
            self.lifecycle.retry_due(job, input_on_disk=target is JobState.QUEUED)
            log.info("job_retry", block_number=job.block_number, job_id=job.id,
                     attempts=job.attempts, state=target)

    def remove_expired_inputs(self) -> int:
        """Delete the input files of jobs finished more than ``input_retention_s`` ago; returns how
        many. (The ethrex-ethproofs client's production cron deletes inputs older than 14 days:
        lambdaclass/ethrex-ethproofs@229a39a, airbender-dual-prover branch, ``deploy/vast``.)"""
        removed = 0
        for job in self.store.expired_inputs(self.clock() - self.config.input_retention_s):
            assert job.input_path is not None
            Path(job.input_path).unlink(missing_ok=True)
            self.lifecycle.forget_input(job)
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
                self._forget_departed()
            self._requeue_due_retries()
            job = self._next_detected()
            if job is not None and self._prepared_ahead() < self.config.max_prepared:
                await self.prepare_job(job)
                continue
            wait_s = self.config.poll_interval_s
            retry_at = self.store.next_retry_at()
            if retry_at is not None:
                wait_s = min(wait_s, max(0.0, retry_at - self.clock()))
            if self._deferred_until:
                wait_s = min(wait_s, max(0.0, min(self._deferred_until.values()) - self.clock()))
            with trio.move_on_after(wait_s if math.isfinite(wait_s) else 1.0):
                await self._work.wait()

    def _next_detected(self) -> Job | None:
        """The first ``detected`` job (store order) not passed over and not above the node's
        head (those are passed over for a poll interval without asking the node). It is among
        the first ``len(deferred) + 1``, so the query stays small however long the backlog."""
        now = self.clock()
        for job_id in [j for j, until in self._deferred_until.items() if until <= now]:
            del self._deferred_until[job_id]
        head = self.status.head
        while True:
            detected = self.store.jobs_in([JobState.DETECTED],
                                          limit=len(self._deferred_until) + 1)
            job = first_ready(detected, self._deferred_until, now)
            if job is None or head is None or job.block_number <= head:
                return job
            self._deferred_until[job.id] = now + self.config.poll_interval_s

    def _forget_departed(self) -> None:
        """Drop the missing-since times of jobs no longer ``detected`` (an operator or a reorg
        moved them), so the table holds only waiting jobs."""
        for job_id in list(self._missing_since):
            job = self.store.get_job(job_id)
            if job is None or job.state is not JobState.DETECTED:
                del self._missing_since[job_id]

    async def prepare_job(self, job: Job) -> None:
        """Fetch, build and queue one ``detected`` job, recording the outcome in the store.

        Whatever the preparation raises (``Exception``) fails this job ``internal_error`` with
        the error text, logged once with its traceback; the actor goes on with the next job.
        Store and disk faults (``STORE_AND_DISK_ERRORS``), ``trio.Cancelled`` and other
        ``BaseException`` propagate.
        """
        with structlog.contextvars.bound_contextvars(
            block_number=job.block_number, job_id=job.id, proof_type=job.proof_type
        ):
            try:
                await self._prepare_job(job)
            except STORE_AND_DISK_ERRORS:
                raise  # the supervisor restarts the actor with backoff; no attempt is burnt
            except Exception as exc:  # the actor's one catch-all (issue 10)
                self._record_crash(job, exc)

    def _record_crash(self, job: Job, exc: Exception) -> None:
        error = truncate_node_text(f"{type(exc).__name__}: {exc}")
        log.exception("input_preparation_crashed", block_number=job.block_number, job_id=job.id,
                      error=error)
        current = self.store.get_job(job.id)
        if current is None or current.state not in (JobState.DETECTED, JobState.FETCHING,
                                                    JobState.INPUT_READY):
            return
        self._forget(job)
        failed = self.lifecycle.failed(current, FailureReason.INTERNAL_ERROR, error)
        if self.metrics is not None:
            self.metrics.job_failed(FailureReason.INTERNAL_ERROR,
                                    retrying=failed.next_attempt_at is not None)
        self.notifier.notify(InputGenerationFailed(job.block_number, "internal", error))

    def _forget(self, job: Job) -> None:
        self._deferred_until.pop(job.id, None)
        self._missing_since.pop(job.id, None)

    def _node_unavailable(self, job: Job, exc: NodeUnavailable) -> None:
        """Put the job back in line, passed over for a poll interval; or fail it
        ``block_unavailable`` when its block stays missing below the head."""
        now = self.clock()
        head = self.status.head
        if isinstance(exc, BlockNotServed):
            if head is not None and job.block_number <= head:
                self._missing_since.setdefault(job.id, now)
            else:
                self._missing_since.pop(job.id, None)
        verdict = missing_block_verdict(job.block_number, head, self._missing_since.get(job.id),
                                        now, self.source.missing_block_timeout_s)
        if isinstance(exc, BlockNotServed) and verdict is MissingBlock.FAIL:
            self._forget(job)
            self._record_failure(job, InputPreparationFailed(
                FailureReason.BLOCK_UNAVAILABLE, "block",
                f"{exc} (head {head}; missing for {self.source.missing_block_timeout_s:g} s)"))
            return
        log.warning("input_node_unavailable", error=str(exc), head=head)
        self.lifecycle.back_to_detected(job)
        self._deferred_until[job.id] = now + self.config.poll_interval_s

    async def _prepare_job(self, job: Job) -> None:
        job = self.lifecycle.start_fetching(job)
        started = self.clock()
        try:
            prepared = await self.source.prepare(job.block_number)
        except NodeUnavailable as exc:
            self._node_unavailable(job, exc)
            return
        except InputPreparationFailed as exc:
            self._forget(job)
            self._record_failure(job, exc)
            return
        self._forget(job)
        path = self.config.inputs_dir / f"{job.block_number}-{job.proof_type}.bin"
        await trio.to_thread.run_sync(_write_atomically, path, prepared.data)
        self.notifier.notify(BlockNoted(job.block_number, prepared.gas_used, prepared.tx_count))
        self.lifecycle.input_ready(job, input_path=str(path), gas_used=prepared.gas_used,
                                   tx_count=prepared.tx_count, block_hash=prepared.block_hash)
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
        if exc.reason is FailureReason.WITNESS_UNAVAILABLE and exc.step == "witness":
            self.status.witness_method_missing = True
            warning = ("the node does not serve execution witnesses: "
                       f"{truncate_node_text(exc.message)}")
            if warning not in self.status.warnings:
                self.status.warnings.append(warning)
        error = truncate_node_text(str(exc))
        failed = self.lifecycle.failed(job, exc.reason, error)
        retry_at = failed.next_attempt_at
        if self.metrics is not None:
            self.metrics.job_failed(exc.reason, retrying=retry_at is not None)
        self.notifier.notify(InputGenerationFailed(job.block_number, exc.step, error))
        log.error("input_generation_failed", block_number=job.block_number, job_id=job.id,
                  reason=exc.reason, step=exc.step, error=truncate_node_text(exc.message),
                  attempts=failed.attempts, retry_at=retry_at)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

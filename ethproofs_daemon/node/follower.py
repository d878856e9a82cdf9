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

Every state change is a verb of ``lifecycle.Lifecycle``; the decisions (targets, where a retried
job goes) are pure functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason, Job, JobState
from ethproofs_daemon.lifecycle import Lifecycle, retry_target
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.head import HeadFollower
from ethproofs_daemon.node.preparation import InputPreparationFailed, InputSource, NodeUnavailable
from ethproofs_daemon.node.rpc import JsonRpcClient
from ethproofs_daemon.reporting.notices import BlockNoted, InputGenerationFailed, Notifier
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store

log = structlog.get_logger(__name__)


def input_on_disk(job: Job) -> bool:
    """True when the job's input file is still where the store says it is."""
    return job.input_path is not None and os.path.exists(job.input_path)


def retry_state(job: Job) -> JobState:
    """Where a failed job goes when its retry time comes: back to the prover's queue when its
    input is still on disk, else back to ``detected`` to be fetched again."""
    return retry_target(input_on_disk=input_on_disk(job))


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
        job = self.lifecycle.start_fetching(job)
        started = self.clock()
        try:
            prepared = await self.source.prepare(job.block_number)
        except NodeUnavailable as exc:
            log.warning("input_node_unavailable", error=str(exc))
            self.lifecycle.back_to_detected(job)
            await trio.sleep(self.config.poll_interval_s)
            return
        except InputPreparationFailed as exc:
            self._record_failure(job, exc)
            return
        path = self.config.inputs_dir / f"{job.block_number}-{job.proof_type}.bin"
        await trio.to_thread.run_sync(_write_atomically, path, prepared.data)
        self.notifier.notify(BlockNoted(job.block_number, prepared.gas_used, prepared.tx_count))
        self.lifecycle.input_ready(job, input_path=str(path), gas_used=prepared.gas_used,
                                   tx_count=prepared.tx_count)
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
        if exc.reason is FailureReason.WITNESS_UNAVAILABLE:
            self.status.witness_method_missing = True
            warning = f"the node does not serve execution witnesses: {exc.message}"
            if warning not in self.status.warnings:
                self.status.warnings.append(warning)
        failed = self.lifecycle.failed(job, exc.reason, str(exc))
        retry_at = failed.next_attempt_at
        if self.metrics is not None:
            self.metrics.job_failed(exc.reason, retrying=retry_at is not None)
        self.notifier.notify(InputGenerationFailed(job.block_number, exc.step, str(exc)))
        log.error("input_generation_failed", block_number=job.block_number, job_id=job.id,
                  reason=exc.reason, step=exc.step, error=exc.message, attempts=failed.attempts,
                  retry_at=retry_at)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

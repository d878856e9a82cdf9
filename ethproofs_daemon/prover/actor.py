"""The prover actor: owns the GPU, one proving subprocess at a time.

It takes the next ``queued`` job (highest priority, then oldest block) or an external request
(the Proof Node API) when that has a higher priority, moves the job to ``proving`` (outbox row
``proving``), runs the backend, and records ``proved`` with the EthProofs ``proved`` payload in the
same transaction, writing ``output/{block}/{block}.json`` (the payload as sent). A failure records
the reason and schedules a retry within the job's budget.

On start it checks the prover's version against the series the daemon drives and the guest
profile's (an unknown, undriven or mismatched one stops the daemon with exit status 2:
``ProverMisconfigured``; a prover that cannot run at all: ``Fatal``, exit 1) and
resumes jobs a dead daemon left in ``proving``: the recorded process group is killed first, the
job goes back to ``queued`` and is proved again.

Shutdown: a running proof gets ``grace_s`` seconds to finish (shielded from the cancellation);
past that its process group is killed and the job is left to resume at the next start.

Reorgs: a job carries the hash of the block its input was built from (``Job.block_hash``). Twice
the actor asks the node (``canonical_hash``) which block is canonical at that height: before
proving (before the ``proving`` report) and after proving, before recording ``proved`` (and its
report). When another block (or none) is there, the job goes back to ``detected`` through
``Lifecycle.reorged``: the input file is deleted, no attempt is counted, the old and new hashes
are logged (``block_reorged``) and counted (``ethproofs_daemon_reorgs_total``); the input
generator builds it again from the new canonical block. So a ``proved`` report is only written
for a block the node held canonical after the proof was made; ``queued``/``proving`` reports
already sent for the replaced block are followed by the rebuilt job's own, in order (EthProofs
keys proofs by block number). A job without a recorded hash (from a v1 database) is not checked.

When the node cannot answer the check (``CanonicalHashUnavailable``: transport error, bad
reply), nothing is proved or recorded blindly: the check is retried, waits ``CHECK_BACKOFF``
(1 s doubling to 30 s). Before proving, after ``CHECK_BUDGET_S`` without an answer the job is
left ``queued`` untouched (no report, no attempt) and the actor goes back to its loop, which
takes it up again (Proof Node API work of higher priority may go first meanwhile). After proving,
the proof is kept in hand and the check retried until the node answers (proving again would need
the node as well); a shutdown meanwhile ends the wait like a running proof: after the grace
period the job goes back to ``queued`` and is proved again at the next start.

Store failures (a full disk, ``database is locked`` past the busy timeout, ``disk I/O error``):
once a proof has begun, the actor never lets one escape, because a restart would resume the job
and prove it again. The outcome (proved, executed, failed) stays in memory and its recording is
tried again with a backoff (``RECORD_BACKOFF``) until the store takes it; a pid or an
interruption that cannot be recorded is logged and left to the resume at the next start. A store
failure before the proof begins (picking or starting the job) ends the actor: nothing is lost, and
the supervisor restarts it once the store answers again.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.jobs import FailureReason, Job, JobState, TransitionError
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.prover.backend import (
    ProofResult,
    ProverBackend,
    ProveRequest,
    ProverFailed,
    ProverMisconfigured,
    ProverUnavailable,
    UnsupportedZiskVersion,
)
from ethproofs_daemon.prover.external import ExternalQueue, ExternalRequest
from ethproofs_daemon.prover.process import kill_process_group
from ethproofs_daemon.prover.zisk_cli import VersionParseError, ZiskVersion, decide_version
from ethproofs_daemon.reorgs import (
    CanonicalHash,
    CanonicalHashUnavailable,
    CheckPoint,
    is_canonical,
    note_reorg,
)
from ethproofs_daemon.reporting.notices import Notifier, ProofDataUnreadable, ProofFailed
from ethproofs_daemon.reporting.payloads import ProvedFields
from ethproofs_daemon.status import ProverStatus
from ethproofs_daemon.store import Store
from ethproofs_daemon.supervisor import Fatal, crash_context

log = structlog.get_logger(__name__)

#: Priority of EthProofs jobs found by the follower.
FOLLOWER_PRIORITY: Final = 0

#: Waits between tries of the canonical-hash check while the node cannot answer (s).
CHECK_BACKOFF: Final = Backoff(1.0, 2.0, 30.0, 0.0)
#: How long the check before proving is tried before the job is left ``queued`` for now (s).
CHECK_BUDGET_S: Final = 300.0


#: Waits between tries of recording a finished proof while the store fails: 1 s doubling to 60 s.
RECORD_BACKOFF: Final = Backoff(1.0, 2.0, 60.0, 0.1)

#: What a failing store raises: SQLite errors (locked, I/O, full) and the OS's (no space).
STORE_FAULTS: Final = (sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class ProverConfig:
    """Settings of the prover actor. ``execute``: run the guest for cycles only
    (``ZISK_ACTION=execute``), no proof. Seconds. (Whether anything is reported is the
    lifecycle's ``ReportPolicy``.) ``guest_profile``: the ``GUEST_PROFILE`` name (None: the
    manifest's default), whose ZisK series the prover's version must match."""

    output_dir: Path
    timeout_s: float
    grace_s: float
    execute: bool = False
    guest_profile: str | None = None


class ProverActor:
    """See the module docstring. ``submit`` is the shared queue used by the Proof Node API.
    Every job state change is a verb of ``lifecycle``; ``clock`` returns Unix seconds."""

    def __init__(
        self,
        *,
        store: Store,
        lifecycle: Lifecycle,
        backend: ProverBackend,
        config: ProverConfig,
        notifier: Notifier,
        status: ProverStatus | None = None,
        clock: Callable[[], float],
        metrics: DaemonMetrics | None = None,
        canonical_hash: CanonicalHash | None = None,
    ) -> None:
        self.canonical_hash = canonical_hash
        self.metrics = metrics
        self.store = store
        self.lifecycle = lifecycle
        self.backend = backend
        self.config = config
        self.notifier = notifier
        self.status = status or ProverStatus()
        self.clock = clock
        self._work = trio.Event()
        self._external = ExternalQueue(on_push=lambda: self._work.set())
        self._proof_scope: trio.CancelScope | None = None
        store.on_change(lambda topic: self._work.set() if topic == "jobs" else None)

    @property
    def external_queue_length(self) -> int:
        """Proof Node API requests waiting for the GPU."""
        return len(self._external)

    async def submit(self, request: ProveRequest, *, priority: int) -> ProofResult:
        """Prove ``request`` on the shared GPU when its turn comes (higher ``priority`` first;
        EthProofs jobs have their own priority, 0 by default; ties go to EthProofs jobs).

        Raises:
            ProverFailed: the run failed (reason set).
        """
        return await self._external.submit(request, priority=priority)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Check the prover, resume in-flight jobs, then prove until cancelled."""
        version = await self._check_version()
        self.status.version = version.raw
        log.info("prover_ready", version=version.raw)
        await self._resume_in_flight()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._grace_on_cancel)
            task_status.started()
            await self._loop()

    async def _check_version(self) -> ZiskVersion:
        """The prover's version, checked against the series this daemon drives and the guest
        profile's (``zisk_cli.decide_version``).

        Raises:
            ProverMisconfigured: an unknown or undriven series, a series other than the
                profile's, or a version line that cannot be parsed (exit status 2).
            Fatal: the prover cannot run at all (missing binary, ``--version`` failing).
        """
        profile = get_profile(self.config.guest_profile)
        try:
            version = await self.backend.detect_version()
        except UnsupportedZiskVersion as exc:
            version = exc.version
        except ProverUnavailable as exc:
            if isinstance(exc.__cause__, VersionParseError):
                message = (f"cargo-zisk --version output cannot be parsed, so its ZisK series "
                           f"is unknown: {exc}")
                log.error("prover_misconfigured", error=message, profile=profile.name)
                raise ProverMisconfigured(message) from exc
            log.error("prover_unavailable", error=str(exc))
            raise Fatal(str(exc)) from exc
        decision = decide_version(version, profile_name=profile.name,
                                  profile_zisk_version=profile.zisk_version)
        if not decision.ok:
            log.error("prover_misconfigured", verdict=str(decision.verdict),
                      version=str(version), raw=version.raw, profile=profile.name,
                      profile_zisk_version=profile.zisk_version, error=decision.message)
            raise ProverMisconfigured(decision.message)
        return version

    async def _grace_on_cancel(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            if self._proof_scope is not None:
                self._proof_scope.deadline = trio.current_time() + self.config.grace_s
                log.info("prover_stopping", grace_s=self.config.grace_s,
                         block_number=self.status.current_block)

    async def _resume_in_flight(self) -> None:
        for job in self.store.jobs_in([JobState.PROVING]):
            if job.pid is not None:
                killed = await kill_process_group(job.pid, not_before=job.proving_started_at)
                log.warning("orphan_prover_killed", block_number=job.block_number, pgid=job.pid,
                            killed=killed)
            self.lifecycle.resume_after_crash(job)
            log.info("job_resumed", block_number=job.block_number, job_id=job.id)

    def _pick(self) -> Job | ExternalRequest | None:
        job = self.store.next_job(JobState.QUEUED)
        external = self._external.top_priority()
        if external is not None and (job is None or external > job.priority):
            return self._external.pop()
        return job

    async def _loop(self) -> None:
        while True:
            # The proof itself runs shielded (see _grace_on_cancel): this is where a stop lands.
            await trio.lowlevel.checkpoint_if_cancelled()
            self._work = trio.Event()
            work = self._pick()
            if work is None:
                await self._work.wait()
            elif isinstance(work, ExternalRequest):
                await self._run_external(work)
            else:
                await self.prove_job(work)

    async def _run_external(self, item: ExternalRequest) -> None:
        self._begin(None, item.block_number, "external")
        scope = self._proof_scope = trio.CancelScope(shield=True)
        try:
            with scope:
                item.result = await self.backend.prove(item.request, on_progress=self._phase)
            if scope.cancelled_caught:
                item.error = ProverFailed(FailureReason.INTERNAL_ERROR, "daemon shutting down")
        except ProverFailed as exc:
            item.error = exc
        finally:
            self._proof_scope = None
            self._end()
            item.done.set()

    def _begin(self, job_id: int | None, block_number: int, kind: str) -> None:
        self.status.current_job_id, self.status.current_block = job_id, block_number
        self.status.current_kind, self.status.proving_since = kind, self.clock()
        self.status.phase = None

    def _end(self) -> None:
        self.status.current_job_id = self.status.current_block = None
        self.status.current_kind = self.status.proving_since = self.status.phase = None

    def _phase(self, phase: str) -> None:
        self.status.phase = phase

    async def prove_job(self, job: Job) -> None:
        """Prove (or execute) one ``queued`` job and record the outcome."""
        with crash_context(block_number=job.block_number, job_id=job.id,
                           proof_type=job.proof_type):
            await self._prove_job(job)

    async def _prove_job(self, job: Job) -> None:
        assert job.input_path is not None, "a queued job has an input"
        out_dir = self.config.output_dir / str(job.block_number)
        out_dir.mkdir(parents=True, exist_ok=True)
        request = ProveRequest(job.block_number, Path(job.input_path), out_dir,
                               self.config.timeout_s)
        if not await self._still_canonical(job, CheckPoint.BEFORE_PROVING):
            return
        job = self.lifecycle.begin_proving(job)
        self._begin(job.id, job.block_number, "execute" if self.config.execute else "prove")
        log.info("proving_started", input_path=job.input_path)
        scope = self._proof_scope = trio.CancelScope(shield=True)
        try:
            with scope:
                if self.config.execute:
                    executed = await self.backend.execute(request, on_spawn=self._on_spawn(job))
                    if not await self._still_canonical(job, CheckPoint.BEFORE_RECORDING):
                        return
                    await self._record_execution(job, executed.cycles, executed.time_ms)
                else:
                    result = await self.backend.prove(
                        request, on_spawn=self._on_spawn(job), on_progress=self._phase
                    )
                    if not await self._still_canonical(job, CheckPoint.BEFORE_RECORDING):
                        return
                    await self._record_proof(job, result)
            if scope.cancelled_caught:
                # Shutdown outlasted the grace period: the group was killed; resume next start.
                self._interrupted(job)
        except ProverFailed as exc:
            # Not shielded: a stop during a store outage leaves the job ``proving``, resumed
            # (tried again) at the next start.
            await self._record_failure(job, exc)
        finally:
            self._proof_scope = None
            self._end()

    async def _still_canonical(self, job: Job, point: CheckPoint) -> bool:
        """True when ``job``'s block is still the canonical one at its height (or cannot be
        checked: no checker, no recorded hash). False when it was replaced (the job went back
        to ``detected``) or, before proving, when the node did not answer within
        ``CHECK_BUDGET_S`` (the job is left ``queued``). See the module docstring."""
        if self.canonical_hash is None or job.block_hash is None:
            return True
        budget = CHECK_BUDGET_S if point is CheckPoint.BEFORE_PROVING else math.inf
        deadline = trio.current_time() + budget
        failures = 0
        while True:
            try:
                canonical = await self.canonical_hash(job.block_number)
                break
            except CanonicalHashUnavailable as exc:
                failures += 1
                wait = CHECK_BACKOFF.delay_s(failures)
                if trio.current_time() + wait > deadline:
                    log.error("canonical_check_gave_up", check_point=str(point),
                              failures=failures, error=str(exc), job_left=str(job.state))
                    return False
                log.warning("canonical_check_failed", check_point=str(point),
                            failures=failures, retry_in_s=wait, error=str(exc))
                await trio.sleep(wait)
        if is_canonical(canonical, job.block_hash):
            return True
        self.lifecycle.reorged(job)
        note_reorg(job, canonical, point, status=self.status, metrics=self.metrics)
        return False

    def _on_spawn(self, job: Job) -> Callable[[int], None]:
        def record(pid: int) -> None:
            try:
                self.lifecycle.record_pid(job, pid)
            except STORE_FAULTS:
                # Only a daemon that dies during this proof needs it (to kill the group).
                log.error("prover_pid_not_recorded", pgid=pid, exc_info=True)

        return record

    def _interrupted(self, job: Job) -> None:
        try:
            self.lifecycle.interrupted_by_shutdown(job)
        except STORE_FAULTS:
            # Still ``proving`` in the store: the next start resumes it all the same.
            log.error("proving_interruption_not_recorded", exc_info=True)
        log.warning("proving_interrupted_by_shutdown")

    async def _record_until_stored(self, job: Job, what: str,
                                   record: Callable[[], Job]) -> Job:
        """Run ``record`` (one lifecycle verb: one transaction) until the store takes it.

        A store fault is logged (with its traceback the first time) and retried after
        ``RECORD_BACKOFF``; the caller's values stay in memory meanwhile. A transaction that
        committed although the call failed afterwards shows as the job having left
        ``proving``: then the stored job is returned.

        Returns:
            The job as stored after the verb.
        """
        rng = random.Random()
        failures = 0
        while True:
            try:
                stored = record()
            except STORE_FAULTS as exc:
                failures += 1
                delay = RECORD_BACKOFF.delay_s(failures, rng)
                log.error("job_outcome_not_stored", outcome=what, failures=failures,
                          retry_in_s=round(delay, 3), error=str(exc), exc_info=failures == 1)
                await trio.sleep(delay)
                continue
            except TransitionError:
                current = self.store.get_job(job.id) if failures else None
                if current is None or current.state is JobState.PROVING:
                    raise
                stored = current
            if failures:
                log.info("job_outcome_stored", outcome=what, failures=failures)
            return stored

    async def _record_execution(self, job: Job, cycles: int | None, time_ms: int) -> None:
        await self._record_until_stored(
            job, "executed",
            lambda: self.lifecycle.executed(job, cycles=cycles, time_ms=time_ms))
        log.info("execution_finished", block_number=job.block_number, cycles=cycles,
                 time_ms=time_ms)

    async def _record_proof(self, job: Job, result: ProofResult) -> None:
        try:
            proof = result.proof_path.read_bytes()
        except OSError as exc:
            raise ProverFailed(FailureReason.PROOF_DATA_UNREADABLE,
                               f"cannot read {result.proof_path}: {exc}") from exc

        def keep_payload(body: str) -> None:  # output/{block}/{block}.json: the body as sent
            sent = result.output_dir / f"{job.block_number}.json"
            try:
                sent.write_text(json.dumps(json.loads(body), indent=2) + "\n")
            except OSError:
                # A copy for the operator; the proof is recorded and reported all the same
                # (a full disk must not cost the GPU time of proving the block again).
                log.warning("proved_payload_copy_not_written", path=str(sent), exc_info=True)

        fields = ProvedFields(result.proving_time_ms, proof, result.cycles, result.proof_id)
        await self._record_until_stored(
            job, "proved",
            lambda: self.lifecycle.proved(job, fields, proof_path=str(result.proof_path),
                                          keep_payload=keep_payload))
        self.status.proved_count += 1
        if self.metrics is not None:
            self.metrics.prover_exits.labels("ok").inc()
            self.metrics.proving_duration.observe(result.proving_time_ms / 1000)
            self.metrics.proof_size.observe(len(proof))
            if result.cycles:
                self.metrics.proving_cycles.observe(result.cycles)
        log.info("block_proved", block_number=job.block_number, job_id=job.id,
                 proving_time_ms=result.proving_time_ms, cycles=result.cycles,
                 proof_bytes=len(proof), proof_id=result.proof_id)

    async def _record_failure(self, job: Job, exc: ProverFailed) -> None:
        error = exc.message + (f"\n--- stderr tail ---\n{exc.stderr_tail}" if exc.stderr_tail
                               else "")
        failed = await self._record_until_stored(
            job, "failed", lambda: self.lifecycle.failed(job, exc.reason, error))
        retry_at = failed.next_attempt_at
        self.status.failed_count += 1
        if self.metrics is not None:
            self.metrics.prover_exits.labels(str(exc.reason)).inc()
            self.metrics.job_failed(exc.reason, retrying=retry_at is not None)
        self.status.last_failure = f"block {job.block_number}: {exc.reason}: {exc.message}"
        if exc.reason is FailureReason.PROOF_DATA_UNREADABLE:
            self.notifier.notify(ProofDataUnreadable(job.block_number, exc.message))
        else:
            self.notifier.notify(ProofFailed(job.block_number, f"{exc.reason}: {exc.message}"))
        log.error("proving_failed", block_number=job.block_number, job_id=job.id,
                  reason=exc.reason, error=exc.message, exit_code=exc.exit_code,
                  stderr_tail=exc.stderr_tail[-500:], attempts=failed.attempts,
                  retry_at=retry_at)

"""The prover actor: a dispatcher of ``slots`` proofs in flight (one with cargo-zisk: one
proving subprocess at a time on this GPU; ``MAX_CONCURRENT_PROOFS`` with the ZisK coordinator).

Whenever a slot is free it takes the next ``queued`` job (highest priority, then oldest block)
or an external request (the Proof Node API) when that has a higher priority, moves the job to
``proving`` (outbox row ``proving``), runs the backend, and records ``proved`` with the
EthProofs ``proved`` payload in the same transaction, writing ``output/{block}/{block}.json``
(the payload as sent). A failure records the reason and schedules a retry within the job's
budget.

On start it checks the prover's version against the series the daemon drives and the guest
profile's (an unknown, undriven or mismatched one stops the daemon with exit status 2:
``ProverMisconfigured``; a prover that cannot run at all: ``Fatal``, exit 1) and
resumes jobs a dead daemon left in ``proving``: the recorded process group is killed first, the
job goes back to ``queued`` and is proved again.

Shutdown: every running proof gets ``grace_s`` seconds to finish (shielded from the
cancellation); past that its process group is killed and the job is left to resume at the next
start.

A backend whose proofs outlive the daemon (``ResumableBackend``: the ZisK coordinator) works the
same way with these differences. The next job is submitted the moment a slot frees (the
backend paces only when the coordinator refuses). The coordinator's job id is stored on the job
(``Lifecycle.record_prover_job``) before the actor waits on it. A job found ``proving`` with
such an id at start (``kill -9``, a crash, or a stop that outlasted the grace period) stays
``proving`` and its result is collected (``attach``, within a fresh ``timeout_s``) instead of
proving the block again; only when the coordinator no longer knows the job is the block
submitted again. A graceful stop leaves coordinator jobs running (it does not cancel them: the
GPU time is not lost) and the next start collects them; a job past its own deadline is still
cancelled on the coordinator and fails ``proving_timeout``.

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

import itertools
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
    JobLost,
    ProofResult,
    ProverBackend,
    ProveRequest,
    ProverFailed,
    ProverMisconfigured,
    ProverUnavailable,
    ResumableBackend,
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
from ethproofs_daemon.status import ProofInFlight, ProverStatus
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

#: Waits between tries of a remote prover's start (registration and setup): 5 s up to 60 s.
START_BACKOFF: Final = Backoff(5.0, 2.0, 60.0, 0.1)
#: The metadata key of the remote prover's program id (the coordinator's ``hash_id``).
PROGRAM_META_KEY: Final = "prover_program_id"

#: What a failing store raises: SQLite errors (locked, I/O, full) and the OS's (no space).
STORE_FAULTS: Final = (sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class ProverConfig:
    """Settings of the prover actor. ``execute``: run the guest for cycles only
    (``ZISK_ACTION=execute``), no proof. Seconds. (Whether anything is reported is the
    lifecycle's ``ReportPolicy``.) ``guest_profile``: the ``GUEST_PROFILE`` name (None: the
    manifest's default), whose ZisK series the prover's version must match. ``slots``: proofs
    in flight at once (``MAX_CONCURRENT_PROOFS``; 1 for cargo-zisk)."""

    output_dir: Path
    timeout_s: float
    grace_s: float
    execute: bool = False
    guest_profile: str | None = None
    slots: int = 1


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
        self._proof_scopes: set[trio.CancelScope] = set()
        self._stop_deadline: float | None = None
        #: Jobs a slot holds (picked, not yet finished), by job id.
        self._taken: set[int] = set()
        self._running = 0
        self._tokens = itertools.count()
        #: Jobs found ``proving`` with a prover job id at start: collected first.
        self._to_attach: list[Job] = []
        #: Prover job ids stored during this run, by job id.
        self._prover_job_ids: dict[int, str] = {}
        self.status.slots = config.slots
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
            if isinstance(self.backend, ResumableBackend):
                nursery.start_soon(self._start_backend, self.backend)
            task_status.started()
            await self._loop()

    async def _start_backend(self, backend: ResumableBackend) -> None:
        """Register the guest program and set it up now, so the first block does not wait
        for it; tried again with ``START_BACKOFF`` while the prover cannot (proofs meanwhile
        do the same work under the backend's own lock). The program id is kept in the store's
        metadata (``PROGRAM_META_KEY``)."""
        failures = 0
        while True:
            try:
                program_id = await backend.start()
                break
            except ProverUnavailable as exc:
                failures += 1
                delay = START_BACKOFF.delay_s(failures)
                log.warning("prover_start_failed", error=str(exc), failures=failures,
                            retry_in_s=delay)
                await trio.sleep(delay)
        try:
            self.store.set_meta(PROGRAM_META_KEY, program_id)
        except STORE_FAULTS:
            log.error("prover_program_id_not_recorded", program_id=program_id, exc_info=True)
        log.info("prover_program_ready", program_id=program_id)

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

    @property
    def resumable(self) -> bool:
        """True when the backend's proofs outlive the daemon (``ResumableBackend``)."""
        return isinstance(self.backend, ResumableBackend)

    async def _grace_on_cancel(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self._stop_deadline = trio.current_time() + self.config.grace_s
            for scope in self._proof_scopes:
                scope.deadline = self._stop_deadline
            if self._proof_scopes:
                log.info("prover_stopping", grace_s=self.config.grace_s,
                         blocks=sorted(p.block_number for p in self.status.in_flight.values()))

    def _shielded_scope(self) -> trio.CancelScope:
        """A proof's scope: shielded from a stop, which gives it ``grace_s`` (its deadline)."""
        scope = trio.CancelScope(shield=True)
        if self._stop_deadline is not None:
            scope.deadline = self._stop_deadline
        self._proof_scopes.add(scope)
        return scope

    async def _resume_in_flight(self) -> None:
        for job in self.store.jobs_in([JobState.PROVING]):
            if job.prover_job_id is not None and self.resumable:
                self._to_attach.append(job)
                log.info("job_reattaching", block_number=job.block_number, job_id=job.id,
                         prover_job_id=job.prover_job_id)
                continue
            if job.pid is not None:
                killed = await kill_process_group(job.pid, not_before=job.proving_started_at)
                log.warning("orphan_prover_killed", block_number=job.block_number, pgid=job.pid,
                            killed=killed)
            self.lifecycle.resume_after_crash(job)
            log.info("job_resumed", block_number=job.block_number, job_id=job.id)

    def _pick(self) -> Job | ExternalRequest | None:
        """The next work for a free slot: the first ``queued`` job no slot holds (priority,
        then oldest block), or a Proof Node API request of higher priority."""
        queued = self.store.jobs_in([JobState.QUEUED], limit=len(self._taken) + 1)
        job = next((j for j in queued if j.id not in self._taken), None)
        external = self._external.top_priority()
        if external is not None and (job is None or external > job.priority):
            return self._external.pop()
        return job

    async def _loop(self) -> None:
        async with trio.open_nursery() as slots:
            for job in self._to_attach:  # already running on the prover: they come first
                self._hold(job.id)
                slots.start_soon(self._slot, job, True)
            self._to_attach = []
            while True:
                # Proofs run shielded (see _grace_on_cancel): this is where a stop lands.
                await trio.lowlevel.checkpoint_if_cancelled()
                self._work = trio.Event()
                work = self._pick() if self._running < self.config.slots else None
                if work is None:
                    await self._work.wait()
                    continue
                self._hold(None if isinstance(work, ExternalRequest) else work.id)
                slots.start_soon(self._slot, work, False)

    def _hold(self, job_id: int | None) -> None:
        self._running += 1
        if job_id is not None:
            self._taken.add(job_id)

    async def _slot(self, work: Job | ExternalRequest, attach: bool) -> None:
        """Run one piece of work in a slot; the slot frees (and the loop wakes) at its end."""
        try:
            if isinstance(work, ExternalRequest):
                await self._run_external(work)
            elif attach:
                with crash_context(block_number=work.block_number, job_id=work.id,
                                   proof_type=work.proof_type):
                    await self._collect_job(work)
            else:
                await self.prove_job(work)
        finally:
            self._running -= 1
            if not isinstance(work, ExternalRequest):
                self._taken.discard(work.id)
                self._prover_job_ids.pop(work.id, None)
            self._work.set()

    async def _run_external(self, item: ExternalRequest) -> None:
        token = self._begin(None, item.block_number, "external")
        scope = self._shielded_scope()
        try:
            with scope:
                item.result = await self.backend.prove(item.request,
                                                       on_progress=self._phase(token))
            if scope.cancelled_caught:
                item.error = ProverFailed(FailureReason.INTERNAL_ERROR, "daemon shutting down")
        except ProverFailed as exc:
            item.error = exc
        finally:
            self._proof_scopes.discard(scope)
            self._end(token)
            item.done.set()

    def _begin(self, job_id: int | None, block_number: int, kind: str) -> int:
        token = next(self._tokens)
        self.status.in_flight[token] = ProofInFlight(block_number, job_id, kind, self.clock())
        self.status.sync_current()
        return token

    def _end(self, token: int) -> None:
        self.status.in_flight.pop(token, None)
        self.status.sync_current()

    def _phase(self, token: int) -> Callable[[str], None]:
        def phase(name: str) -> None:
            proof = self.status.in_flight.get(token)
            if proof is not None:
                proof.phase = name
                self.status.sync_current()

        return phase

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
        token = self._begin(job.id, job.block_number,
                            "execute" if self.config.execute else "prove")
        log.info("proving_started", input_path=job.input_path)
        await self._run_proof(job, request, token, attach_id=None)

    async def _collect_job(self, job: Job) -> None:
        """Collect the proof of a job a previous daemon left running on the prover
        (``job.prover_job_id``), or prove it again when the prover lost it."""
        assert job.input_path is not None and job.prover_job_id is not None
        out_dir = self.config.output_dir / str(job.block_number)
        out_dir.mkdir(parents=True, exist_ok=True)
        request = ProveRequest(job.block_number, Path(job.input_path), out_dir,
                               self.config.timeout_s)
        token = self._begin(job.id, job.block_number, "attach")
        self.status.in_flight[token].prover_job_id = job.prover_job_id
        await self._run_proof(job, request, token, attach_id=job.prover_job_id)

    async def _prove(self, job: Job, request: ProveRequest, token: int,
                     attach_id: str | None) -> ProofResult:
        """The backend's proof of ``request``: collected from the running ``attach_id`` when
        given (proved again when the prover lost it), else proved afresh."""
        backend = self.backend
        if not isinstance(backend, ResumableBackend):
            return await backend.prove(request, on_spawn=self._on_spawn(job),
                                       on_progress=self._phase(token))
        if attach_id is not None:
            outcome = await backend.attach(attach_id, request, on_progress=self._phase(token))
            if not isinstance(outcome, JobLost):
                return outcome
            log.warning("prover_job_lost", block_number=job.block_number, job_id=job.id,
                        prover_job_id=attach_id)
        return await backend.prove(request, on_progress=self._phase(token),
                                   on_job_id=self._on_job_id(job, token))

    async def _run_proof(self, job: Job, request: ProveRequest, token: int,
                         attach_id: str | None) -> None:
        scope = self._shielded_scope()
        try:
            with scope:
                if self.config.execute:
                    executed = await self.backend.execute(request, on_spawn=self._on_spawn(job))
                    if not await self._still_canonical(job, CheckPoint.BEFORE_RECORDING):
                        return
                    await self._record_execution(job, executed.cycles, executed.time_ms)
                else:
                    result = await self._prove(job, request, token, attach_id)
                    if not await self._still_canonical(job, CheckPoint.BEFORE_RECORDING):
                        return
                    await self._record_proof(job, result)
            if scope.cancelled_caught:
                # Shutdown outlasted the grace period: the group was killed (or the coordinator
                # job left running); resume next start.
                self._interrupted(job, attach_id)
        except ProverFailed as exc:
            # Not shielded: a stop during a store outage leaves the job ``proving``, resumed
            # (tried again) at the next start.
            await self._record_failure(job, exc)
        finally:
            self._proof_scopes.discard(scope)
            self._end(token)

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

    def _on_job_id(self, job: Job, token: int) -> Callable[[str], None]:
        def record(prover_job_id: str) -> None:
            self._prover_job_ids[job.id] = prover_job_id
            proof = self.status.in_flight.get(token)
            if proof is not None:
                proof.prover_job_id = prover_job_id
            try:
                self.lifecycle.record_prover_job(job, prover_job_id)
            except STORE_FAULTS:
                # Only a daemon that dies during this proof needs it (to re-attach); without
                # it the block is proved again at the next start.
                log.error("prover_job_id_not_recorded", prover_job_id=prover_job_id,
                          exc_info=True)

        return record

    def _interrupted(self, job: Job, attach_id: str | None = None) -> None:
        prover_job_id = self._prover_job_ids.get(job.id, attach_id)
        if prover_job_id is not None and self.resumable:
            # Left running on the coordinator; the next start collects it (job stays proving).
            log.warning("proving_left_running", block_number=job.block_number,
                        prover_job_id=prover_job_id)
            return
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

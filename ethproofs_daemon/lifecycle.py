"""The one owner of job state changes: every change is a verb of ``Lifecycle``.

A verb moves a job along ``jobs.ALLOWED_TRANSITIONS`` (see the diagram in ``jobs.py``), sets the
fields that go with the move (and clears the ones that no longer hold) and writes the EthProofs
report of the move into the outbox, all in one store transaction. ``MOVES`` is the one table of
which verb goes from which states to which, and which report it writes; ``ReportPolicy`` decides
whether reports are written at all (EthProofs configured, ``ZISK_ACTION=prove``).

The actors (``node/``, ``prover/actor.py``; each also resumes its own jobs after a crash, at
start) and the admin API (``http/app.py``) call verbs; nothing else writes a job. Failures go
through one verb, ``failed``: it counts the attempt, schedules the retry with
``RetryPolicy.retry_at`` and keeps the tail of the error text.

Pure core: no I/O library here; the store is reached through ``JobStore`` (``store.Store``
implements it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from ethproofs_daemon.jobs import (
    NO_CHANGES,
    FailureReason,
    Job,
    JobChanges,
    JobState,
    RetryPolicy,
    TransitionError,
)
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.payloads import ProvedFields, build_payload

#: The error text kept on a failed job: its last characters (the end of a stderr tail matters).
MAX_ERROR_CHARS: Final = 4000


class Verb(enum.StrEnum):
    """The state changes of a job, by name (``Lifecycle`` has one method per verb)."""

    START_FETCHING = "start_fetching"
    BACK_TO_DETECTED = "back_to_detected"
    INPUT_READY = "input_ready"
    QUEUE = "queue"
    BEGIN_PROVING = "begin_proving"
    PROVED = "proved"
    EXECUTED = "executed"
    FAILED = "failed"
    RESUME_FETCHING = "resume_fetching"
    RESUME_INPUT_READY = "resume_input_ready"
    RESUME_PROVING = "resume_proving"
    INTERRUPTED_BY_SHUTDOWN = "interrupted_by_shutdown"
    RETRY_FETCH = "retry_fetch"
    RETRY_QUEUE = "retry_queue"
    REORGED = "reorged"
    STALE_PROOF = "stale_proof"


@dataclass(frozen=True, slots=True)
class Move:
    """One verb's move: the states it starts from, where it goes, the report it writes."""

    sources: frozenset[JobState]
    target: JobState
    report: ReportKind | None = None


_S = JobState
_UNFINISHED: Final = frozenset({_S.DETECTED, _S.FETCHING, _S.INPUT_READY, _S.QUEUED, _S.PROVING})

#: Every state change and the EthProofs report it writes (when ``ReportPolicy`` is set).
#: ``executed`` (``ZISK_ACTION=execute``) ends in its own final state ``executed``, never
#: ``proved``, and writes no report: there is no proof.
#: ``reorged`` writes none either: EthProofs keys proofs by block number, so the rebuilt job's
#: ``queued`` and ``proving`` (written again by ``input_ready`` and ``begin_proving``) follow the
#: old ones in the outbox, in order, and its ``proved`` comes last.
MOVES: Final[dict[Verb, Move]] = {
    Verb.START_FETCHING: Move(frozenset({_S.DETECTED}), _S.FETCHING),
    Verb.BACK_TO_DETECTED: Move(frozenset({_S.FETCHING}), _S.DETECTED),
    Verb.INPUT_READY: Move(frozenset({_S.FETCHING}), _S.INPUT_READY),
    Verb.QUEUE: Move(frozenset({_S.INPUT_READY}), _S.QUEUED, ReportKind.QUEUED),
    Verb.BEGIN_PROVING: Move(frozenset({_S.QUEUED}), _S.PROVING, ReportKind.PROVING),
    Verb.PROVED: Move(frozenset({_S.PROVING}), _S.PROVED, ReportKind.PROVED),
    Verb.EXECUTED: Move(frozenset({_S.PROVING}), _S.EXECUTED),
    Verb.FAILED: Move(_UNFINISHED, _S.FAILED),
    Verb.RESUME_FETCHING: Move(frozenset({_S.FETCHING}), _S.DETECTED),
    Verb.RESUME_INPUT_READY: Move(frozenset({_S.INPUT_READY}), _S.QUEUED, ReportKind.QUEUED),
    Verb.RESUME_PROVING: Move(frozenset({_S.PROVING}), _S.QUEUED),
    Verb.INTERRUPTED_BY_SHUTDOWN: Move(frozenset({_S.PROVING}), _S.QUEUED),
    Verb.RETRY_FETCH: Move(frozenset({_S.FAILED}), _S.DETECTED),
    Verb.RETRY_QUEUE: Move(frozenset({_S.FAILED}), _S.QUEUED, ReportKind.QUEUED),
    Verb.REORGED: Move(frozenset({_S.QUEUED, _S.PROVING}), _S.DETECTED),
    Verb.STALE_PROOF: Move(frozenset({_S.PROVED}), _S.DETECTED),
}

#: What a restart does with a job a dead daemon left in each state (states not listed: nothing;
#: ``proving`` is resumed by the prover after it killed the recorded process group; a
#: ``proving`` job with a ``prover_job_id`` is not moved at all: the prover re-attaches to it).
RESUME: Final[dict[JobState, Verb]] = {
    _S.FETCHING: Verb.RESUME_FETCHING,
    _S.INPUT_READY: Verb.RESUME_INPUT_READY,
    _S.PROVING: Verb.RESUME_PROVING,
}

#: A job leaving ``proving`` without a proof loses its process group, prover job id and start
#: time.
_NOT_PROVING: Final = JobChanges(pid=None, proving_started_at=None, prover_job_id=None)


def retry_target(*, input_on_disk: bool) -> JobState:
    """Where a failed job goes when its retry time comes: back to the prover's queue when its
    input is still on disk, else back to ``detected`` to be fetched again."""
    return JobState.QUEUED if input_on_disk else JobState.DETECTED


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    """EthProofs reporting is on (API configured and ``ZISK_ACTION=prove``): every report goes
    to cluster ``cluster_id``. ``Lifecycle(reporting=None)`` reports nothing."""

    cluster_id: int

    @classmethod
    def choose(cls, cluster_id: int | None, *, execute: bool) -> ReportPolicy | None:
        """The policy of a daemon: None (report nothing) without an EthProofs cluster
        (``ETHPROOFS_*`` unset) or in execute mode (``ZISK_ACTION=execute``: no proofs)."""
        if cluster_id is None or execute:
            return None
        return cls(cluster_id)

    def payload(self, kind: ReportKind, block_number: int,
                fields: ProvedFields | None = None) -> str:
        """The JSON body of ``kind`` for this policy's cluster (``reporting/payloads.py``).

        Raises:
            PayloadError: a value the API would reject, or ``proved`` without ``fields``.
        """
        return build_payload(kind, block_number, self.cluster_id, fields)


class JobStore(Protocol):
    """The writes the lifecycle makes (``store.Store``); each is one transaction."""

    def add_job(self, block_number: int, proof_type: str, *, source: str = ...,
                priority: int = ...) -> tuple[Job, bool]: ...

    def transition(self, job_id: int, target: JobState, *,
                   sources: frozenset[JobState] | None = ..., changes: JobChanges = ...,
                   report: tuple[ReportKind, str] | None = ...,
                   count_attempt: bool = ...) -> Job: ...

    def update_job(self, job_id: int, changes: JobChanges, *,
                   in_state: JobState | None = ...) -> None: ...


class Lifecycle:
    """The verbs (see the module docstring).

    Every verb that moves a job raises ``TransitionError`` when the job is not in one of the
    verb's source states (a bug: the caller read a stale job), and ``KeyError`` when the job does
    not exist; nothing changes then. Those verbs return the job as stored after the move.

    Args:
        store: where jobs and outbox rows are written (``store.Store``).
        reporting: the EthProofs report policy; None writes no reports.
        retry: when failed jobs are tried again.
        clock: Unix seconds.
    """

    def __init__(self, store: JobStore, *, reporting: ReportPolicy | None, retry: RetryPolicy,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.reporting = reporting
        self.retry = retry
        self.clock = clock

    def _move(self, verb: Verb, job: Job, changes: JobChanges = NO_CHANGES, *,
              fields: ProvedFields | None = None, count_attempt: bool = False,
              keep_payload: Callable[[str], None] | None = None) -> Job:
        move = MOVES[verb]
        report = None
        if move.report is not None and self.reporting is not None:
            payload = self.reporting.payload(move.report, job.block_number, fields)
            if keep_payload is not None:
                keep_payload(payload)
            report = (move.report, payload)
        return self.store.transition(job.id, move.target, sources=move.sources, changes=changes,
                                     report=report, count_attempt=count_attempt)

    # -- the input generator's verbs --------------------------------------------------------

    def detected(self, block_number: int, proof_type: str, *, source: str = "follower",
                 priority: int = 0) -> tuple[Job, bool]:
        """A new ``detected`` job unless one exists for (block, proof type): ``(job, created)``.
        ``source`` says who asked (``follower``, ``admin``); higher ``priority`` goes first."""
        return self.store.add_job(block_number, proof_type, source=source, priority=priority)

    def start_fetching(self, job: Job) -> Job:
        """``detected → fetching``: the input generator took the job."""
        return self._move(Verb.START_FETCHING, job)

    def back_to_detected(self, job: Job) -> Job:
        """``fetching → detected``: the node did not answer; no attempt is counted."""
        return self._move(Verb.BACK_TO_DETECTED, job)

    def input_ready(self, job: Job, *, input_path: str, gas_used: int, tx_count: int,
                    block_hash: str | None = None) -> Job:
        """``fetching → input_ready → queued`` (two transactions, the second with the ``queued``
        report): the input is written at ``input_path``; ``block_hash`` (``0x`` hex) is the hash
        of the block it was built from (``PreparedInput.block_hash``), which the prover checks
        against the chain; the block's gas and transactions are kept for notifications. A crash
        in between is resumed by ``resume_after_crash``.

        A job queued without ``block_hash`` (None or empty: a source that could not say) is
        proved without the reorg check."""
        ready = self._move(Verb.INPUT_READY, job, JobChanges(
            input_path=input_path, gas_used=gas_used, tx_count=tx_count,
            block_hash=block_hash or None))
        return self._move(Verb.QUEUE, ready)

    # -- the prover's verbs -----------------------------------------------------------------

    def begin_proving(self, job: Job) -> Job:
        """``queued → proving`` with the ``proving`` report; the start time is recorded."""
        return self._move(Verb.BEGIN_PROVING, job, JobChanges(proving_started_at=self.clock()))

    def record_pid(self, job: Job, pid: int) -> None:
        """The proving subprocess's process-group leader, killed on resume after a crash."""
        self.store.update_job(job.id, JobChanges(pid=pid), in_state=JobState.PROVING)

    def record_prover_job(self, job: Job, prover_job_id: str) -> None:
        """The prover's own id of the running proof (the ZisK coordinator's job id), stored
        before the prover waits on it: a restarted daemon re-attaches to it (the job stays
        ``proving``; no move, no report) instead of proving the block again.

        Raises:
            TransitionError: the job is not ``proving``.
        """
        self.store.update_job(job.id, JobChanges(prover_job_id=prover_job_id),
                              in_state=JobState.PROVING)

    def proved(self, job: Job, fields: ProvedFields, *, proof_path: str,
               keep_payload: Callable[[str], None] | None = None) -> Job:
        """``proving → proved`` with the ``proved`` report (time ms, cycles, proof, proof id).

        Args:
            job: the job being proved.
            fields: what the report carries (``proving_time_ms`` in ms, the proof bytes, ...).
            proof_path: where the proof file is, kept on the job.
            keep_payload: called with the report body before the transaction (the prover writes
                it as ``output/{block}/{block}.json``); not called when nothing is reported.

        Raises:
            PayloadError: the values would be rejected by the API; nothing changed.
            TransitionError: the job is not ``proving``.
        """
        return self._move(Verb.PROVED, job, JobChanges(
            pid=None, prover_job_id=None, proving_time_ms=fields.proving_time_ms,
            cycles=fields.proving_cycles, proof_path=proof_path, proof_id=fields.verifier_id,
        ), fields=fields, keep_payload=keep_payload)

    def reorged(self, job: Job) -> Job:
        """``queued | proving → detected``: the block the input was built from
        (``job.block_hash``) is no longer canonical at its height. The input is forgotten (path
        and hash cleared; the caller deletes the file), as are the process group and start
        time; no attempt is counted and no report is written (see ``MOVES``). The input
        generator builds the job again from the new canonical block."""
        return self._move(Verb.REORGED, job, JobChanges(
            input_path=None, block_hash=None, pid=None, proving_started_at=None,
            prover_job_id=None))

    def stale_proof(self, job: Job) -> Job:
        """``proved → detected``: the proof was recorded, but before its ``proved`` report went
        out the block (``job.block_hash``) left the chain. The caller withholds that report;
        the job forgets its input, hash and proof facts, counts no attempt, writes no report,
        and is built again from the new canonical block (its new reports follow the old ones
        in the outbox, in order)."""
        return self._move(Verb.STALE_PROOF, job, JobChanges(
            input_path=None, block_hash=None, proof_path=None, proof_id=None, cycles=None,
            proving_time_ms=None))

    def executed(self, job: Job, *, cycles: int | None, time_ms: int) -> Job:
        """``proving → executed`` after an execution (``ZISK_ACTION=execute``): cycles and
        time, no proof, no report. ``executed`` is final, like ``proved``."""
        return self._move(Verb.EXECUTED, job, JobChanges(
            pid=None, prover_job_id=None, cycles=cycles, proving_time_ms=time_ms))

    def interrupted_by_shutdown(self, job: Job) -> Job:
        """``proving → queued``: shutdown outlasted the grace period and the process group was
        killed; the job is proved again at the next start. No attempt is counted."""
        return self._move(Verb.INTERRUPTED_BY_SHUTDOWN, job, _NOT_PROVING)

    # -- both ---------------------------------------------------------------------------------

    def failed(self, job: Job, reason: FailureReason, error: str) -> Job:
        """Any unfinished state ``→ failed``: counts one attempt, keeps ``reason`` and the last
        ``MAX_ERROR_CHARS`` of ``error``, and schedules the retry (``next_attempt_at``, Unix s)
        when ``RetryPolicy.retry_at`` grants one (None: the budget is spent).

        Returns:
            The failed job: its ``attempts`` and ``next_attempt_at`` are what the caller logs.
        """
        retry_at = self.retry.retry_at(job.attempts + 1, reason, self.clock())
        return self._move(Verb.FAILED, job, JobChanges(
            failure_reason=reason, error=error[-MAX_ERROR_CHARS:], next_attempt_at=retry_at,
            pid=None, prover_job_id=None,
        ), count_attempt=True)

    def resume_after_crash(self, job: Job) -> Job:
        """Put back in line a job a dead daemon left half-way (``RESUME``): ``fetching →
        detected`` (fetched again), ``input_ready → queued`` (with its ``queued`` report),
        ``proving → queued`` (pid and start time cleared; the caller kills the recorded group
        first). A job in any other state is returned unchanged."""
        verb = RESUME.get(job.state)
        if verb is None:
            return job
        return self._move(verb, job, _NOT_PROVING if job.state is JobState.PROVING
                          else NO_CHANGES)

    def retry_due(self, job: Job, *, input_on_disk: bool) -> Job:
        """``failed → queued`` (with the ``queued`` report) when its input is still on disk, else
        ``failed → detected``; the failure fields are cleared, ``attempts`` kept."""
        to_queue = retry_target(input_on_disk=input_on_disk) is JobState.QUEUED
        return self._move(Verb.RETRY_QUEUE if to_queue else Verb.RETRY_FETCH, job)

    def operator_retry(self, job: Job) -> None:
        """The operator asked for another try of a ``failed`` job: its attempts start again and
        it is due now (the input generator's retry then moves it).

        Raises:
            TransitionError: the job is not ``failed`` (checked again in the transaction).
        """
        if job.state is not JobState.FAILED:
            raise TransitionError(job.state, JobState.FAILED)
        self.store.update_job(job.id, JobChanges(next_attempt_at=self.clock(), attempts=0),
                              in_state=JobState.FAILED)

    def forget_input(self, job: Job) -> None:
        """The input file of a finished job was deleted (retention): forget its path."""
        self.store.update_job(job.id, JobChanges(input_path=None))

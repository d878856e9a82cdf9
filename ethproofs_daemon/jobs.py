"""The job lifecycle's rules: states, failure reasons, allowed transitions (pure, no I/O).

A job is one (block number, proof type). Its state lives in the store; every change is one
transaction made by a verb of ``lifecycle.py`` (which also says which EthProofs report each
change writes). Every edge of ``ALLOWED_TRANSITIONS`` is drawn here, back-edges included::

    detected ──→ fetching ──→ input_ready ──→ queued ──→ proving ──→ proved
       ↑            │                           ↑          │  │
       └────────────┘                           └──────────┘  └──→ executed
       node unavailable; crash                  crash; shutdown past the grace period
       (fetching → detected)                    (proving → queued)

    execute mode (``ZISK_ACTION=execute``): the guest ran for its cycles and no proof was made
    (proving → executed); ``executed`` is final like ``proved``, and never reported

    reorg: the block the input was built from is no longer canonical at its height, found
    before proving (queued → detected) or before recording the proof (proving → detected);
    the input is forgotten and the job is built again from the new canonical block. Found
    after recording but before the ``proved`` report went out (proved → detected), the report
    is withheld and the job is built again the same way

    detected │ fetching │ input_ready │ queued │ proving ──→ failed(reason)

    failed ──→ detected    retry due, the input is gone (fetched again)
    failed ──→ queued      retry due, the input is still on disk

    reason: witness_unavailable │ witness_timeout │ block_unavailable │ input_error │
            proving_error │ proving_timeout │ proof_data_unreadable │ internal_error

An operator retry leaves a job ``failed`` but due now with its attempts reset (the retry edges
above then apply).

Every reason is retryable (``RETRYABLE_REASONS``) until ``RetryPolicy.max_attempts`` is spent;
``executed`` is final; ``proved`` is final but for a reorg found before its report went out
(``FINISHED_STATES``).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, fields
from typing import Final, Literal

from ethproofs_daemon.backoff import Backoff


class JobState(enum.StrEnum):
    """Where a job is in its lifecycle."""

    DETECTED = "detected"
    FETCHING = "fetching"
    INPUT_READY = "input_ready"
    QUEUED = "queued"
    PROVING = "proving"
    PROVED = "proved"
    #: Executed only (``ZISK_ACTION=execute``): cycles and time recorded, no proof, no report.
    EXECUTED = "executed"
    FAILED = "failed"


class FailureReason(enum.StrEnum):
    """Why a job failed; shown in ``status``, ``/health``, metrics and notifications."""

    WITNESS_UNAVAILABLE = "witness_unavailable"
    WITNESS_TIMEOUT = "witness_timeout"
    #: The node does not serve the block (pruned, not synced) although its head is past it.
    BLOCK_UNAVAILABLE = "block_unavailable"
    INPUT_ERROR = "input_error"
    PROVING_ERROR = "proving_error"
    PROVING_TIMEOUT = "proving_timeout"
    PROOF_DATA_UNREADABLE = "proof_data_unreadable"
    INTERNAL_ERROR = "internal_error"


#: The proof type of EthProofs work: ethrex's guest program proved by ZisK.
DEFAULT_PROOF_TYPE: Final = "ethrex-zisk"

#: States in which a job is done for good: nothing moves it on, a retry leaves it alone, and
#: its input may be deleted once old enough.
FINISHED_STATES: Final = frozenset({JobState.PROVED, JobState.EXECUTED})

#: States a job may move to from each state (the diagram above). ``failed`` goes back to
#: ``detected`` or ``queued`` (a retry); ``proved`` and ``executed`` are final.
ALLOWED_TRANSITIONS: Final[dict[JobState, frozenset[JobState]]] = {
    JobState.DETECTED: frozenset({JobState.FETCHING, JobState.FAILED}),
    JobState.FETCHING: frozenset({JobState.INPUT_READY, JobState.FAILED, JobState.DETECTED}),
    JobState.INPUT_READY: frozenset({JobState.QUEUED, JobState.FAILED}),
    JobState.QUEUED: frozenset({JobState.PROVING, JobState.FAILED, JobState.DETECTED}),
    JobState.PROVING: frozenset({JobState.PROVED, JobState.EXECUTED, JobState.FAILED,
                                 JobState.QUEUED, JobState.DETECTED}),
    JobState.PROVED: frozenset({JobState.DETECTED}),
    JobState.EXECUTED: frozenset(),
    JobState.FAILED: frozenset({JobState.DETECTED, JobState.QUEUED}),
}

#: Failure reasons worth another attempt: all of them, on purpose. Each can be transient on an
#: unattended box: a witness the node cannot serve may appear after a node restart or upgrade
#: (``witness_unavailable``, ``witness_timeout``), an input error may come from a node that served
#: a bad block or witness (``input_error``), and a proof may fail, time out or leave an unreadable
#: file because of the GPU, the disk or a killed process (``proving_*``, ``proof_data_unreadable``,
#: ``internal_error``). Retries are bounded by ``RetryPolicy.max_attempts`` and spaced by its
#: backoff, so a permanent failure costs a few attempts and then stays ``failed`` for the operator.
RETRYABLE_REASONS: Final[frozenset[FailureReason]] = frozenset(FailureReason)


class TransitionError(ValueError):
    """A state change that the lifecycle does not allow (a bug, never bad input)."""

    def __init__(self, current: JobState, target: JobState) -> None:
        super().__init__(f"job cannot move from {current} to {target}")
        self.current = current
        self.target = target


def check_transition(current: JobState, target: JobState) -> None:
    """Raise ``TransitionError`` unless ``current → target`` is an allowed move."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise TransitionError(current, target)


@dataclass(frozen=True, slots=True)
class Job:
    """One (block number, proof type) as the store holds it.

    Times are Unix seconds (float). ``attempts`` counts failed attempts (fetch or prove);
    ``next_attempt_at`` is when a failed job may be retried (None: not scheduled).
    ``input_path`` is set once the input is built, with ``block_hash``: the hash (``0x`` hex)
    of the block the input was built from, checked against the chain before proving and before
    recording the proof (None: a job from a schema v1 database, unchecked). ``pid`` is the
    process-group leader of the proving subprocess while ``state == proving``;
    ``prover_job_id`` the prover's own id of the proof while ``state == proving`` (the ZisK
    coordinator's job id, stored before the daemon waits on it so that a restarted daemon
    re-attaches instead of proving again; None with the cargo-zisk driver).
    """

    id: int
    block_number: int
    proof_type: str
    state: JobState
    attempts: int
    priority: int
    created_at: float
    updated_at: float
    failure_reason: FailureReason | None = None
    error: str | None = None
    input_path: str | None = None
    pid: int | None = None
    next_attempt_at: float | None = None
    proving_started_at: float | None = None
    proving_time_ms: int | None = None
    cycles: int | None = None
    proof_path: str | None = None
    proof_id: str | None = None
    source: str = "follower"
    gas_used: int | None = None
    tx_count: int | None = None
    block_hash: str | None = None
    prover_job_id: str | None = None


class _Keep(enum.Enum):
    KEEP = "keep"


#: "Leave this field as it is" in ``JobChanges`` (None means: set the column to NULL).
KEEP: Final = _Keep.KEEP

Keep = Literal[_Keep.KEEP]


@dataclass(frozen=True, slots=True)
class JobChanges:
    """The non-state fields a transition (or ``Store.update_job``) sets on a job.

    Every field defaults to ``KEEP`` (unchanged); ``None`` clears the column. Units as ``Job``.
    ``state``, ``updated_at`` and the identity fields are the store's and cannot be set here.
    """

    attempts: int | Keep = KEEP
    failure_reason: FailureReason | Keep | None = KEEP
    error: str | Keep | None = KEEP
    input_path: str | Keep | None = KEEP
    pid: int | Keep | None = KEEP
    next_attempt_at: float | Keep | None = KEEP
    proving_started_at: float | Keep | None = KEEP
    proving_time_ms: int | Keep | None = KEEP
    cycles: int | Keep | None = KEEP
    proof_path: str | Keep | None = KEEP
    proof_id: str | Keep | None = KEEP
    gas_used: int | Keep | None = KEEP
    tx_count: int | Keep | None = KEEP
    block_hash: str | Keep | None = KEEP
    prover_job_id: str | Keep | None = KEEP

    def columns(self) -> dict[str, object]:
        """The fields to write, by column name (``KEEP`` fields left out)."""
        return {
            f.name: value
            for f in fields(self)
            if (value := getattr(self, f.name)) is not KEEP
        }


#: A transition that sets no field besides the state.
NO_CHANGES: Final = JobChanges()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed jobs are retried: exponential backoff up to ``max_attempts`` attempts.

    Delays are seconds: ``base_s * factor ** (attempts - 1)``, capped at ``cap_s``, with up to
    ``jitter`` (a fraction) added at random.
    """

    max_attempts: int = 3
    base_s: float = 30.0
    factor: float = 2.0
    cap_s: float = 1800.0
    jitter: float = 0.1

    def delay_s(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempts + 1`` (``attempts >= 1``)."""
        return Backoff(self.base_s, self.factor, self.cap_s, self.jitter).delay_s(attempts, rng)

    def should_retry(self, attempts: int, reason: FailureReason) -> bool:
        """True when a job that failed for ``reason`` after ``attempts`` attempts gets another."""
        return reason in RETRYABLE_REASONS and attempts < self.max_attempts

    def retry_at(self, attempts: int, reason: FailureReason, now: float) -> float | None:
        """When (Unix s) a job that has now failed ``attempts`` times for ``reason`` is tried
        again, or None when its budget is spent."""
        if not self.should_retry(attempts, reason):
            return None
        return now + self.delay_s(attempts)


def targets_between(low: int, high: int, interval: int) -> list[int]:
    """Targets in ``[low, high]`` (inclusive) in ascending order; empty when ``low > high``."""
    if low > high:
        return []
    first = low + (-low) % interval
    return list(range(first, high + 1, interval))

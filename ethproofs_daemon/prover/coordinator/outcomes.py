"""What a ``WaitJobResult`` answer means, as typed values, and the job failure it makes (pure).

The coordinator's reply (``zisk.coordinator.v1.WaitJobResultResponse``, field tables of
``eth-act/ere@8961a4e:crates/cluster-client/zisk/proto/zisk_coordinator_api.proto``) becomes one
of ``JobRunning`` / ``JobCompleted`` / ``JobFailed`` / ``JobCancelled``. The real server returns
``running{}`` when its hold time ends, a terminal status at once, failures always as
``failed{execution{reason}}``, and never ``queued`` / ``waiting_for_input``; those (sent by the
upstream mock backend) still read as ``JobRunning`` (``0xPolygonHermez/zisk@c603fe8fd:
distributed/crates/coordinator-server/src/backend/coordinator.rs`` ``wait_job_result``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb

#: ``ExecutionStats.duration_nanos`` is ``duration_ms × 1,000,000`` (millisecond resolution).
NANOS_PER_MS: Final = 1_000_000


class FailureKind(enum.StrEnum):
    """The ``JobFailure.kind`` member the server set (``unknown``: none or a newer one)."""

    TIMEOUT = "timeout"
    INPUT = "input"
    EXECUTION = "execution"
    INTERNAL = "internal"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ProveOutput:
    """A completed prove job. ``data`` is ``proof.data``: bincode-2 ``zisk_common::Proof``
    (layout D from 1.1; ``proof_files.decode_proof_file``); ``steps`` executed guest steps
    (``stats.steps``); ``duration_ms`` from ``stats.duration_nanos`` (job accepted → terminal);
    ``proof_kind`` as the reply says it (the real server always says STARK = 1: read the kind from
    ``data``)."""

    data: bytes
    steps: int
    duration_ms: int
    proof_kind: int


@dataclass(frozen=True, slots=True)
class SetupOutput:
    """A completed setup job: ``vk`` the program VK (32 bytes = 4 LE u64), ``hash_mode`` its
    hash family text (``"Poseidon1"``, …; ``""`` from 0.17/0.18 servers, which lack the field)."""

    vk: bytes
    hash_mode: str


@dataclass(frozen=True, slots=True)
class JobRunning:
    """Not terminal yet (the hold time ended). ``phase`` is the ``JobPhase`` name when sent
    (never by the real server), else None."""

    phase: str | None = None


@dataclass(frozen=True, slots=True)
class JobCompleted:
    """Terminal success. ``result`` is None when the reply has no result or a kind other than
    prove/setup (a malformed answer for the daemon's jobs)."""

    result: ProveOutput | SetupOutput | None


@dataclass(frozen=True, slots=True)
class JobFailed:
    """Terminal failure: ``kind`` of ``JobFailure`` and its text (``reason``, or the internal
    ``trace_id``, or the timeout's phase and limit)."""

    kind: FailureKind
    message: str


@dataclass(frozen=True, slots=True)
class JobCancelled:
    """Terminal: the job was cancelled (by ``CancelJob``, from this daemon or anyone else)."""


JobOutcome = JobRunning | JobCompleted | JobFailed | JobCancelled


def _failure(failure: pb.JobFailure) -> JobFailed:
    which = failure.WhichOneof("kind")
    if which == "execution":
        return JobFailed(FailureKind.EXECUTION, failure.execution.reason)
    if which == "input":
        return JobFailed(FailureKind.INPUT, failure.input.reason)
    if which == "internal":
        trace = failure.internal.trace_id
        return JobFailed(FailureKind.INTERNAL, f"internal error (trace {trace})")
    if which == "timeout":
        t = failure.timeout
        phase = pb.JobPhase.Name(t.phase) if t.HasField("phase") else "unknown phase"
        return JobFailed(FailureKind.TIMEOUT,
                         f"{phase} ran past its limit of {t.limit.seconds} s")
    if which == "cancelled":
        return JobFailed(FailureKind.CANCELLED, "job cancelled")
    return JobFailed(FailureKind.UNKNOWN, "job failed without a failure kind")


def _result(result: pb.JobKindResponse) -> ProveOutput | SetupOutput | None:
    which = result.WhichOneof("kind")
    if which == "prove":
        prove = result.prove
        return ProveOutput(
            data=prove.proof.data,
            steps=prove.stats.steps,
            duration_ms=prove.stats.duration_nanos // NANOS_PER_MS,
            proof_kind=prove.proof.proof_kind,
        )
    if which == "setup":
        return SetupOutput(vk=result.setup.vk, hash_mode=result.setup.hash_mode)
    return None


def parse_wait_response(resp: pb.WaitJobResultResponse) -> JobOutcome:
    """The outcome a ``WaitJobResultResponse`` reports (module doc). No status at all reads as
    running (the SDK and ere treat anything non-terminal as "poll again")."""
    which = resp.job_status.WhichOneof("status")
    if which == "completed":
        return JobCompleted(_result(resp.result) if resp.HasField("result") else None)
    if which == "failed":
        return _failure(resp.job_status.failed.failure)
    if which == "cancelled":
        return JobCancelled()
    if which == "running" and resp.job_status.running.HasField("phase"):
        return JobRunning(pb.JobPhase.Name(resp.job_status.running.phase))
    return JobRunning()


#: Texts of an execution failure that say what went wrong better than its kind: the monitor's
#: phase timeout (``[Monitor] Phase <P> timed out for job …``,
#: ``zisk@c603fe8fd:distributed/crates/coordinator/src/coordinator.rs`` ``check_phase_timeouts``)
#: and the emulator's refusal of unframed input (``input size must be a multiple of 8``,
#: ``zisk@v0.16.1:emulator/src/emu_context.rs``).
_EXECUTION_SIGNATURES: Final = (
    ("timed out", FailureReason.PROVING_TIMEOUT),
    ("multiple of 8", FailureReason.INPUT_ERROR),
)


def failure_reason(failed: JobFailed) -> FailureReason:
    """The job's ``FailureReason`` for a coordinator failure: timeout → ``proving_timeout``;
    input → ``input_error``; internal → ``internal_error``; execution → ``proving_error``
    unless its text matches ``_EXECUTION_SIGNATURES``; cancelled / unknown → ``proving_error``
    (the run did not finish; not cancelled by this daemon, whose own cancels are timeouts)."""
    if failed.kind is FailureKind.TIMEOUT:
        return FailureReason.PROVING_TIMEOUT
    if failed.kind is FailureKind.INPUT:
        return FailureReason.INPUT_ERROR
    if failed.kind is FailureKind.INTERNAL:
        return FailureReason.INTERNAL_ERROR
    if failed.kind is FailureKind.EXECUTION:
        for text, reason in _EXECUTION_SIGNATURES:
            if text in failed.message:
                return reason
    return FailureReason.PROVING_ERROR

"""The coordinator client's mapping of statuses and replies (pure), and its handling of trio
cancellation over a real gRPC call (stand-in coordinator on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb
from ethproofs_daemon.prover.coordinator.client import (
    CallTimeouts,
    CoordinatorClient,
    push_chunks,
)
from ethproofs_daemon.prover.coordinator.errors import (
    CallTimedOut,
    ClusterBusy,
    CoordinatorInternal,
    CoordinatorUnreachable,
    JobNotFound,
    ProgramNotFound,
    RequestRejected,
    SetupNeeded,
    classify_status,
)
from ethproofs_daemon.prover.coordinator.outcomes import (
    FailureKind,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobRunning,
    ProveOutput,
    SetupOutput,
    failure_reason,
    parse_wait_response,
)
from tests.standins.zisk_coordinator import StandinSettings, ZiskCoordinatorStandin

# (code, text as the real server sends it, class): coordinator doc §2.8.
STATUSES = [
    ("UNAVAILABLE", "Cluster unavailable: no workers connected", ClusterBusy),
    ("UNAVAILABLE", "Cluster unavailable: workers are setting up; retry shortly", ClusterBusy),
    ("UNAVAILABLE", "Cluster unavailable: workers connected but setup not done; call setup() "
                    "first", SetupNeeded),
    ("FAILED_PRECONDITION", "Workers connected but setup not done; call setup() first",
     SetupNeeded),
    ("UNAVAILABLE", "Workers are busy; retry shortly", ClusterBusy),
    ("RESOURCE_EXHAUSTED", "Insufficient compute capacity", ClusterBusy),
    ("UNAVAILABLE", "failed to connect to all addresses; last error: UNKNOWN: "
                    "ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused",
     CoordinatorUnreachable),
    ("DEADLINE_EXCEEDED", "Deadline Exceeded", CallTimedOut),
    ("NOT_FOUND", "Job not found: 3b0f0a52-5f43-4cb5-8d1b-6f0b0b1b1b1b", JobNotFound),
    ("NOT_FOUND", "Program not found: abcd", ProgramNotFound),
    ("INTERNAL", "An internal error occurred", CoordinatorInternal),
    ("INVALID_ARGUMENT", "Invalid job state: Cannot run setup_program while workers are "
                         "computing", ClusterBusy),
    ("INVALID_ARGUMENT", "input must be set", RequestRejected),
    ("OUT_OF_RANGE", "Error, decoded message length too large: found 134217729 bytes, the "
                     "limit is: 134217728 bytes", RequestRejected),
]


@pytest.mark.parametrize(("code", "text", "cls"), STATUSES)
def test_statuses_map_by_code_and_text(code: str, text: str, cls: type) -> None:
    err = classify_status(code, text)
    assert type(err) is cls and err.code == code and err.details == text


def _wait(status: pb.JobStatus, result: pb.JobKindResponse | None = None
          ) -> pb.WaitJobResultResponse:
    resp = pb.WaitJobResultResponse(job_id="j", job_status=status)
    if result is not None:
        resp.result.CopyFrom(result)
    return resp


def test_wait_replies_read_as_typed_outcomes() -> None:
    prove = pb.JobKindResponse(prove=pb.ProveResponse(
        proof=pb.Proof(data=b"\x00", proof_kind=pb.PROOF_KIND_STARK),
        stats=pb.ExecutionStats(steps=42, duration_nanos=1_234_000_000)))
    setup = pb.JobKindResponse(setup=pb.SetupResponse(vk=bytes(32), hash_mode="Poseidon1"))
    running = pb.JobStatus(running=pb.JobStatusRunning())
    assert parse_wait_response(_wait(running)) == JobRunning()
    assert parse_wait_response(_wait(pb.JobStatus(queued=pb.JobStatusQueued()))) == JobRunning()
    assert parse_wait_response(_wait(pb.JobStatus(running=pb.JobStatusRunning(
        phase=pb.JOB_PHASE_PROVE)))) == JobRunning("JOB_PHASE_PROVE")
    done = pb.JobStatus(completed=pb.JobStatusCompleted())
    assert parse_wait_response(_wait(done, prove)) == JobCompleted(
        ProveOutput(b"\x00", 42, 1234, pb.PROOF_KIND_STARK))
    assert parse_wait_response(_wait(done, setup)) == JobCompleted(
        SetupOutput(bytes(32), "Poseidon1"))
    assert parse_wait_response(_wait(done)) == JobCompleted(None)
    failed = pb.JobStatus(failed=pb.JobStatusFailed(failure=pb.JobFailure(
        execution=pb.JobFailureExecution(reason="Worker w disconnected"))))
    assert parse_wait_response(_wait(failed)) == JobFailed(FailureKind.EXECUTION,
                                                           "Worker w disconnected")
    assert parse_wait_response(_wait(pb.JobStatus(cancelled=pb.JobStatusCancelled()))) \
        == JobCancelled()


@pytest.mark.parametrize(
    ("failed", "reason"),
    [
        (JobFailed(FailureKind.EXECUTION, "Worker w disconnected"), FailureReason.PROVING_ERROR),
        (JobFailed(FailureKind.EXECUTION, "[Monitor] Phase Prove timed out for job j "
                   "(601s > 600s)"), FailureReason.PROVING_TIMEOUT),
        (JobFailed(FailureKind.EXECUTION, "input size must be a multiple of 8"),
         FailureReason.INPUT_ERROR),
        (JobFailed(FailureKind.TIMEOUT, "x"), FailureReason.PROVING_TIMEOUT),
        (JobFailed(FailureKind.INPUT, "x"), FailureReason.INPUT_ERROR),
        (JobFailed(FailureKind.INTERNAL, "x"), FailureReason.INTERNAL_ERROR),
        (JobFailed(FailureKind.CANCELLED, "x"), FailureReason.PROVING_ERROR),
    ],
)
def test_failure_kinds_map_to_job_failure_reasons(failed: JobFailed,
                                                  reason: FailureReason) -> None:
    assert failure_reason(failed) is reason


def test_pushed_chunks_are_multiples_of_8_and_carry_the_input_in_order() -> None:
    data = bytes(range(40))
    chunks = list(push_chunks("j", data, 16))
    assert [len(c.chunk.data) for c in chunks] == [16, 16, 8]
    assert b"".join(c.chunk.data for c in chunks) == data and {c.job_id for c in chunks} == {"j"}
    with pytest.raises(ValueError):
        list(push_chunks("j", bytes(12), 16))


@pytest.fixture
def hung() -> Iterator[ZiskCoordinatorStandin]:
    s = ZiskCoordinatorStandin(StandinSettings())
    s.start()
    s.hang()
    yield s
    s.stop()


async def test_trio_cancellation_ends_the_call_on_the_server_too(
    hung: ZiskCoordinatorStandin,
) -> None:
    with CoordinatorClient(hung.target, timeouts=CallTimeouts(register_s=60)) as client:
        with trio.fail_after(10):
            with trio.move_on_after(0.3):
                await client.register(b"\x7fELF")
            for _ in range(100):  # the server notices the cancelled call within a tick
                if hung.dropped_calls:
                    break
                await trio.sleep(0.05)
    assert hung.dropped_calls == 1


async def test_a_call_past_its_deadline_is_call_timed_out(hung: ZiskCoordinatorStandin) -> None:
    client = CoordinatorClient(hung.target, timeouts=CallTimeouts(cancel_s=0.3))
    with client, trio.fail_after(10), pytest.raises(CallTimedOut):
        await client.cancel("3b0f0a52-5f43-4cb5-8d1b-6f0b0b1b1b1b")


async def test_a_stopped_coordinator_is_unreachable_at_once() -> None:
    s = ZiskCoordinatorStandin(StandinSettings())
    s.start()
    target = s.target
    s.stop()
    client = CoordinatorClient(target, timeouts=CallTimeouts(register_s=30))
    with client, trio.fail_after(10), pytest.raises(CoordinatorUnreachable) as exc:
        await client.register(b"\x7fELF")
    assert not isinstance(exc.value, CallTimedOut)

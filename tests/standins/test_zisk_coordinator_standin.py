"""The stand-in coordinator's own contract (its module doc, the coordinator doc's §6), checked
over real gRPC with the generated blocking stub."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import blake3
import grpc
import pytest

from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb
from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2_grpc as pb_grpc
from ethproofs_daemon.prover.proof_files import ProofKind, ProofLayout, decode_proof_file
from tests.standins.zisk_coordinator import (
    SilentListener,
    StandinSettings,
    ZiskCoordinatorStandin,
)

ELF = b"\x7fELF stand-in guest for the coordinator"
HASH = blake3.blake3(ELF).hexdigest()
FRAMED = struct.pack("<Q", 5) + b"hello" + bytes(3)


Rig = tuple[ZiskCoordinatorStandin, pb_grpc.ZiskCoordinatorApiStub]


def _server(settings: StandinSettings) -> Iterator[Rig]:
    standin = ZiskCoordinatorStandin(settings)
    standin.start()
    channel = grpc.insecure_channel(standin.target)
    try:
        yield standin, pb_grpc.ZiskCoordinatorApiStub(channel)
    finally:
        channel.close()
        standin.stop()


@pytest.fixture
def coord() -> Iterator[Rig]:
    yield from _server(StandinSettings(setup_s=0.3, prove_s=0.3, recovery_s=0.3))


@pytest.fixture
def two_partitions() -> Iterator[Rig]:
    yield from _server(StandinSettings(partitions=2, setup_s=0.05, prove_s=2.0))


def status_of(exc: pytest.ExceptionInfo[grpc.RpcError]) -> tuple[grpc.StatusCode, str]:
    return exc.value.code(), exc.value.details() or ""


def setup_req(hash_id: str = HASH) -> pb.JobRequestMessage:
    return pb.JobRequestMessage(job_kind=pb.JobKind(setup=pb.SetupRequest(hash_id=hash_id)))


def prove_req(data: bytes = FRAMED, kind: int = pb.PROOF_KIND_STARK_MINIMAL,
              hash_id: str = HASH) -> pb.JobRequestMessage:
    return pb.JobRequestMessage(job_kind=pb.JobKind(prove=pb.ProveRequest(
        hash_id=hash_id, input=pb.InputKind(inline=pb.InputChunk(data=data)), proof_dest=kind)))


def wait(stub: pb_grpc.ZiskCoordinatorApiStub, job_id: str,
         hold: int = 5) -> pb.WaitJobResultResponse:
    return stub.WaitJobResult(pb.WaitJobResultRequest(job_id=job_id, timeout_seconds=hold),
                              timeout=hold + 5)


def ready(stub: pb_grpc.ZiskCoordinatorApiStub) -> bytes:
    """Register and set up ``ELF``; the setup's vk."""
    stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
    resp = wait(stub, stub.JobRequest(setup_req(), timeout=5).job_id)
    assert resp.job_status.WhichOneof("status") == "completed"
    return resp.result.setup.vk


def test_register_answers_the_blake3_hex_and_is_idempotent(coord) -> None:
    _, stub = coord
    first = stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
    again = stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
    assert first.hash_id == again.hash_id == HASH


def test_register_refuses_an_empty_elf(coord) -> None:
    _, stub = coord
    with pytest.raises(grpc.RpcError) as exc:
        stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=b""), timeout=5)
    assert status_of(exc) == (grpc.StatusCode.INVALID_ARGUMENT, "zisk_elf must not be empty")


def test_setup_of_an_unregistered_hash_is_not_found(coord) -> None:
    _, stub = coord
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(setup_req("ab" * 32), timeout=5)
    assert status_of(exc) == (grpc.StatusCode.NOT_FOUND, f"Program not found: {'ab' * 32}")


def test_first_setup_occupies_the_workers_and_a_repeat_completes_at_once(coord) -> None:
    _, stub = coord
    stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
    job = stub.JobRequest(setup_req(), timeout=5).job_id
    with pytest.raises(grpc.RpcError) as exc:  # the first setup runs on every worker
        stub.JobRequest(prove_req(), timeout=5)
    assert status_of(exc) == (grpc.StatusCode.UNAVAILABLE,
                              "Cluster unavailable: workers are setting up; retry shortly")
    first = wait(stub, job)
    assert first.result.setup.hash_mode == "Poseidon1" and len(first.result.setup.vk) == 32
    again = stub.JobRequest(setup_req(), timeout=5).job_id
    assert stub.JobRequest(prove_req(), timeout=5).job_id  # the repeat took no worker
    assert wait(stub, again).result.setup.vk == first.result.setup.vk


def test_prove_before_setup_is_refused_with_setup_not_done(coord) -> None:
    _, stub = coord
    stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert status_of(exc) == (
        grpc.StatusCode.UNAVAILABLE,
        "Cluster unavailable: workers connected but setup not done; call setup() first")


def test_no_queue_a_submission_while_busy_is_refused(coord) -> None:
    _, stub = coord
    ready(stub)
    stub.JobRequest(prove_req(), timeout=5)
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert status_of(exc) == (grpc.StatusCode.UNAVAILABLE,
                              "Cluster unavailable: no workers connected")


def test_partitions_let_that_many_jobs_run_at_once(two_partitions) -> None:
    standin, stub = two_partitions
    ready(stub)
    stub.JobRequest(prove_req(), timeout=5)
    stub.JobRequest(prove_req(), timeout=5)
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(standin.running_jobs()) == 2


def test_wait_ends_its_hold_with_running_and_no_phase(two_partitions) -> None:
    _, stub = two_partitions
    ready(stub)
    job = stub.JobRequest(prove_req(), timeout=5).job_id
    started = time.monotonic()
    resp = wait(stub, job, hold=1)
    assert time.monotonic() - started >= 0.9
    assert resp.job_status.WhichOneof("status") == "running"
    assert not resp.job_status.running.HasField("phase")
    assert not resp.HasField("result")


def test_a_completed_prove_is_a_layout_d_envelope_read_as_the_real_server_sends_it(coord) -> None:
    standin, stub = coord
    vk = ready(stub)
    job = stub.JobRequest(prove_req(kind=pb.PROOF_KIND_STARK_MINIMAL), timeout=5).job_id
    first, second = wait(stub, job), wait(stub, job)
    proof = first.result.prove.proof
    assert proof.proof_kind == pb.PROOF_KIND_STARK  # whatever was asked
    assert proof.hash_id == HASH and second.result.prove.proof.hash_id == ""
    assert proof.proof_id != second.result.prove.proof.proof_id
    assert proof.verification_key == b"" and proof.public_inputs == b""
    stats = first.result.prove.stats
    assert stats.steps == standin.settings.steps
    assert stats.duration_nanos % 1_000_000 == 0 and stats.duration_nanos >= 250_000_000
    decoded = decode_proof_file(proof.data, ProofLayout.V1_D)
    assert decoded.kind is ProofKind.MINIMAL and decoded.program_vk == vk
    assert decoded.hash_family == "Poseidon1"


def test_a_failure_is_an_execution_reason_followed_by_recovery(coord) -> None:
    standin, stub = coord
    ready(stub)
    standin.fail_next("Worker w1 disconnected")
    resp = wait(stub, stub.JobRequest(prove_req(), timeout=5).job_id)
    assert resp.job_status.failed.failure.WhichOneof("kind") == "execution"
    assert resp.job_status.failed.failure.execution.reason == "Worker w1 disconnected"
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert status_of(exc) == (grpc.StatusCode.UNAVAILABLE,
                              "Cluster unavailable: workers are setting up; retry shortly")
    time.sleep(standin.settings.recovery_s)
    assert stub.JobRequest(prove_req(), timeout=5).job_id


def test_cancel_returns_at_once_then_false_and_unknown_ids_are_internal(coord) -> None:
    _, stub = coord
    ready(stub)
    job = stub.JobRequest(prove_req(), timeout=5).job_id
    assert stub.CancelJob(pb.CancelJobRequest(job_id=job), timeout=5).cancelled is True
    assert stub.CancelJob(pb.CancelJobRequest(job_id=job), timeout=5).cancelled is False
    assert wait(stub, job).job_status.WhichOneof("status") == "cancelled"
    with pytest.raises(grpc.RpcError) as exc:
        stub.CancelJob(pb.CancelJobRequest(job_id="00000000-0000-0000-0000-000000000000"),
                       timeout=5)
    assert status_of(exc) == (grpc.StatusCode.INTERNAL, "An internal error occurred")
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert "workers are setting up" in status_of(exc)[1]


def test_restart_forgets_jobs_and_setups_but_not_registrations(coord) -> None:
    standin, stub = coord
    ready(stub)
    job = stub.JobRequest(prove_req(), timeout=5).job_id
    standin.restart()
    with pytest.raises(grpc.RpcError) as exc:
        wait(stub, job)
    assert status_of(exc) == (grpc.StatusCode.NOT_FOUND, f"Job not found: {job}")
    with pytest.raises(grpc.RpcError) as exc:
        stub.JobRequest(prove_req(), timeout=5)
    assert "setup not done" in status_of(exc)[1]
    setup = wait(stub, stub.JobRequest(setup_req(), timeout=5).job_id)  # no new register
    assert setup.job_status.WhichOneof("status") == "completed"


@pytest.mark.parametrize(
    ("data", "hash_id", "reason"),
    [
        (b"hello", HASH, "input size must be a multiple of 8"),
        (FRAMED, "cd" * 32, f"Guest program not found for hash_id={'cd' * 32}"),
    ],
)
def test_jobs_the_workers_cannot_run_are_accepted_then_fail(coord, data, hash_id, reason) -> None:
    _, stub = coord
    ready(stub)
    resp = wait(stub, stub.JobRequest(prove_req(data, hash_id=hash_id), timeout=5).job_id)
    assert resp.job_status.failed.failure.execution.reason == reason


def test_a_message_over_the_limit_is_out_of_range() -> None:
    for standin, stub in _server(StandinSettings(max_message_bytes=4096)):
        stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=5)
        with pytest.raises(grpc.RpcError) as exc:
            stub.JobRequest(prove_req(bytes(8192)), timeout=5)
        code, text = status_of(exc)
        assert code == grpc.StatusCode.OUT_OF_RANGE
        assert text.startswith("Error, decoded message length too large: found ")
        assert text.endswith("the limit is: 4096 bytes")
        assert standin.prove_requests()  # received and recorded


def test_pushed_input_is_proved_like_inline_input(coord) -> None:
    _, stub = coord
    ready(stub)
    req = pb.JobRequestMessage(job_kind=pb.JobKind(prove=pb.ProveRequest(
        hash_id=HASH, input=pb.InputKind(stream_uri="grpc://push"),
        proof_dest=pb.PROOF_KIND_STARK_MINIMAL)))
    job = stub.JobRequest(req, timeout=5).job_id
    assert wait(stub, job, hold=1).job_status.WhichOneof("status") == "running"
    stub.PushJobInput(iter([
        pb.PushJobInputRequest(job_id=job, chunk=pb.InputChunk(data=FRAMED[:8])),
        pb.PushJobInputRequest(job_id=job, chunk=pb.InputChunk(data=FRAMED[8:])),
    ]), timeout=5)
    resp = wait(stub, job)
    assert resp.job_status.WhichOneof("status") == "completed"
    inline = wait(stub, stub.JobRequest(prove_req(), timeout=5).job_id)
    assert resp.result.prove.proof.data == inline.result.prove.proof.data


def test_watch_replays_then_streams_to_one_terminal_event(coord) -> None:
    _, stub = coord
    ready(stub)
    job = stub.JobRequest(prove_req(), timeout=5).job_id
    events = [e.WhichOneof("event")
              for e in stub.WatchJob(pb.WatchJobRequest(job_id=job), timeout=10)]
    assert events == ["queued", "started", "progress", "progress", "completed"]


def test_a_hung_server_accepts_calls_and_never_answers(coord) -> None:
    standin, stub = coord
    standin.hang()
    with pytest.raises(grpc.RpcError) as exc:
        stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=0.5)
    assert exc.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(standin.calls("RegisterGuestProgram")) == 1
    standin.hang(False)
    assert stub.RegisterGuestProgram(pb.RegisterGuestProgramRequest(zisk_elf=ELF),
                                     timeout=5).hash_id == HASH


def test_a_silent_listener_ends_calls_only_at_their_deadline() -> None:
    listener = SilentListener()
    listener.start()
    channel = grpc.insecure_channel(listener.target)
    try:
        with pytest.raises(grpc.RpcError) as exc:
            pb_grpc.ZiskCoordinatorApiStub(channel).RegisterGuestProgram(
                pb.RegisterGuestProgramRequest(zisk_elf=ELF), timeout=0.5)
        # the deadline, or gRPC's own "timed out before receiving SETTINGS frame"
        assert exc.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED,
                                    grpc.StatusCode.UNAVAILABLE)
    finally:
        channel.close()
        listener.stop()


def test_grpc_health_reports_serving(coord) -> None:
    standin, _ = coord
    channel = grpc.insecure_channel(standin.target)
    try:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)
        assert check(b"", timeout=5) == b"\x08\x01"
    finally:
        channel.close()

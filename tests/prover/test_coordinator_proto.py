"""The committed coordinator modules are what ``scripts/gen-proto.sh`` makes of the ``.proto``,
and the ``.proto`` keeps the upstream wire names and numbers (the 1.1.0-alpha field tables of
``eth-act/ere@8961a4e:crates/cluster-client/zisk/proto/zisk_coordinator_api.proto``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
PKG = "ethproofs_daemon/prover/coordinator"
GENERATED = (
    "zisk_coordinator_api_pb2.py",
    "zisk_coordinator_api_pb2.pyi",
    "zisk_coordinator_api_pb2_grpc.py",
)


def test_committed_modules_are_regenerated_identically(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-proto.sh"), str(tmp_path)],
        check=True, capture_output=True, timeout=120, env={"PYTHON": sys.executable},
    )
    for name in GENERATED:
        fresh = (tmp_path / PKG / name).read_text()
        committed = (ROOT / PKG / name).read_text()
        assert fresh == committed, f"{name} is stale: run scripts/gen-proto.sh"


def test_service_methods_have_the_upstream_paths_and_shapes() -> None:
    service = pb.DESCRIPTOR.services_by_name["ZiskCoordinatorApi"]
    assert service.full_name == "zisk.coordinator.v1.ZiskCoordinatorApi"
    shapes = {
        m.name: (m.input_type.full_name, m.output_type.full_name,
                 m.client_streaming, m.server_streaming)
        for m in service.methods
    }
    v1 = "zisk.coordinator.v1."
    assert shapes == {
        "RegisterGuestProgram": (v1 + "RegisterGuestProgramRequest",
                                 v1 + "RegisterGuestProgramResponse", False, False),
        "JobRequest": (v1 + "JobRequestMessage", v1 + "JobResponse", False, False),
        "WaitJobResult": (v1 + "WaitJobResultRequest", v1 + "WaitJobResultResponse",
                          False, False),
        "WatchJob": (v1 + "WatchJobRequest", v1 + "JobEvent", False, True),
        "PushJobInput": (v1 + "PushJobInputRequest", "google.protobuf.Empty", True, False),
        "PushJobHintsInput": (v1 + "PushJobHintsInputRequest", "google.protobuf.Empty",
                              True, False),
        "CancelJob": (v1 + "CancelJobRequest", v1 + "CancelJobResponse", False, False),
    }


# (message, field, number) from the doc's tables: the ones the daemon and the stand-in use.
FIELDS = [
    ("RegisterGuestProgramRequest", "zisk_elf", 1),
    ("RegisterGuestProgramResponse", "hash_id", 1),
    ("JobRequestMessage", "job_kind", 1),
    ("JobResponse", "job_id", 1),
    ("JobKind", "setup", 1), ("JobKind", "prove", 2), ("JobKind", "wrap", 3),
    ("JobKind", "execute", 5),
    ("SetupRequest", "hash_id", 1), ("SetupRequest", "with_hints", 2),
    ("SetupRequest", "program_name", 3), ("SetupRequest", "emulator_only", 4),
    ("SetupResponse", "vk", 1), ("SetupResponse", "hash_mode", 2),
    ("ProveRequest", "hash_id", 1), ("ProveRequest", "input", 2),
    ("ProveRequest", "proof_timeout", 3), ("ProveRequest", "proof_dest", 4),
    ("ProveRequest", "hints", 5),
    ("ProveResponse", "proof", 1), ("ProveResponse", "stats", 2),
    ("InputKind", "inline", 1), ("InputKind", "stream_uri", 2), ("InputChunk", "data", 1),
    ("Proof", "proof_id", 1), ("Proof", "hash_id", 2), ("Proof", "verification_key", 3),
    ("Proof", "proof_kind", 4), ("Proof", "data", 5), ("Proof", "public_inputs", 6),
    ("Proof", "started_at", 7), ("Proof", "completed_at", 8),
    ("ExecutionStats", "steps", 1), ("ExecutionStats", "duration_nanos", 2),
    ("ExecutionStats", "cost_per_type", 3), ("ExecutionStats", "executor_time", 4),
    ("ExecutionStats", "plan", 5),
    ("JobKindResponse", "setup", 1), ("JobKindResponse", "prove", 2),
    ("JobKindResponse", "wrap", 3), ("JobKindResponse", "execute", 5),
    ("WaitJobResultRequest", "job_id", 1), ("WaitJobResultRequest", "timeout_seconds", 2),
    ("WaitJobResultResponse", "job_id", 1), ("WaitJobResultResponse", "job_status", 2),
    ("WaitJobResultResponse", "result", 3),
    ("JobStatus", "queued", 1), ("JobStatus", "running", 2),
    ("JobStatus", "waiting_for_input", 3), ("JobStatus", "completed", 4),
    ("JobStatus", "failed", 5), ("JobStatus", "cancelled", 6),
    ("JobStatusRunning", "phase", 1), ("JobStatusFailed", "failure", 1),
    ("JobFailure", "timeout", 1), ("JobFailure", "input", 2), ("JobFailure", "execution", 3),
    ("JobFailure", "internal", 4), ("JobFailure", "cancelled", 5),
    ("JobFailureExecution", "reason", 1), ("JobFailureInternal", "trace_id", 1),
    ("PushJobInputRequest", "job_id", 1), ("PushJobInputRequest", "chunk", 2),
    ("CancelJobRequest", "job_id", 1),
    ("CancelJobResponse", "job_id", 1), ("CancelJobResponse", "cancelled", 2),
]


@pytest.mark.parametrize(("message", "field", "number"), FIELDS)
def test_fields_keep_their_upstream_numbers(message: str, field: str, number: int) -> None:
    assert pb.DESCRIPTOR.message_types_by_name[message].fields_by_name[field].number == number


def test_enums_keep_their_upstream_numbers() -> None:
    assert [(v.name, v.number) for v in pb.ProofKind.DESCRIPTOR.values] == [
        ("PROOF_KIND_UNSPECIFIED", 0), ("PROOF_KIND_STARK", 1),
        ("PROOF_KIND_STARK_MINIMAL", 2), ("PROOF_KIND_PLONK", 3),
    ]
    assert pb.JobPhase.Value("JOB_PHASE_RECURSE") == 3

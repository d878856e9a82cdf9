"""``CoordinatorBackend`` against the stand-in coordinator (a real gRPC server on 127.0.0.1)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.backend import (
    ProofResult,
    ProveRequest,
    ProverFailed,
    ProverUnavailable,
)
from ethproofs_daemon.prover.coordinator.backend import CoordinatorBackend, JobLost
from ethproofs_daemon.prover.coordinator.client import (
    INLINE_LIMIT_BYTES,
    CallTimeouts,
    ChannelSettings,
    CoordinatorClient,
    ProofDest,
)
from ethproofs_daemon.prover.zisk_cli import ZiskVersion
from tests.standins.zisk_coordinator import SilentListener, StandinSettings, ZiskCoordinatorStandin
from tests.standins.zisk_proof_encoders import ethproofs_bytes_v1_d

ELF = b"\x7fELF stand-in guest for the coordinator backend"
FRAMED = struct.pack("<Q", 13) + b"block payload" + bytes(3)
VERSION = ZiskVersion(1, 1, 0, raw="zisk-coordinator 1.1.0-alpha (configured)")
FAST = Backoff(base_s=0.05, factor=1.5, cap_s=0.2)
TIMEOUTS = CallTimeouts(register_s=5, submit_s=5, cancel_s=2, push_s=5, wait_margin_s=2)
CHANNEL = ChannelSettings(initial_reconnect_backoff_ms=100, max_reconnect_backoff_ms=200)
#: Safety bound on every test body (s): a hang fails the test instead of blocking the suite.
BOUND_S = 30


class Rig:
    def __init__(self, tmp_path: Path, standin: ZiskCoordinatorStandin) -> None:
        self.tmp_path = tmp_path
        self.standin = standin
        self.elf = tmp_path / "guest.elf"
        self.elf.write_bytes(ELF)
        self.input = tmp_path / "input.bin"
        self.input.write_bytes(FRAMED)
        self.clients: list[CoordinatorClient] = []

    def backend(self, target: str | None = None, *, timeouts: CallTimeouts = TIMEOUTS,
                inline_limit_bytes: int = INLINE_LIMIT_BYTES,
                **kwargs: Any) -> CoordinatorBackend:
        client = CoordinatorClient(target or self.standin.target, timeouts=timeouts,
                                   channel=CHANNEL, inline_limit_bytes=inline_limit_bytes)
        self.clients.append(client)
        kwargs.setdefault("pacing", FAST)
        kwargs.setdefault("poll_hold_s", 1)
        kwargs.setdefault("cancel_timeout_s", 2.0)
        return CoordinatorBackend(client, self.elf, version=VERSION, **kwargs)

    def request(self, timeout_s: float = 15.0, block: int = 100) -> ProveRequest:
        return ProveRequest(block, self.input, self.tmp_path / "output" / str(block), timeout_s)


@pytest.fixture
def standin() -> Iterator[ZiskCoordinatorStandin]:
    s = ZiskCoordinatorStandin(StandinSettings(setup_s=0.1, prove_s=0.2, recovery_s=0.1))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def rig(tmp_path: Path, standin: ZiskCoordinatorStandin) -> Iterator[Rig]:
    r = Rig(tmp_path, standin)
    yield r
    for client in r.clients:
        client.close()


def the_job_ids(standin: ZiskCoordinatorStandin) -> list[str]:
    return [j.id for j in standin.jobs.values() if j.kind == "prove"]


async def test_registers_and_sets_up_once_for_several_proofs(rig: Rig) -> None:
    backend = rig.backend()
    with trio.fail_after(BOUND_S):
        await backend.prove(rig.request(block=1))
        await backend.prove(rig.request(block=2))
    assert len(rig.standin.calls("RegisterGuestProgram")) == 1
    assert len(rig.standin.setup_requests()) == 1
    assert len(rig.standin.prove_requests()) == 2


async def test_prove_writes_the_ethproofs_bytes_and_the_coordinator_stats(rig: Rig) -> None:
    backend = rig.backend()
    seen: list[str] = []
    with trio.fail_after(BOUND_S):
        result = await backend.prove(rig.request(), on_job_id=seen.append)
    [job_id] = the_job_ids(rig.standin)
    p = rig.standin.proof_parts(job_id)
    assert result.proof_path.read_bytes() == ethproofs_bytes_v1_d(
        p.proof_words, p.zisk_vk, p.kind, p.publics_full)
    assert result.proof_path == rig.request().output_dir / "proof.bin"
    assert seen == [job_id] and result.proof_id == job_id
    assert result.cycles == rig.standin.settings.steps
    assert result.proving_time_ms >= 150  # the stand-in's 0.2 s job, in whole ms
    [req] = rig.standin.prove_requests()
    assert req.proof_dest == ProofDest.STARK_MINIMAL and req.input.inline.data == FRAMED
    assert not req.HasField("proof_timeout")


async def test_hash_tag_appends_the_poseidon1_tag_word(rig: Rig) -> None:
    backend = rig.backend(hash_tag=True)
    with trio.fail_after(BOUND_S):
        result = await backend.prove(rig.request())
    p = rig.standin.proof_parts(the_job_ids(rig.standin)[0])
    assert result.proof_path.read_bytes() == ethproofs_bytes_v1_d(
        p.proof_words, p.zisk_vk, p.kind, p.publics_full, hash_tag=0)


async def test_a_busy_cluster_is_retried_not_failed(rig: Rig) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=0.8, recovery_s=0.1)
    other = rig.backend()
    backend = rig.backend()
    with trio.fail_after(BOUND_S):
        await backend.start()
        async with trio.open_nursery() as nursery:
            started = trio.Event()
            nursery.start_soon(lambda: other.prove(rig.request(block=1),
                                                   on_job_id=lambda _: started.set()))
            await started.wait()
            result = await backend.prove(rig.request(block=2))
    assert isinstance(result, ProofResult)
    assert len(rig.standin.prove_requests()) > 2  # refused submissions were sent again
    assert "Cluster unavailable: no workers connected" in (backend.health().last_error or "")


async def test_a_coordinator_restart_mid_job_sets_up_again_and_resubmits(rig: Rig) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=1.0, recovery_s=0.1)
    backend = rig.backend()
    job_ids: list[str] = []
    first_job = trio.Event()

    def on_job_id(job_id: str) -> None:
        job_ids.append(job_id)
        first_job.set()

    with trio.fail_after(BOUND_S):
        async with trio.open_nursery() as nursery:
            outcome: list[ProofResult] = []

            async def run() -> None:
                outcome.append(await backend.prove(rig.request(), on_job_id=on_job_id))

            nursery.start_soon(run)
            await first_job.wait()
            await trio.to_thread.run_sync(rig.standin.restart)
    assert len(outcome) == 1
    assert len(job_ids) == 2 and outcome[0].proof_id == job_ids[1]
    assert len(rig.standin.setup_requests()) == 2
    assert len(rig.standin.calls("RegisterGuestProgram")) == 1  # the ELF cache survived


async def test_setup_lost_between_jobs_is_run_again_once(rig: Rig) -> None:
    backend = rig.backend()
    with trio.fail_after(BOUND_S):
        await backend.prove(rig.request(block=1))
        await trio.to_thread.run_sync(rig.standin.restart)
        await backend.prove(rig.request(block=2))
    assert len(rig.standin.setup_requests()) == 2
    assert len(rig.standin.prove_requests()) == 3  # refused once with "setup not done"


async def test_past_the_deadline_the_job_is_cancelled_and_fails_proving_timeout(
    rig: Rig,
) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=60.0)
    backend = rig.backend()
    with trio.fail_after(BOUND_S), pytest.raises(ProverFailed) as exc:
        await backend.prove(rig.request(timeout_s=1.5))
    assert exc.value.reason is FailureReason.PROVING_TIMEOUT
    [job_id] = the_job_ids(rig.standin)
    assert [c.job_id for c in rig.standin.calls("CancelJob")] == [job_id]
    assert rig.standin.jobs[job_id].state == "cancelled"


async def test_a_coordinator_that_stops_answering_is_bounded_by_the_deadline(rig: Rig) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=60.0)
    backend = rig.backend(cancel_timeout_s=0.5)
    failures: list[ProverFailed] = []
    with trio.fail_after(BOUND_S):
        async with trio.open_nursery() as nursery:
            submitted = trio.Event()

            async def run() -> None:
                try:
                    await backend.prove(rig.request(timeout_s=2.0),
                                        on_job_id=lambda _: submitted.set())
                except ProverFailed as exc:
                    failures.append(exc)

            nursery.start_soon(run)
            await submitted.wait()
            rig.standin.hang()
    assert [f.reason for f in failures] == [FailureReason.PROVING_TIMEOUT]
    assert len(rig.standin.calls("CancelJob")) == 1  # sent, never answered


async def test_a_server_that_never_speaks_is_bounded_by_the_deadline(rig: Rig) -> None:
    listener = SilentListener()
    listener.start()
    try:
        backend = rig.backend(listener.target, timeouts=CallTimeouts(
            register_s=0.3, submit_s=0.3, cancel_s=0.3, wait_margin_s=0.3))
        with trio.fail_after(BOUND_S), pytest.raises(ProverFailed) as exc:
            await backend.prove(rig.request(timeout_s=1.5))
    finally:
        listener.stop()
    assert exc.value.reason is FailureReason.PROVING_TIMEOUT
    # gRPC gives up the HTTP/2 handshake (UNAVAILABLE "… before receiving SETTINGS frame") or
    # the call's deadline passes (DEADLINE_EXCEEDED): either way, unreachable.
    assert not backend.health().reachable


async def test_reattach_after_a_crash_collects_the_result_without_a_second_prove(
    rig: Rig,
) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=1.0)
    crashed = rig.backend(cancel_on_abandon=False)
    stored: list[str] = []
    with trio.fail_after(BOUND_S):
        with trio.CancelScope() as crash:
            await crashed.prove(rig.request(), on_job_id=lambda j: (stored.append(j),
                                                                    crash.cancel()))
        restarted = rig.backend()
        result = await restarted.attach(stored[0], rig.request())
    assert isinstance(result, ProofResult) and result.proof_id == stored[0]
    assert len(rig.standin.prove_requests()) == 1
    assert rig.standin.calls("CancelJob") == []
    p = rig.standin.proof_parts(stored[0])
    assert result.proof_path.read_bytes() == ethproofs_bytes_v1_d(
        p.proof_words, p.zisk_vk, p.kind, p.publics_full)


async def test_reattach_to_a_job_the_coordinator_lost_asks_for_a_resubmission(
    rig: Rig,
) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=5.0)
    crashed = rig.backend(cancel_on_abandon=False)
    stored: list[str] = []
    with trio.fail_after(BOUND_S):
        with trio.CancelScope() as crash:
            await crashed.prove(rig.request(), on_job_id=lambda j: (stored.append(j),
                                                                    crash.cancel()))
        await trio.to_thread.run_sync(rig.standin.restart)
        result = await rig.backend().attach(stored[0], rig.request())
    assert result == JobLost(stored[0])
    assert len(rig.standin.prove_requests()) == 1


async def test_an_abandoned_prove_cancels_its_job(rig: Rig) -> None:
    rig.standin.settings = StandinSettings(setup_s=0.1, prove_s=5.0)
    backend = rig.backend()
    with trio.fail_after(BOUND_S):
        with trio.CancelScope() as scope:
            await backend.prove(rig.request(), on_job_id=lambda _: scope.cancel())
    [job_id] = the_job_ids(rig.standin)
    assert [c.job_id for c in rig.standin.calls("CancelJob")] == [job_id]


@pytest.mark.parametrize(
    ("reason_text", "reason"),
    [
        ("Worker 7f3a disconnected", FailureReason.PROVING_ERROR),
        ("[Monitor] Phase Prove timed out for job x (601s > 600s)", FailureReason.PROVING_TIMEOUT),
    ],
)
async def test_a_failed_job_is_a_failure_with_its_reason(
    rig: Rig, reason_text: str, reason: FailureReason
) -> None:
    backend = rig.backend()
    rig.standin.fail_next(reason_text)
    with trio.fail_after(BOUND_S), pytest.raises(ProverFailed) as exc:
        await backend.prove(rig.request())
    assert exc.value.reason is reason and reason_text in exc.value.message
    assert len(rig.standin.prove_requests()) == 1  # a failure is not retried here


async def test_unframed_input_is_refused_before_anything_is_sent(rig: Rig) -> None:
    rig.input.write_bytes(b"not framed")
    with trio.fail_after(BOUND_S), pytest.raises(ProverFailed) as exc:
        await rig.backend().prove(rig.request())
    assert exc.value.reason is FailureReason.INPUT_ERROR
    assert rig.standin.requests == []


async def test_input_over_the_inline_limit_is_pushed(rig: Rig) -> None:
    big = struct.pack("<Q", 60) + bytes(range(60)) + bytes(4)
    rig.input.write_bytes(big)
    backend = rig.backend(inline_limit_bytes=32)
    backend.client.push_chunk_bytes = 16
    with trio.fail_after(BOUND_S):
        result = await backend.prove(rig.request())
    [req] = rig.standin.prove_requests()
    assert req.input.stream_uri == "grpc://push"
    assert rig.standin.jobs[result.proof_id].input == big


async def test_start_reports_an_unreachable_coordinator_and_health_shows_it(rig: Rig) -> None:
    rig.standin.stop()
    backend = rig.backend(setup_timeout_s=1.0)
    with trio.fail_after(BOUND_S), pytest.raises(ProverUnavailable):
        await backend.start()
    health = backend.health()
    assert not health.reachable and not health.setup_done
    assert health.last_error is not None and "UNAVAILABLE" in health.last_error


async def test_health_after_a_proof_shows_the_program_and_its_setup(rig: Rig) -> None:
    backend = rig.backend()
    with trio.fail_after(BOUND_S):
        await backend.prove(rig.request())
    health = backend.health()
    assert health.reachable and health.setup_done and health.hash_id is not None

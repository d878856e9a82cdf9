"""The prover actor as a dispatcher of N slots over the ZisK coordinator backend, against the
stand-in coordinator (a real gRPC server on 127.0.0.1) and a real SQLite store: proofs side by
side on a partitioned cluster, one at a time (without failures) on an unpartitioned one,
re-attachment to running coordinator jobs after the daemon went away, a coordinator restart,
and a job past its deadline."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.jobs import FailureReason, Job, JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.prover.actor import PROGRAM_META_KEY, ProverActor, ProverConfig
from ethproofs_daemon.prover.coordinator.backend import CoordinatorBackend
from ethproofs_daemon.prover.coordinator.client import (
    CallTimeouts,
    ChannelSettings,
    CoordinatorClient,
)
from ethproofs_daemon.prover.zisk_cli import ZiskVersion
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.store import Store
from tests.helpers import wait_until
from tests.standins.zisk_coordinator import StandinSettings, ZiskCoordinatorStandin

ELF = b"\x7fELF stand-in guest for the coordinator dispatcher"
VERSION = ZiskVersion(1, 1, 0, raw="zisk-coordinator 1.1.0-alpha (configured)",
                      prerelease="alpha")
FAST = Backoff(base_s=0.05, factor=1.5, cap_s=0.2)
TIMEOUTS = CallTimeouts(register_s=5, submit_s=5, cancel_s=2, push_s=5, wait_margin_s=2)
CHANNEL = ChannelSettings(initial_reconnect_backoff_ms=100, max_reconnect_backoff_ms=200)
#: Safety bound on every wait (s): a hang fails the test instead of blocking the suite.
BOUND_S = 60


def _framed(block: int) -> bytes:
    payload = f"block {block}".encode()
    return struct.pack("<Q", len(payload)) + payload + bytes(-len(payload) % 8)


@dataclass
class Rig:
    tmp_path: Path
    standin: ZiskCoordinatorStandin
    stores: list[Store] = field(default_factory=list)
    clients: list[CoordinatorClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.elf = self.tmp_path / "guest.elf"
        self.elf.write_bytes(ELF)
        self.store = self.open_store()

    def open_store(self) -> Store:
        store = Store(self.tmp_path / "db.sqlite")
        self.stores.append(store)
        self.store = store
        return store

    def lifecycle(self) -> Lifecycle:
        import time
        return Lifecycle(self.store, reporting=ReportPolicy(1),
                         retry=RetryPolicy(base_s=30.0, jitter=0.0), clock=time.time)

    def actor(self, slots: int, *, timeout_s: float = 30.0, grace_s: float = 0.05
              ) -> ProverActor:
        import time
        client = CoordinatorClient(self.standin.target, timeouts=TIMEOUTS, channel=CHANNEL)
        self.clients.append(client)
        backend = CoordinatorBackend(client, self.elf, version=VERSION, pacing=FAST,
                                     poll_hold_s=1, cancel_timeout_s=2.0,
                                     cancel_on_abandon=False)
        return ProverActor(
            store=self.store, lifecycle=self.lifecycle(), backend=backend,
            notifier=NullNotifier(), clock=time.time,
            config=ProverConfig(output_dir=self.tmp_path / "output", timeout_s=timeout_s,
                                grace_s=grace_s, slots=slots),
        )

    def queue(self, block: int) -> Job:
        lifecycle = self.lifecycle()
        job, _ = lifecycle.detected(block, "ethrex-zisk")
        path = self.tmp_path / f"{block}.bin"
        path.write_bytes(_framed(block))
        return lifecycle.input_ready(lifecycle.start_fetching(job), input_path=str(path),
                                     gas_used=0, tx_count=0)

    def jobs(self) -> list[Job]:
        return self.store.jobs_in(list(JobState), limit=1000)

    def reports(self, block: int) -> list[ReportKind]:
        return [r.kind for r in self.store.reports_for_block(block)]


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[[StandinSettings], Rig]]:
    standins: list[ZiskCoordinatorStandin] = []
    rigs: list[Rig] = []

    def make(settings: StandinSettings) -> Rig:
        standin = ZiskCoordinatorStandin(settings)
        standin.start()
        standins.append(standin)
        rig = Rig(tmp_path, standin)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        for client in rig.clients:
            client.close()
        for store in rig.stores:
            store.close()
    for standin in standins:
        standin.stop()


async def _run_until_all(rig: Rig, actor: ProverActor, state: JobState,
                         on_tick: Callable[[], None] | None = None) -> None:
    """Run ``actor`` until every job is in ``state`` (bounded), sampling ``on_tick`` every
    20 ms meanwhile; then stop it."""
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)

        def done() -> bool:
            if on_tick is not None:
                on_tick()
            return all(j.state is state for j in rig.jobs())

        await wait_until(done, BOUND_S, poll_s=0.02)
        nursery.cancel_scope.cancel()


async def test_a_cluster_partitioned_for_four_runs_four_proofs_at_once(
    make_rig: Callable[[StandinSettings], Rig]
) -> None:
    rig = make_rig(StandinSettings(partitions=4, setup_s=0.1, prove_s=0.6, recovery_s=0.05))
    for block in range(100, 108):
        rig.queue(block)
    actor = rig.actor(slots=4)
    peak = {"coordinator": 0, "status": 0}

    def sample() -> None:
        peak["coordinator"] = max(peak["coordinator"], len(rig.standin.running_jobs()))
        peak["status"] = max(peak["status"], len(actor.status.in_flight))

    await _run_until_all(rig, actor, JobState.PROVED, sample)
    assert peak == {"coordinator": 4, "status": 4}
    assert len(rig.standin.prove_requests()) == 8  # every block proved once
    assert len(rig.standin.calls("RegisterGuestProgram")) == 1
    assert len(rig.standin.setup_requests()) == 1
    for block in range(100, 108):
        assert rig.reports(block) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert rig.store.get_meta(PROGRAM_META_KEY) == next(iter(rig.standin.elfs))


async def test_an_unpartitioned_cluster_proves_one_at_a_time_without_failures(
    make_rig: Callable[[StandinSettings], Rig]
) -> None:
    rig = make_rig(StandinSettings(partitions=1, setup_s=0.1, prove_s=0.3, recovery_s=0.05))
    for block in range(100, 105):
        rig.queue(block)
    actor = rig.actor(slots=4)
    peak = {"coordinator": 0}

    def sample() -> None:
        peak["coordinator"] = max(peak["coordinator"], len(rig.standin.running_jobs()))

    await _run_until_all(rig, actor, JobState.PROVED, sample)
    assert peak["coordinator"] == 1
    # refused submissions (busy) were paced and sent again, never counted as failures
    assert [j.attempts for j in rig.jobs()] == [0] * 5
    assert actor.status.failed_count == 0
    assert len(rig.standin.calls("JobRequest")) > 5 + 1  # busy refusals happened
    assert len({j.proof_id for j in rig.jobs()}) == 5


async def test_jobs_running_on_the_coordinator_are_collected_after_the_daemon_went_away(
    make_rig: Callable[[StandinSettings], Rig]
) -> None:
    rig = make_rig(StandinSettings(partitions=3, setup_s=0.1, prove_s=2.5, recovery_s=0.05))
    for block in (100, 101, 102):
        rig.queue(block)
    first = rig.actor(slots=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(first.run)
        await wait_until(lambda: all(j.prover_job_id for j in rig.jobs()), BOUND_S)
        assert len(rig.standin.running_jobs()) == 3
        nursery.cancel_scope.cancel()  # the daemon goes away (grace 0.05 s) mid-proof
    left = {j.block_number: j.prover_job_id for j in rig.jobs()}
    assert all(j.state is JobState.PROVING for j in rig.jobs())
    assert rig.standin.calls("CancelJob") == []  # left running on the coordinator
    rig.stores[0].close()

    rig.open_store()  # a new daemon on the same database file
    second = rig.actor(slots=3)
    await _run_until_all(rig, second, JobState.PROVED)
    assert len(rig.standin.prove_requests()) == 3  # no second prove request
    for job in rig.jobs():
        assert job.proof_id == left[job.block_number]  # the coordinator job collected
        assert job.prover_job_id is None and job.attempts == 0
        assert rig.reports(job.block_number) == [
            ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]


async def test_a_coordinator_restart_sets_up_again_and_resubmits_the_lost_jobs(
    make_rig: Callable[[StandinSettings], Rig]
) -> None:
    rig = make_rig(StandinSettings(partitions=2, setup_s=0.1, prove_s=1.5, recovery_s=0.05))
    for block in (100, 101):
        rig.queue(block)
    actor = rig.actor(slots=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        await wait_until(lambda: all(j.prover_job_id for j in rig.jobs()), BOUND_S)
        lost = {j.prover_job_id for j in rig.jobs()}
        await trio.to_thread.run_sync(rig.standin.restart)
        await wait_until(lambda: all(j.state is JobState.PROVED for j in rig.jobs()), BOUND_S,
                         poll_s=0.02)
        nursery.cancel_scope.cancel()
    assert len(rig.standin.setup_requests()) == 2
    assert len(rig.standin.prove_requests()) >= 4  # both resubmitted (refusals count too)
    for block in (100, 101):
        assert rig.reports(block) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert not lost & {j.proof_id for j in rig.jobs()}
    assert [j.attempts for j in rig.jobs()] == [0, 0]


async def test_a_job_past_its_deadline_is_cancelled_and_fails_proving_timeout(
    make_rig: Callable[[StandinSettings], Rig]
) -> None:
    rig = make_rig(StandinSettings(partitions=1, setup_s=0.1, prove_s=30.0, recovery_s=0.05))
    job = rig.queue(100)
    actor = rig.actor(slots=1, timeout_s=1.5)
    await _run_until_all(rig, actor, JobState.FAILED)
    failed = rig.store.get_job(job.id)
    assert failed is not None
    assert failed.failure_reason is FailureReason.PROVING_TIMEOUT
    assert failed.attempts == 1 and failed.next_attempt_at is not None  # retried in budget
    assert failed.prover_job_id is None
    cancels = rig.standin.calls("CancelJob")
    assert len(cancels) == 1 and len(rig.standin.prove_requests()) == 1
    assert cancels[0].job_id not in rig.standin.running_jobs()  # the GPU time is given back


async def test_a_proof_node_request_takes_the_next_free_slot_before_queued_blocks(
    make_rig: Callable[[StandinSettings], Rig], tmp_path: Path
) -> None:
    from ethproofs_daemon.prover.backend import ProveRequest

    rig = make_rig(StandinSettings(partitions=2, setup_s=0.1, prove_s=0.5, recovery_s=0.05))
    for block in range(100, 106):
        rig.queue(block)
    actor = rig.actor(slots=2)
    external = tmp_path / "proof-node-input.bin"
    payload = b"proof node request"
    external.write_bytes(struct.pack("<Q", len(payload)) + payload + bytes(-len(payload) % 8))
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        await wait_until(lambda: len(rig.standin.prove_requests()) >= 2, BOUND_S, poll_s=0.02)
        result: list[object] = []

        async def submit() -> None:
            result.append(await actor.submit(
                ProveRequest(0, external, tmp_path / "pn-out", 30.0), priority=5))

        nursery.start_soon(submit)
        await wait_until(lambda: bool(result) and all(j.state is JobState.PROVED
                                                      for j in rig.jobs()), BOUND_S)
        nursery.cancel_scope.cancel()
    inputs = [r.input.inline.data for r in rig.standin.prove_requests()]
    # two EthProofs blocks were running; the request took the first slot that freed
    assert external.read_bytes() in inputs[2:4], [i[8:30] for i in inputs]
    assert len(inputs) == 7

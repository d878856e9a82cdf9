"""The prover actor with a stand-in backend (no process) under trio's MockClock: which work goes
first, the shutdown grace period, the failure path, the reorg checks before proving and before
recording (a stand-in chain); and resume of a job a dead daemon left ``proving`` (a real orphan
process group, real time)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock, wait_all_tasks_blocked

from ethproofs_daemon.jobs import FailureReason, Job, JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.prover.actor import CHECK_BUDGET_S, ProverActor, ProverConfig
from ethproofs_daemon.prover.backend import ProofResult, ProveRequest, ProverFailed
from ethproofs_daemon.reorgs import CanonicalHash, CanonicalHashUnavailable
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.store import Store
from tests.helpers import ETHREX_014_PROFILE, wait_until
from tests.standins.prover_backend import PROOF_BYTES, StandinBackend
from tests.standins.zisk import end_pids

UNIX_NOW = 1_700_000_000.0


@dataclass
class Rig:
    tmp_path: Path
    store: Store
    lifecycle: Lifecycle
    backend: StandinBackend
    actor: ProverActor

    def queue(self, block: int, priority: int = 0, block_hash: str | None = None) -> Job:
        """A ``queued`` job with an input file, as the input generator leaves it."""
        job, _ = self.lifecycle.detected(block, "ethrex-zisk", priority=priority)
        path = self.tmp_path / f"{block}.bin"
        path.write_bytes(b"input")
        return self.lifecycle.input_ready(self.lifecycle.start_fetching(job),
                                          input_path=str(path), gas_used=0, tx_count=0,
                                          block_hash=block_hash)

    def job(self, job_id: int) -> Job:
        found = self.store.get_job(job_id)
        assert found is not None
        return found

    async def run_until(self, job: Job, state: JobState) -> None:
        """Run the actor until ``job`` is in ``state`` (bounded), then stop it."""
        with trio.fail_after(600):
            async with trio.open_nursery() as nursery:
                await nursery.start(self.actor.run)
                await wait_until(lambda: self.job(job.id).state is state, 600, poll_s=1.0)
                nursery.cancel_scope.cancel()

    def reports(self, block: int) -> list[ReportKind]:
        return [r.kind for r in self.store.reports_for_block(block)]


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    stores: list[Store] = []

    def make(*, grace_s: float = 30.0, prove_s: float = 10.0, execute: bool = False,
             clock: Callable[[], float] = lambda: UNIX_NOW,
             canonical_hash: CanonicalHash | None = None) -> Rig:
        store = Store(tmp_path / "db.sqlite", clock=clock)
        stores.append(store)
        lifecycle = Lifecycle(store, reporting=ReportPolicy.choose(1, execute=execute),
                              retry=RetryPolicy(jitter=0.0), clock=clock)
        backend = StandinBackend(prove_s=prove_s)
        actor = ProverActor(
            store=store, lifecycle=lifecycle, backend=backend, notifier=NullNotifier(),
            clock=clock, canonical_hash=canonical_hash,
            config=ProverConfig(output_dir=tmp_path / "output", timeout_s=3600.0,
                                guest_profile=ETHREX_014_PROFILE,
                                grace_s=grace_s, execute=execute),
        )
        return Rig(tmp_path, store, lifecycle, backend, actor)

    yield make
    for store in stores:
        store.close()


async def test_higher_priority_external_work_goes_first_and_ties_go_to_ethproofs_jobs(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig()
    rig.queue(50)
    results: dict[int, ProofResult] = {}

    async def submit(block: int, priority: int) -> None:
        request = ProveRequest(block, rig.tmp_path / "50.bin", rig.tmp_path / f"ext-{block}",
                               60.0)
        results[block] = await rig.actor.submit(request, priority=priority)

    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_all_tasks_blocked()
            assert rig.actor.status.current_block == 50  # the GPU is busy
            rig.queue(100)
            nursery.start_soon(submit, 1, 0)  # same priority as the EthProofs job
            nursery.start_soon(submit, 2, 5)  # higher than the EthProofs job
            await wait_all_tasks_blocked()
            assert rig.actor.external_queue_length == 2
            await wait_until(lambda: len(rig.backend.finished) == 4, 600, poll_s=1.0)
            nursery.cancel_scope.cancel()
    assert [block for _, block in rig.backend.calls] == [50, 2, 100, 1]
    assert sorted(results) == [1, 2]
    assert rig.actor.external_queue_length == 0


async def test_shutdown_lets_the_running_proof_finish_within_the_grace_period(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig(grace_s=30.0, prove_s=10.0)
    job = rig.queue(100)
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_all_tasks_blocked()
            stopped_at = trio.current_time()
            nursery.cancel_scope.cancel()
    assert trio.current_time() - stopped_at == pytest.approx(10.0)
    assert rig.job(job.id).state is JobState.PROVED
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert (rig.tmp_path / "output" / "100" / "100.json").exists()
    assert rig.actor.status.current_block is None


async def test_a_proof_is_recorded_and_reported_when_its_payload_copy_cannot_be_written(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig()
    job = rig.queue(100)
    (rig.tmp_path / "output" / "100" / "100.json").mkdir(parents=True)  # writing it: OSError
    await rig.run_until(job, JobState.PROVED)
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert rig.backend.calls == [("prove", 100)]


async def test_a_proof_outlasting_the_grace_period_is_left_to_resume_at_the_next_start(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig(grace_s=5.0, prove_s=100.0)
    job = rig.queue(100)
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_all_tasks_blocked()
            stopped_at = trio.current_time()
            nursery.cancel_scope.cancel()
    assert trio.current_time() - stopped_at == pytest.approx(5.0)
    left = rig.job(job.id)
    assert left.state is JobState.QUEUED and left.attempts == 0
    assert (left.pid, left.proving_started_at, left.failure_reason) == (None, None, None)
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING]
    assert rig.backend.finished == []


async def test_a_failed_run_is_recorded_with_its_stderr_tail_and_retry_time(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig()
    rig.backend.fail_with = ProverFailed(FailureReason.PROVING_ERROR, "exit 1", exit_code=1,
                                         stderr_tail="out of memory")
    job = rig.queue(100)
    await rig.run_until(job, JobState.FAILED)
    failed = rig.job(job.id)
    assert (failed.failure_reason, failed.attempts) == (FailureReason.PROVING_ERROR, 1)
    assert failed.error == "exit 1\n--- stderr tail ---\nout of memory"
    assert failed.next_attempt_at == UNIX_NOW + 30.0
    assert rig.actor.status.failed_count == 1
    assert rig.actor.status.last_failure == "block 100: proving_error: exit 1"


async def test_execute_mode_ends_executed_with_cycles_and_reports_nothing(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    """Issue 11: an executed-only job ends ``executed``, never ``proved`` (no proof was made),
    and is not counted as proved."""
    rig = make_rig(execute=True)
    job = rig.queue(100)
    await rig.run_until(job, JobState.EXECUTED)
    assert rig.backend.calls == [("execute", 100)]
    assert (rig.job(job.id).cycles, rig.job(job.id).proving_time_ms) == (1234, 10_000)
    assert rig.job(job.id).proof_path is None
    assert rig.reports(100) == []
    assert rig.actor.status.proved_count == 0


@pytest.fixture
def orphan() -> Iterator[subprocess.Popen[bytes]]:
    """A process group standing for the ``cargo-zisk`` of a daemon that died (its own session)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                            start_new_session=True)
    yield proc
    end_pids([proc.pid])
    proc.wait(timeout=10)


async def test_a_job_left_proving_is_proved_again_after_its_orphan_group_is_killed(
    make_rig: Callable[..., Rig], orphan: subprocess.Popen[bytes]
) -> None:
    rig = make_rig(prove_s=0.01, clock=time.time)
    job = rig.lifecycle.begin_proving(rig.queue(100))
    rig.lifecycle.record_pid(job, orphan.pid)  # then the daemon died
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_until(lambda: rig.backend.finished == [100], 30)
            nursery.cancel_scope.cancel()
    assert orphan.wait(timeout=10) == -signal.SIGTERM
    done = rig.job(job.id)
    assert done.state is JobState.PROVED and done.attempts == 0 and done.pid is None
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVING,
                                ReportKind.PROVED]
    assert (rig.tmp_path / "output" / "100" / "proof.bin").read_bytes() == PROOF_BYTES


# -- reorgs: the block is checked before proving and before recording -------------------------

OLD = "0x" + "aa" * 32
NEW = "0x" + "bb" * 32


@dataclass
class StandinChain:
    """What the node says is canonical: ``hashes`` by height; ``down`` makes it fail to answer.
    ``calls`` counts the questions."""

    hashes: dict[int, str]
    down: bool = False
    calls: int = 0

    async def __call__(self, block_number: int) -> str | None:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        if self.down:
            raise CanonicalHashUnavailable("connection refused")
        return self.hashes.get(block_number)


async def _run_until(rig: Rig, done: Callable[[], bool]) -> None:
    with trio.fail_after(100_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_until(done, 100_000, poll_s=1.0)
            nursery.cancel_scope.cancel()


async def test_a_block_still_canonical_is_proved_and_reported(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    chain = StandinChain({100: OLD.upper().replace("0X", "0x")})  # hex case does not matter
    rig = make_rig(canonical_hash=chain)
    job = rig.queue(100, block_hash=OLD)
    await _run_until(rig, lambda: rig.job(job.id).state is JobState.PROVED)
    assert chain.calls == 2  # before proving, before recording
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert rig.actor.status.reorg_count == 0


async def test_a_block_reorged_before_proving_goes_back_to_be_rebuilt_unproved(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    rig = make_rig(canonical_hash=StandinChain({100: NEW}))
    job = rig.queue(100, block_hash=OLD)
    await _run_until(rig, lambda: rig.job(job.id).state is JobState.DETECTED)
    back = rig.job(job.id)
    assert (back.input_path, back.block_hash, back.attempts) == (None, None, 0)
    assert not (rig.tmp_path / "100.bin").exists()
    assert rig.backend.calls == []
    assert rig.reports(100) == [ReportKind.QUEUED]
    assert rig.actor.status.reorg_count == 1
    assert rig.actor.status.last_reorg == f"block 100: {OLD} replaced by {NEW} (before_proving)"


async def test_a_block_reorged_while_proving_is_never_recorded_proved(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    chain = StandinChain({100: OLD})
    rig = make_rig(canonical_hash=chain)
    job = rig.queue(100, block_hash=OLD)
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_all_tasks_blocked()
            assert rig.actor.status.current_block == 100  # proving the old block
            chain.hashes[100] = NEW
            await wait_until(lambda: rig.job(job.id).state is JobState.DETECTED, 600, poll_s=1.0)
            nursery.cancel_scope.cancel()
    assert rig.backend.finished == [100]
    back = rig.job(job.id)
    assert (back.input_path, back.block_hash, back.pid, back.proof_path) == (
        None, None, None, None)
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING]
    assert rig.actor.status.reorg_count == 1


async def test_a_node_that_cannot_answer_before_proving_leaves_the_job_queued(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    chain = StandinChain({100: OLD}, down=True)
    rig = make_rig(canonical_hash=chain)
    job = rig.queue(100, block_hash=OLD)
    with trio.fail_after(100_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            started = trio.current_time()
            await wait_until(lambda: trio.current_time() - started > 2 * CHECK_BUDGET_S,
                             100_000, poll_s=1.0)
            assert rig.job(job.id).state is JobState.QUEUED  # untouched: no proving, no attempt
            assert rig.backend.calls == [] and rig.reports(100) == [ReportKind.QUEUED]
            chain.down = False
            await wait_until(lambda: rig.job(job.id).state is JobState.PROVED, 100_000,
                             poll_s=1.0)
            nursery.cancel_scope.cancel()
    assert rig.job(job.id).attempts == 0
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]


async def test_a_node_that_cannot_answer_after_proving_keeps_the_proof_until_it_can(
    make_rig: Callable[..., Rig], autojump_clock: MockClock
) -> None:
    chain = StandinChain({100: OLD})
    rig = make_rig(canonical_hash=chain)
    job = rig.queue(100, block_hash=OLD)
    with trio.fail_after(100_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.actor.run)
            await wait_all_tasks_blocked()
            chain.down = True  # while proving
            started = trio.current_time()
            await wait_until(lambda: trio.current_time() - started > 3 * CHECK_BUDGET_S,
                             100_000, poll_s=1.0)
            assert rig.job(job.id).state is JobState.PROVING  # nothing recorded blindly
            assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING]
            chain.down = False
            await wait_until(lambda: rig.job(job.id).state is JobState.PROVED, 100_000,
                             poll_s=1.0)
            nursery.cancel_scope.cancel()
    assert rig.backend.calls == [("prove", 100)]  # proved once
    assert rig.reports(100) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]

"""The input generator's bookkeeping with a real SQLite store (no node needed for these)."""

from __future__ import annotations

from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason, JobChanges, JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.follower import (
    InputGenerator,
    MissingBlock,
    missing_block_verdict,
    retry_state,
)
from ethproofs_daemon.node.preparation import BlockNotServed, InputSource, PreparedInput
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.store import Store


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class NoSource:
    missing_block_timeout_s = 60.0

    async def prepare(self, block_number: int) -> PreparedInput:
        raise AssertionError("not used")


class PrunedNode:
    """Serves every block but the ``missing`` ones (``BlockNotServed``); raises ``crash`` (an
    unexpected exception) for the ``crashing`` ones; sleeps for ever on ``hanging`` ones."""

    missing_block_timeout_s = 60.0

    def __init__(self, missing: set[int] = frozenset(),  # type: ignore[assignment]
                 crashing: set[int] = frozenset(),  # type: ignore[assignment]
                 hanging: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.missing, self.crashing, self.hanging = missing, crashing, hanging

    async def prepare(self, block_number: int) -> PreparedInput:
        if block_number in self.missing:
            raise BlockNotServed(block_number)
        if block_number in self.crashing:
            raise KeyError("a bug in a parser")
        if block_number in self.hanging:
            await trio.sleep_forever()
        return PreparedInput(b"input", "0x" + "00" * 32, 21000, 1)


def _generator(tmp_path: Path, clock: Clock, reporting: ReportPolicy | None = None,
               source: InputSource | None = None) -> tuple[InputGenerator, Store]:
    store = Store(tmp_path / "db.sqlite", clock=clock)
    lifecycle = Lifecycle(store, reporting=reporting, retry=RetryPolicy(), clock=clock)
    config = FollowerConfig(proof_type="ethrex-zisk", block_interval=100, lookback_blocks=1000,
                            poll_interval_s=1, start_block=None, inputs_dir=tmp_path / "inputs",
                            input_retention_s=3600)
    gen = InputGenerator(store=store, lifecycle=lifecycle,
                         rpc=JsonRpcClient(RpcEndpoint("http://127.0.0.1:9/")),
                         source=source or NoSource(), config=config, notifier=NullNotifier(),
                         clock=clock)
    return gen, store


def _proved_job(gen: InputGenerator, block: int, input_path: Path) -> int:
    life = gen.lifecycle
    job, _ = life.detected(block, "ethrex-zisk")
    job = life.input_ready(life.start_fetching(job), input_path=str(input_path), gas_used=0,
                           tx_count=0)
    life.executed(life.begin_proving(job), cycles=None, time_ms=1)
    return job.id


def test_inputs_of_finished_jobs_are_removed_after_retention(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock)
    old, fresh = tmp_path / "old.bin", tmp_path / "fresh.bin"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old_id = _proved_job(gen, 100, old)
    clock.now += 7200
    fresh_id = _proved_job(gen, 200, fresh)
    assert gen.remove_expired_inputs() == 1
    assert not old.exists() and fresh.exists()
    assert store.get_job(old_id).input_path is None  # type: ignore[union-attr]
    assert store.get_job(fresh_id).input_path == str(fresh)  # type: ignore[union-attr]
    store.close()


def test_cursor_starts_at_first_target_after_head_and_persists(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock)
    assert gen.head.enqueue_targets(1234) == []
    assert gen.head.enqueue_targets(1301) == [1300]
    assert store.get_meta("follower.next_target") == "1400"
    store.close()


def test_failed_job_with_input_on_disk_retries_from_the_queue(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock)
    path = tmp_path / "in.bin"
    path.write_bytes(b"x")
    life = gen.lifecycle
    job, _ = life.detected(100, "ethrex-zisk")
    job = life.input_ready(life.start_fetching(job), input_path=str(path), gas_used=0,
                           tx_count=0)
    failed = life.failed(job, FailureReason.PROVING_ERROR, "boom")
    assert retry_state(failed) is JobState.QUEUED
    path.unlink()
    assert retry_state(failed) is JobState.DETECTED
    store.close()


def test_half_prepared_jobs_of_a_dead_daemon_are_resumed(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "db.sqlite", clock=clock)
    life = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=clock)
    fetching, _ = life.detected(100, "ethrex-zisk")
    life.start_fetching(fetching)
    ready, _ = life.detected(200, "ethrex-zisk")
    life.start_fetching(ready)
    store.transition(ready.id, JobState.INPUT_READY,  # a crash between input_ready and queued
                     changes=JobChanges(input_path=str(tmp_path / "200.bin")))
    store.close()

    # a new daemon on the same database
    gen, store = _generator(tmp_path, clock, reporting=ReportPolicy(cluster_id=1))
    gen.resume_interrupted()
    assert store.get_job(fetching.id).state is JobState.DETECTED  # type: ignore[union-attr]
    assert store.get_job(ready.id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert [r.kind for r in store.reports_for_block(200)] == [ReportKind.QUEUED]
    store.close()


def _state(store: Store, job_id: int) -> tuple[JobState, FailureReason | None]:
    job = store.get_job(job_id)
    assert job is not None
    return job.state, job.failure_reason


async def test_a_block_the_node_lacks_does_not_hold_back_later_jobs(tmp_path: Path) -> None:
    clock = Clock()
    source = PrunedNode(missing={7})
    gen, store = _generator(tmp_path, clock, source=source)
    gen.config.inputs_dir.mkdir()
    seven, _ = gen.lifecycle.detected(7, "ethrex-zisk")
    later, _ = gen.lifecycle.detected(45, "ethrex-zisk")
    job = gen._next_detected()  # the head is not known yet: 7 is asked for, and is missing
    assert job is not None and job.id == seven.id
    await gen.prepare_job(job)
    job = gen._next_detected()
    assert job is not None and job.id == later.id, "7 is passed over, 45 goes ahead"
    await gen.prepare_job(job)
    assert _state(store, later.id) == (JobState.QUEUED, None)
    assert _state(store, seven.id) == (JobState.DETECTED, None)
    assert gen._next_detected() is None
    store.close()


async def test_a_block_above_the_head_waits_without_asking_the_node(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock, source=PrunedNode(missing={7}))
    seven, _ = gen.lifecycle.detected(7, "ethrex-zisk")
    gen.status.head = 5
    for _ in range(3):
        assert gen._next_detected() is None
        clock.now += 10
    assert _state(store, seven.id) == (JobState.DETECTED, None)
    gen.status.head = 7
    job = gen._next_detected()
    assert job is not None and job.id == seven.id
    store.close()


async def test_a_block_below_the_head_the_node_lacks_fails_block_unavailable(
    tmp_path: Path,
) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock, source=PrunedNode(missing={7}))
    seven, _ = gen.lifecycle.detected(7, "ethrex-zisk")
    gen.status.head = 100
    for step in (0.0, 30.0, 31.0):  # missing since the first try; 61 s later it fails
        clock.now += step
        job = gen._next_detected()
        assert job is not None and job.id == seven.id
        await gen.prepare_job(job)
    failed = store.get_job(seven.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.failure_reason is FailureReason.BLOCK_UNAVAILABLE
    assert failed.attempts == 1 and failed.next_attempt_at is not None
    assert "does not serve block 7" in (failed.error or "")
    store.close()


def test_missing_block_verdict() -> None:
    assert missing_block_verdict(7, None, None, 100.0, 10.0) is MissingBlock.WAIT
    assert missing_block_verdict(7, 6, 0.0, 100.0, 10.0) is MissingBlock.WAIT  # above the head
    assert missing_block_verdict(7, 7, 95.0, 100.0, 10.0) is MissingBlock.WAIT
    assert missing_block_verdict(7, 7, 90.0, 100.0, 10.0) is MissingBlock.FAIL


async def test_an_unexpected_exception_fails_the_job_not_the_actor(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock, source=PrunedNode(crashing={10}))
    job, _ = gen.lifecycle.detected(10, "ethrex-zisk")
    await gen.prepare_job(job)
    failed = store.get_job(job.id)
    assert failed is not None and failed.failure_reason is FailureReason.INTERNAL_ERROR
    assert failed.error == "KeyError: 'a bug in a parser'"
    assert failed.next_attempt_at is not None, "retried within its budget"
    store.close()


async def test_cancellation_still_propagates_from_a_preparing_job(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock, source=PrunedNode(hanging={10}))
    job, _ = gen.lifecycle.detected(10, "ethrex-zisk")
    with trio.move_on_after(0.05) as scope:
        await gen.prepare_job(job)
    assert scope.cancelled_caught
    assert _state(store, job.id) == (JobState.FETCHING, None), "not failed by a cancellation"
    store.close()

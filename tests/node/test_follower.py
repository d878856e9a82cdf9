"""The input generator's bookkeeping with a real SQLite store (no node needed for these)."""

from __future__ import annotations

from pathlib import Path

from ethproofs_daemon.jobs import FailureReason, JobState, RetryPolicy
from ethproofs_daemon.node.follower import (
    FollowerConfig,
    InputGenerator,
    PreparedInput,
    retry_state,
)
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.reporting.outbox import ReportKind
from ethproofs_daemon.store import Store


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class NoSource:
    async def prepare(self, block_number: int) -> PreparedInput:
        raise AssertionError("not used")


def _generator(tmp_path: Path, clock: Clock) -> tuple[InputGenerator, Store]:
    store = Store(tmp_path / "db.sqlite", clock=clock)
    config = FollowerConfig(proof_type="ethrex-zisk", block_interval=100, lookback_blocks=1000,
                            poll_interval_s=1, start_block=None, inputs_dir=tmp_path / "inputs",
                            input_retention_s=3600)
    gen = InputGenerator(store=store, rpc=JsonRpcClient(RpcEndpoint("http://127.0.0.1:9/")),
                         source=NoSource(), config=config, notifier=NullNotifier(),
                         queued_report=lambda n: None, retry=RetryPolicy(), clock=clock)
    return gen, store


def _proved_job(store: Store, block: int, input_path: Path) -> int:
    job, _ = store.add_job(block, "ethrex-zisk")
    for state in (JobState.FETCHING, JobState.INPUT_READY, JobState.QUEUED, JobState.PROVING,
                  JobState.PROVED):
        store.transition(job.id, state,
                         **({"input_path": str(input_path)} if state is JobState.INPUT_READY
                            else {}))
    return job.id


def test_inputs_of_finished_jobs_are_removed_after_retention(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock)
    old, fresh = tmp_path / "old.bin", tmp_path / "fresh.bin"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old_id = _proved_job(store, 100, old)
    clock.now += 7200
    fresh_id = _proved_job(store, 200, fresh)
    assert gen.remove_expired_inputs() == 1
    assert not old.exists() and fresh.exists()
    assert store.get_job(old_id).input_path is None  # type: ignore[union-attr]
    assert store.get_job(fresh_id).input_path == str(fresh)  # type: ignore[union-attr]
    store.close()


def test_cursor_starts_at_first_target_after_head_and_persists(tmp_path: Path) -> None:
    clock = Clock()
    gen, store = _generator(tmp_path, clock)
    assert gen._enqueue_targets(1234) == []
    assert gen._enqueue_targets(1301) == [1300]
    assert store.get_meta("follower.next_target") == "1400"
    store.close()


def test_failed_job_with_input_on_disk_retries_from_the_queue(tmp_path: Path) -> None:
    clock = Clock()
    _, store = _generator(tmp_path, clock)
    path = tmp_path / "in.bin"
    path.write_bytes(b"x")
    job, _ = store.add_job(100, "ethrex-zisk")
    store.transition(job.id, JobState.FETCHING)
    store.transition(job.id, JobState.INPUT_READY, input_path=str(path))
    store.transition(job.id, JobState.QUEUED)
    failed = store.fail(job.id, FailureReason.PROVING_ERROR, "boom", retry_at=clock.now)
    assert retry_state(failed) is JobState.QUEUED
    path.unlink()
    assert retry_state(failed) is JobState.DETECTED
    store.close()


def test_half_prepared_jobs_of_a_dead_daemon_are_resumed(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "db.sqlite", clock=clock)
    fetching, _ = store.add_job(100, "ethrex-zisk")
    store.transition(fetching.id, JobState.FETCHING)
    ready, _ = store.add_job(200, "ethrex-zisk")
    store.transition(ready.id, JobState.FETCHING)
    store.transition(ready.id, JobState.INPUT_READY, input_path=str(tmp_path / "200.bin"))
    store.close()

    gen, store = _generator(tmp_path, clock)  # a new daemon on the same database
    gen.queued_report = lambda n: (ReportKind.QUEUED, f'{{"block_number": {n}}}')
    gen.resume_interrupted()
    assert store.get_job(fetching.id).state is JobState.DETECTED  # type: ignore[union-attr]
    assert store.get_job(ready.id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert [r.kind for r in store.reports_for_block(200)] == [ReportKind.QUEUED]
    store.close()

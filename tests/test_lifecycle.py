"""The job lifecycle as pure code over a real SQLite store: every verb, the report it writes,
and crash resume from every state. No trio, no sockets."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ethproofs_daemon import jobs
from ethproofs_daemon.jobs import (
    ALLOWED_TRANSITIONS,
    FINISHED_STATES,
    RETRYABLE_REASONS,
    FailureReason,
    Job,
    JobChanges,
    JobState,
    RetryPolicy,
    TransitionError,
)
from ethproofs_daemon.lifecycle import (
    MAX_ERROR_CHARS,
    MOVES,
    RESUME,
    Lifecycle,
    ReportPolicy,
    Verb,
)
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.payloads import ProvedFields
from ethproofs_daemon.store import Store

CLUSTER = 7
BLOCK = 100
RETRY = RetryPolicy(max_attempts=3, base_s=30.0, jitter=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(tmp_path / "db.sqlite", clock=clock)
    yield s
    s.close()


@pytest.fixture
def life(store: Store, clock: Clock) -> Lifecycle:
    return Lifecycle(store, reporting=ReportPolicy(CLUSTER), retry=RETRY, clock=clock)


@pytest.fixture
def silent(store: Store, clock: Clock) -> Lifecycle:
    return Lifecycle(store, reporting=None, retry=RETRY, clock=clock)


def kinds(store: Store, block: int = BLOCK) -> list[ReportKind]:
    return [r.kind for r in store.reports_for_block(block)]


def queued_job(life: Lifecycle, block: int = BLOCK) -> Job:
    job, _ = life.detected(block, "ethrex-zisk")
    return life.input_ready(life.start_fetching(job), input_path=f"/in/{block}.bin",
                            gas_used=21_000, tx_count=1)


def job_in(state: JobState, life: Lifecycle, store: Store) -> Job:
    """A job left in ``state`` (as a dead daemon would leave it)."""
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    if state is JobState.DETECTED:
        return job
    job = life.start_fetching(job)
    if state is JobState.FETCHING:
        return job
    if state is JobState.INPUT_READY:  # the crash came between input_ready and queued
        return store.transition(job.id, JobState.INPUT_READY,
                                changes=JobChanges(input_path="/in/100.bin"))
    job = life.input_ready(job, input_path="/in/100.bin", gas_used=1, tx_count=1)
    if state is JobState.QUEUED:
        return job
    if state is JobState.FAILED:
        return life.failed(job, FailureReason.PROVING_ERROR, "boom")
    job = life.begin_proving(job)
    life.record_pid(job, 4242)
    if state is JobState.PROVING:
        found = store.get_job(job.id)
        assert found is not None
        return found
    if state is JobState.EXECUTED:
        return life.executed(job, cycles=5, time_ms=10)
    return life.proved(job, ProvedFields(1500, b"zk", 42, "0xid"), proof_path="/p")


# -- the table, the diagram and ALLOWED_TRANSITIONS agree -------------------------------------


def test_every_verb_moves_along_an_allowed_edge() -> None:
    for verb, move in MOVES.items():
        for source in move.sources:
            assert move.target in ALLOWED_TRANSITIONS[source], (verb, source)


def test_every_allowed_edge_is_some_verb() -> None:
    allowed = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    used = {(a, move.target) for move in MOVES.values() for a in move.sources}
    assert used == allowed


def test_reports_are_written_on_entering_queued_proving_and_proved_only() -> None:
    reported = {verb: move.report for verb, move in MOVES.items() if move.report is not None}
    assert reported == {
        Verb.QUEUE: ReportKind.QUEUED,
        Verb.RESUME_INPUT_READY: ReportKind.QUEUED,
        Verb.RETRY_QUEUE: ReportKind.QUEUED,
        Verb.BEGIN_PROVING: ReportKind.PROVING,
        Verb.PROVED: ReportKind.PROVED,
    }


def _diagram_edges(doc: str) -> set[tuple[JobState, JobState]]:
    """Edges drawn in ``jobs``'s docstring: chains ``a ──→ b ──→ c``, ``a │ b ──→ c`` and the
    back-edges written out as ``(a → b)``."""
    names = "|".join(s.value for s in JobState)
    edges: set[tuple[JobState, JobState]] = set()
    for line in doc.splitlines():
        if "──→" in line:
            hops = [[JobState(n) for n in re.findall(rf"\b({names})\b", part)]
                    for part in line.split("──→")]
            for sources, targets in itertools.pairwise(hops):
                if sources and targets:
                    edges |= {(a, targets[0]) for a in sources}
        for a, b in re.findall(rf"\(({names}) → ({names})\)", line):
            edges.add((JobState(a), JobState(b)))
    return edges


def test_the_diagram_draws_every_allowed_edge_and_no_other() -> None:
    assert jobs.__doc__ is not None
    allowed = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert _diagram_edges(jobs.__doc__) == allowed


def test_the_diagram_names_every_reason_and_every_reason_is_retryable() -> None:
    assert jobs.__doc__ is not None
    for reason in FailureReason:
        assert reason.value in jobs.__doc__
    assert frozenset(FailureReason) == RETRYABLE_REASONS
    assert all(RETRY.should_retry(1, reason) for reason in FailureReason)


# -- the report policy --------------------------------------------------------------------------


def test_no_cluster_or_execute_mode_means_no_reports() -> None:
    assert ReportPolicy.choose(None, execute=False) is None
    assert ReportPolicy.choose(CLUSTER, execute=True) is None
    assert ReportPolicy.choose(CLUSTER, execute=False) == ReportPolicy(CLUSTER)


# -- the input generator's verbs ----------------------------------------------------------------


def test_detected_adds_a_job_once(life: Lifecycle, store: Store) -> None:
    job, created = life.detected(BLOCK, "ethrex-zisk", source="admin", priority=5)
    again, created_again = life.detected(BLOCK, "ethrex-zisk")
    assert created and not created_again and again.id == job.id
    assert (job.state, job.source, job.priority) == (JobState.DETECTED, "admin", 5)
    assert kinds(store) == []


def test_start_fetching_and_back_to_detected_write_no_report(life: Lifecycle,
                                                             store: Store) -> None:
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    fetching = life.start_fetching(job)
    assert fetching.state is JobState.FETCHING
    back = life.back_to_detected(fetching)
    assert back.state is JobState.DETECTED and back.attempts == 0
    assert kinds(store) == []


def test_input_ready_queues_the_job_with_the_queued_report(life: Lifecycle,
                                                           store: Store) -> None:
    job = queued_job(life)
    assert job.state is JobState.QUEUED
    assert (job.input_path, job.gas_used, job.tx_count) == ("/in/100.bin", 21_000, 1)
    (row,) = store.reports_for_block(BLOCK)
    assert row.kind is ReportKind.QUEUED
    assert json.loads(row.payload_json) == {"block_number": BLOCK, "cluster_id": CLUSTER}


# -- the prover's verbs -------------------------------------------------------------------------


def test_begin_proving_records_the_start_and_writes_the_proving_report(
    life: Lifecycle, store: Store, clock: Clock
) -> None:
    job = life.begin_proving(queued_job(life))
    assert job.state is JobState.PROVING and job.proving_started_at == clock.now
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.PROVING]


def test_record_pid_keeps_the_group_leader_of_a_proving_job(life: Lifecycle,
                                                             store: Store) -> None:
    job = life.begin_proving(queued_job(life))
    life.record_pid(job, 4242)
    assert store.get_job(job.id).pid == 4242  # type: ignore[union-attr]
    queued = queued_job(life, 200)
    with pytest.raises(TransitionError):
        life.record_pid(queued, 4343)
    assert store.get_job(queued.id).pid is None  # type: ignore[union-attr]


def test_proved_writes_the_proved_report_and_hands_its_body_over_first(
    life: Lifecycle, store: Store
) -> None:
    job = life.begin_proving(queued_job(life))
    life.record_pid(job, 4242)
    kept: list[str] = []
    done = life.proved(job, ProvedFields(1500, b"zk", 42, "0xid"), proof_path="/out/p.bin",
                       keep_payload=kept.append)
    assert done.state is JobState.PROVED and done.pid is None
    assert (done.proving_time_ms, done.cycles, done.proof_path, done.proof_id) == (
        1500, 42, "/out/p.bin", "0xid")
    rows = store.reports_for_block(BLOCK)
    assert [r.kind for r in rows] == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.PROVED]
    assert kept == [rows[-1].payload_json]
    body = json.loads(kept[0])
    assert (body["proving_time"], body["proving_cycles"], body["verifier_id"]) == (
        1500, 42, "0xid")


def test_without_reporting_no_verb_writes_a_report(silent: Lifecycle, store: Store) -> None:
    job = silent.begin_proving(queued_job(silent))
    kept: list[str] = []
    silent.proved(job, ProvedFields(1500, b"zk", 42, "0xid"), proof_path="/p",
                  keep_payload=kept.append)
    assert kinds(store) == [] and kept == []


def test_executed_ends_in_executed_never_proved_without_a_report(life: Lifecycle,
                                                                  store: Store) -> None:
    """Issue 11: execute mode has its own final state; nothing counts it as proved."""
    job = life.begin_proving(queued_job(life))
    done = life.executed(job, cycles=9, time_ms=30)
    assert done.state is JobState.EXECUTED and (done.cycles, done.proving_time_ms) == (9, 30)
    assert done.pid is None and done.proof_path is None
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.PROVING]
    assert store.count_by_state()[JobState.PROVED] == 0
    assert store.last_proved("ethrex-zisk") is None


@pytest.mark.parametrize("state", [JobState.PROVED, JobState.EXECUTED])
def test_a_finished_job_is_final(state: JobState, life: Lifecycle, store: Store) -> None:
    job = job_in(state, life, store)
    # a proved job leaves only through stale_proof (a reorg before its report went out)
    expected = {JobState.PROVED: {JobState.DETECTED}, JobState.EXECUTED: set()}[state]
    assert state in FINISHED_STATES and ALLOWED_TRANSITIONS[state] == expected
    with pytest.raises(TransitionError):
        life.failed(job, FailureReason.INTERNAL_ERROR, "late")
    with pytest.raises(TransitionError):
        life.operator_retry(job)
    assert store.get_job(job.id).state is state  # type: ignore[union-attr]


def test_a_stale_proof_sends_the_job_back_without_its_proof_or_a_report(
    life: Lifecycle, store: Store
) -> None:
    job = job_in(JobState.PROVED, life, store)
    before = kinds(store)
    stale = life.stale_proof(job)
    assert stale.state is JobState.DETECTED and stale.attempts == job.attempts
    assert (stale.input_path, stale.block_hash, stale.proof_path, stale.proof_id) == (
        None, None, None, None)
    assert kinds(store) == before  # the caller withholds the proved report; nothing new
    with pytest.raises(TransitionError):
        life.stale_proof(stale)


def test_interrupted_by_shutdown_requeues_without_counting_or_reporting(
    life: Lifecycle, store: Store
) -> None:
    job = life.begin_proving(queued_job(life))
    life.record_pid(job, 4242)
    back = life.interrupted_by_shutdown(job)
    assert back.state is JobState.QUEUED and back.attempts == 0
    assert back.pid is None and back.proving_started_at is None
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.PROVING]


# -- reorgs --------------------------------------------------------------------------------------

OLD_HASH = "0x" + "aa" * 32


def test_input_ready_records_the_hash_of_the_block_the_input_was_built_from(
    life: Lifecycle
) -> None:
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    queued = life.input_ready(life.start_fetching(job), input_path="/in/100.bin", gas_used=1,
                              tx_count=1, block_hash=OLD_HASH)
    assert queued.block_hash == OLD_HASH


def test_an_empty_block_hash_is_recorded_as_none_not_as_a_hash_to_check(
    life: Lifecycle
) -> None:
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    queued = life.input_ready(life.start_fetching(job), input_path="/in/100.bin", gas_used=1,
                              tx_count=1, block_hash="")
    assert queued.block_hash is None


def _hashed_queued_job(life: Lifecycle) -> Job:
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    return life.input_ready(life.start_fetching(job), input_path="/in/100.bin", gas_used=1,
                            tx_count=1, block_hash=OLD_HASH)


def test_reorged_before_proving_sends_the_job_back_to_detected_without_its_input(
    life: Lifecycle, store: Store
) -> None:
    back = life.reorged(_hashed_queued_job(life))
    assert back.state is JobState.DETECTED
    assert (back.input_path, back.block_hash) == (None, None)
    assert back.attempts == 0
    assert kinds(store) == [ReportKind.QUEUED]


def test_reorged_after_proving_forgets_the_process_group_and_writes_no_proved(
    life: Lifecycle, store: Store
) -> None:
    job = life.begin_proving(_hashed_queued_job(life))
    life.record_pid(job, 4242)
    back = life.reorged(job)
    assert back.state is JobState.DETECTED
    assert (back.input_path, back.block_hash, back.pid, back.proving_started_at) == (
        None, None, None, None)
    assert back.attempts == 0
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.PROVING]


def test_a_rebuilt_job_reports_queued_proving_proved_again_after_the_old_rows(
    life: Lifecycle, store: Store
) -> None:
    back = life.reorged(life.begin_proving(_hashed_queued_job(life)))
    new_hash = "0x" + "bb" * 32
    rebuilt = life.input_ready(life.start_fetching(back), input_path="/in/100.bin", gas_used=2,
                               tx_count=2, block_hash=new_hash)
    assert rebuilt.block_hash == new_hash
    life.proved(life.begin_proving(rebuilt), ProvedFields(1000, b"proof", 5, "v"),
                proof_path="/out/p")
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.PROVING, ReportKind.QUEUED,
                            ReportKind.PROVING, ReportKind.PROVED]


@pytest.mark.parametrize("state", [JobState.DETECTED, JobState.FETCHING, JobState.INPUT_READY,
                                   JobState.PROVED, JobState.EXECUTED, JobState.FAILED])
def test_reorged_only_from_queued_or_proving(state: JobState, life: Lifecycle,
                                             store: Store) -> None:
    job = job_in(state, life, store)
    before = kinds(store)
    with pytest.raises(TransitionError):
        life.reorged(job)
    assert store.get_job(job.id).state is state  # type: ignore[union-attr]
    assert kinds(store) == before


# -- failure and retry --------------------------------------------------------------------------


@pytest.mark.parametrize("state", [JobState.DETECTED, JobState.FETCHING, JobState.QUEUED,
                                   JobState.PROVING])
def test_failed_counts_the_attempt_and_schedules_the_retry(
    state: JobState, life: Lifecycle, store: Store, clock: Clock
) -> None:
    job = job_in(state, life, store)
    failed = life.failed(job, FailureReason.PROVING_ERROR, "x" * 5000 + "the end")
    assert failed.state is JobState.FAILED and failed.attempts == 1
    assert failed.failure_reason is FailureReason.PROVING_ERROR
    assert failed.error is not None and len(failed.error) == MAX_ERROR_CHARS
    assert failed.error.endswith("the end")
    assert failed.next_attempt_at == clock.now + 30.0 and failed.pid is None


def test_failed_stops_retrying_when_the_budget_is_spent(life: Lifecycle, store: Store,
                                                        clock: Clock) -> None:
    job = queued_job(life)
    for attempt in range(1, RETRY.max_attempts + 1):
        job = life.failed(job, FailureReason.PROVING_TIMEOUT, "slow")
        assert job.attempts == attempt
        if job.next_attempt_at is not None:
            job = life.retry_due(job, input_on_disk=True)
    assert job.state is JobState.FAILED and job.next_attempt_at is None


def test_a_proved_job_cannot_fail(life: Lifecycle, store: Store) -> None:
    job = job_in(JobState.PROVED, life, store)
    with pytest.raises(TransitionError):
        life.failed(job, FailureReason.INTERNAL_ERROR, "late")
    assert store.get_job(job.id).state is JobState.PROVED  # type: ignore[union-attr]


def test_retry_with_the_input_on_disk_requeues_with_a_queued_report(life: Lifecycle,
                                                                     store: Store) -> None:
    failed = life.failed(queued_job(life), FailureReason.PROVING_ERROR, "boom")
    retried = life.retry_due(failed, input_on_disk=True)
    assert retried.state is JobState.QUEUED and retried.attempts == 1
    assert (retried.failure_reason, retried.error, retried.next_attempt_at) == (None, None, None)
    assert kinds(store) == [ReportKind.QUEUED, ReportKind.QUEUED]


def test_retry_without_the_input_fetches_again_without_a_report(life: Lifecycle,
                                                                 store: Store) -> None:
    job = life.start_fetching(life.detected(BLOCK, "ethrex-zisk")[0])
    failed = life.failed(job, FailureReason.WITNESS_UNAVAILABLE, "no method")
    retried = life.retry_due(failed, input_on_disk=False)
    assert retried.state is JobState.DETECTED and retried.failure_reason is None
    assert kinds(store) == []


def test_operator_retry_makes_a_failed_job_due_now_with_a_fresh_budget(
    life: Lifecycle, store: Store, clock: Clock
) -> None:
    job = queued_job(life)
    for _ in range(RETRY.max_attempts):
        job = life.failed(job, FailureReason.PROVING_ERROR, "boom")
        if job.next_attempt_at is not None:
            job = life.retry_due(job, input_on_disk=True)
    clock.now += 100
    life.operator_retry(job)
    again = store.get_job(job.id)
    assert again is not None and again.state is JobState.FAILED
    assert (again.attempts, again.next_attempt_at) == (0, clock.now)
    assert [j.id for j in store.due_retries(clock.now)] == [job.id]


def test_operator_retry_of_a_job_that_is_not_failed_changes_nothing(life: Lifecycle,
                                                                     store: Store) -> None:
    job = queued_job(life)
    with pytest.raises(TransitionError):
        life.operator_retry(job)
    assert store.get_job(job.id) == job


def test_forget_input_clears_the_input_path(life: Lifecycle, store: Store) -> None:
    job = job_in(JobState.PROVED, life, store)
    life.forget_input(job)
    assert store.get_job(job.id).input_path is None  # type: ignore[union-attr]


def test_a_verb_from_the_wrong_state_changes_nothing(life: Lifecycle, store: Store) -> None:
    job, _ = life.detected(BLOCK, "ethrex-zisk")
    with pytest.raises(TransitionError):
        life.begin_proving(job)
    with pytest.raises(TransitionError):  # allowed edge (failed → queued), wrong verb
        life.interrupted_by_shutdown(life.failed(job, FailureReason.INPUT_ERROR, "bad"))
    assert store.get_job(job.id).state is JobState.FAILED  # type: ignore[union-attr]
    assert kinds(store) == []


# -- crash resume -------------------------------------------------------------------------------

RESUMED: dict[JobState, tuple[JobState, list[ReportKind]]] = {
    JobState.DETECTED: (JobState.DETECTED, []),
    JobState.FETCHING: (JobState.DETECTED, []),
    JobState.INPUT_READY: (JobState.QUEUED, [ReportKind.QUEUED]),
    JobState.QUEUED: (JobState.QUEUED, []),
    JobState.PROVING: (JobState.QUEUED, []),
    JobState.PROVED: (JobState.PROVED, []),
    JobState.EXECUTED: (JobState.EXECUTED, []),
    JobState.FAILED: (JobState.FAILED, []),
}


def test_resume_covers_every_state() -> None:
    assert set(RESUMED) == set(JobState)
    assert set(RESUME) == {s for s, (after, _) in RESUMED.items() if after is not s}


@pytest.mark.parametrize("state", list(JobState))
def test_resume_after_crash(state: JobState, life: Lifecycle, store: Store) -> None:
    job = job_in(state, life, store)
    assert job.state is state
    before = kinds(store)
    resumed = life.resume_after_crash(job)
    after, new_reports = RESUMED[state]
    assert resumed.state is after
    assert kinds(store) == before + new_reports
    assert resumed.attempts == job.attempts
    if state is JobState.PROVING:
        assert resumed.pid is None and resumed.proving_started_at is None
    else:
        assert resumed.pid == job.pid

"""The SQLite store: real files, transitions with their outbox rows, ordering, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ethproofs_daemon.jobs import FailureReason, JobChanges, JobState, TransitionError
from ethproofs_daemon.outbox import ReportKind, ReportStatus
from ethproofs_daemon.store import SCHEMA_VERSION, Store, StoreError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db.sqlite", clock=Clock())
    yield s
    s.close()


def test_add_job_is_idempotent_per_block_and_proof_type(store: Store) -> None:
    job, created = store.add_job(100, "ethrex-zisk")
    again, created_again = store.add_job(100, "ethrex-zisk")
    assert created and not created_again
    assert again.id == job.id and again.state is JobState.DETECTED


def test_transition_writes_outbox_row_in_same_transaction(store: Store) -> None:
    job, _ = store.add_job(100, "ethrex-zisk")
    store.transition(job.id, JobState.FETCHING)
    store.transition(job.id, JobState.INPUT_READY, changes=JobChanges(input_path="/x"))
    store.transition(job.id, JobState.QUEUED, report=(ReportKind.QUEUED, '{"block_number":100}'))
    rows = store.reports_for_block(100)
    assert [r.kind for r in rows] == [ReportKind.QUEUED]
    assert store.get_job(job.id).input_path == "/x"  # type: ignore[union-attr]


def test_disallowed_transition_changes_nothing(store: Store) -> None:
    job, _ = store.add_job(100, "ethrex-zisk")
    with pytest.raises(TransitionError):
        store.transition(job.id, JobState.PROVED, report=(ReportKind.PROVED, "{}"))
    assert store.get_job(job.id).state is JobState.DETECTED  # type: ignore[union-attr]
    assert store.reports_for_block(100) == []


def test_due_reports_gives_one_row_per_block_in_order(store: Store) -> None:
    for block in (200, 100):
        job, _ = store.add_job(block, "ethrex-zisk")
        store.transition(job.id, JobState.FETCHING)
        store.transition(job.id, JobState.INPUT_READY)
        store.transition(job.id, JobState.QUEUED, report=(ReportKind.QUEUED, "{}"))
        store.transition(job.id, JobState.PROVING, report=(ReportKind.PROVING, "{}"))
    due = store.due_reports(now=2000.0, limit=10)
    assert [(r.block_number, r.kind) for r in due] == [
        (100, ReportKind.QUEUED), (200, ReportKind.QUEUED)]
    store.defer_report(due[0].id, until=5000.0, error="HTTP 500")
    store.mark_report_delivered(due[1].id, 200)
    due = store.due_reports(now=2000.0, limit=10)
    assert [(r.block_number, r.kind) for r in due] == [(200, ReportKind.PROVING)]
    assert store.next_report_due_at() == 1000.0
    store.fail_report(due[0].id, "HTTP 400")
    assert store.count_reports()[ReportStatus.FAILED] == 1


def test_failed_job_keeps_reason_and_is_retried_when_due(store: Store) -> None:
    job, _ = store.add_job(100, "ethrex-zisk")
    store.transition(job.id, JobState.FETCHING)
    failed = store.transition(job.id, JobState.FAILED, count_attempt=True, changes=JobChanges(
        failure_reason=FailureReason.WITNESS_UNAVAILABLE, error="no method", next_attempt_at=1500.0,
    ))
    assert failed.failure_reason is FailureReason.WITNESS_UNAVAILABLE and failed.attempts == 1
    assert store.due_retries(1400.0) == []
    assert [j.id for j in store.due_retries(1500.0)] == [job.id]
    retried = store.transition(job.id, JobState.DETECTED)
    assert retried.failure_reason is None and retried.error is None


class _CommitFailsOnce:
    """The store's connection, except that the next ``COMMIT`` fails as a full disk would."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.armed = conn, True

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.armed:
            self.armed = False
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


def test_a_failed_commit_is_rolled_back_and_the_next_write_works(store: Store) -> None:
    job, _ = store.add_job(100, "ethrex-zisk")
    real = store.conn
    store.conn = _CommitFailsOnce(real)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        store.transition(job.id, JobState.FETCHING)
    assert not real.in_transaction
    assert store.get_job(job.id).state is JobState.DETECTED  # type: ignore[union-attr]
    store.transition(job.id, JobState.FETCHING)  # not "cannot start a transaction within one"
    assert store.get_job(job.id).state is JobState.FETCHING  # type: ignore[union-attr]
    store.conn = real


def test_jobs_order_by_priority_then_block(store: Store) -> None:
    store.add_job(300, "ethrex-zisk")
    store.add_job(100, "ethrex-zisk")
    store.add_job(200, "ethrex-zisk", source="admin", priority=5)
    assert [j.block_number for j in store.jobs_in([JobState.DETECTED])] == [200, 100, 300]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store(path).close()
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


#: The schema as version 1 of the daemon shipped it (``store.py`` at v1), to make old files.
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY, block_number INTEGER NOT NULL, proof_type TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    failure_reason TEXT, error TEXT, input_path TEXT, pid INTEGER, next_attempt_at REAL,
    proving_started_at REAL, proving_time_ms INTEGER, cycles INTEGER, proof_path TEXT,
    proof_id TEXT, source TEXT NOT NULL DEFAULT 'follower', gas_used INTEGER, tx_count INTEGER,
    UNIQUE (block_number, proof_type)
);
CREATE INDEX jobs_state ON jobs (state, priority, block_number);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs (id),
    block_number INTEGER NOT NULL, kind TEXT NOT NULL, payload_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    http_status INTEGER, last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (status, block_number, id);
PRAGMA user_version = 1;
"""


def test_a_v1_database_migrates_to_v3_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO jobs (block_number, proof_type, state, created_at, updated_at, "
            "input_path, gas_used) VALUES (100, 'ethrex-zisk', 'queued', 1.0, 2.0, '/in/100', 7)")
        conn.execute(
            "INSERT INTO outbox (job_id, block_number, kind, payload_json, next_attempt_at, "
            "created_at, updated_at) VALUES (1, 100, 'queued', '{}', 0, 0, 0)")
        conn.execute("INSERT INTO meta VALUES ('follower.next_target', '200')")
    conn.close()

    store = Store(path, clock=Clock())
    try:
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION == 3
        job = store.job_for_block(100, "ethrex-zisk")
        assert job is not None
        assert (job.state, job.input_path, job.gas_used, job.block_hash) == (
            JobState.QUEUED, "/in/100", 7, None)
        assert [r.kind for r in store.reports_for_block(100)] == [ReportKind.QUEUED]
        assert store.get_meta("follower.next_target") == "200"
        store.update_job(job.id, JobChanges(block_hash="0x" + "ab" * 32))
        assert store.get_job(job.id).block_hash == "0x" + "ab" * 32  # type: ignore[union-attr]
    finally:
        store.close()
    reopened = Store(path)  # already v3: opens without migrating again
    reopened.close()


def test_a_v2_database_with_a_proving_job_opens_and_records_a_prover_job_id(
    tmp_path: Path,
) -> None:
    """A v2 file (a daemon before the coordinator wiring) with a job left ``proving``: it
    migrates to v3, the job reads with no prover job id (it is proved again, as before), and
    the new column takes an id."""
    import sqlite3

    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA.replace("PRAGMA user_version = 1;", ""))
        conn.execute("ALTER TABLE jobs ADD COLUMN block_hash TEXT")
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO jobs (block_number, proof_type, state, created_at, updated_at, "
            "input_path, pid, block_hash) VALUES (200, 'ethrex-zisk', 'proving', 1.0, 2.0, "
            "'/in/200', 4242, '0xaa')")
    conn.close()

    store = Store(path, clock=Clock())
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 3
        job = store.job_for_block(200, "ethrex-zisk")
        assert job is not None
        assert (job.state, job.pid, job.block_hash, job.prover_job_id) == (
            JobState.PROVING, 4242, "0xaa", None)
        store.update_job(job.id, JobChanges(prover_job_id="4f1c-job"),
                         in_state=JobState.PROVING)
        assert store.get_job(job.id).prover_job_id == "4f1c-job"  # type: ignore[union-attr]
    finally:
        store.close()


def test_committed_transition_survives_kill_9(tmp_path: Path) -> None:
    """A child process commits a transition, then is SIGKILLed; the state is on disk."""
    path = tmp_path / "db.sqlite"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from ethproofs_daemon.store import Store
        from ethproofs_daemon.jobs import JobState
        from ethproofs_daemon.outbox import ReportKind
        s = Store(__import__("pathlib").Path({str(path)!r}))
        job, _ = s.add_job(100, "ethrex-zisk")
        for st in (JobState.FETCHING, JobState.INPUT_READY):
            s.transition(job.id, st)
        s.transition(job.id, JobState.QUEUED, report=(ReportKind.QUEUED, "{{}}"))
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -signal.SIGKILL and "committed" in proc.stdout
    reopened = Store(path)
    try:
        job = reopened.job_for_block(100, "ethrex-zisk")
        assert job is not None and job.state is JobState.QUEUED
        assert [r.kind for r in reopened.reports_for_block(100)] == [ReportKind.QUEUED]
    finally:
        reopened.close()
    assert os.path.exists(path)


def _job_with_input_in(store: Store, block: int, final: JobState) -> int:
    job, _ = store.add_job(block, "ethrex-zisk")
    store.transition(job.id, JobState.FETCHING)
    store.transition(job.id, JobState.INPUT_READY, changes=JobChanges(input_path=f"/in/{block}"))
    store.transition(job.id, JobState.QUEUED)
    store.transition(job.id, JobState.PROVING)
    if final is JobState.FAILED:
        store.transition(job.id, JobState.FAILED,
                         changes=JobChanges(failure_reason=FailureReason.PROVING_ERROR,
                                            next_attempt_at=None))
    elif final is not JobState.PROVING:
        store.transition(job.id, final)
    return job.id


def test_expired_inputs_are_those_of_proved_executed_and_spent_failed_jobs(store: Store) -> None:
    """Issue 11: an ``executed`` job is finished like a ``proved`` one; its input expires."""
    finished = {_job_with_input_in(store, 100, JobState.PROVED),
                _job_with_input_in(store, 200, JobState.EXECUTED),
                _job_with_input_in(store, 300, JobState.FAILED)}
    _job_with_input_in(store, 400, JobState.PROVING)
    assert {j.id for j in store.expired_inputs(before=2000.0)} == finished
    assert store.expired_inputs(before=1000.0) == []


def test_executed_jobs_are_counted_apart_from_proved(store: Store) -> None:
    _job_with_input_in(store, 100, JobState.EXECUTED)
    counts = store.count_by_state()
    assert (counts[JobState.EXECUTED], counts[JobState.PROVED]) == (1, 0)
    assert store.last_proved("ethrex-zisk") is None

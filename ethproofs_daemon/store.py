"""The embedded SQLite store: jobs, the report outbox and daemon metadata.

One database file in the state directory, one connection (``Store.conn``), WAL journal,
``synchronous=FULL`` so a committed transition survives ``kill -9`` and power loss. Every write to
the file goes through this connection: the job and outbox methods here, the metadata
(``set_meta``: the follower's cursor), and the Proof Node API's proof cache, which creates its
table with ``apply_schema`` and then writes it over ``conn`` itself (``proofnode/cache.py``).

Every job transition, together with the outbox row it produces, is one ``BEGIN IMMEDIATE``
transaction; which transition and which row is decided by ``lifecycle.py``, the only caller of
``add_job``, ``transition`` and ``update_job``. The reporter updates outbox rows through
``reporting.outbox.Outbox``. The schema is versioned with ``PRAGMA user_version`` and migrated
forward on open, one transaction per version (v1: jobs, outbox, meta; v2: ``jobs.block_hash``; v3:
``jobs.prover_job_id``).

Calls are synchronous and short (one small transaction; a commit waits for the WAL fsync); actors
call them from the trio thread. After a commit that adds a job, moves one, or writes an outbox row,
listeners registered with ``on_change`` are called so that the prover and the reporter wake without
polling (``update_job`` and ``set_meta`` call none).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

from ethproofs_daemon.jobs import (
    FINISHED_STATES,
    NO_CHANGES,
    FailureReason,
    Job,
    JobChanges,
    JobState,
    TransitionError,
    check_transition,
)
from ethproofs_daemon.outbox import OutboxRow, ReportKind, ReportStatus

SCHEMA_VERSION: Final = 3

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        block_number INTEGER NOT NULL,
        proof_type TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        priority INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        failure_reason TEXT,
        error TEXT,
        input_path TEXT,
        pid INTEGER,
        next_attempt_at REAL,
        proving_started_at REAL,
        proving_time_ms INTEGER,
        cycles INTEGER,
        proof_path TEXT,
        proof_id TEXT,
        source TEXT NOT NULL DEFAULT 'follower',
        gas_used INTEGER,
        tx_count INTEGER,
        UNIQUE (block_number, proof_type)
    );
    CREATE INDEX jobs_state ON jobs (state, priority, block_number);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        block_number INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        http_status INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (status, block_number, id);
    """,
    # v2: the hash of the block a job's input was built from (reorg checks); NULL on old rows.
    2: """
    ALTER TABLE jobs ADD COLUMN block_hash TEXT;
    """,
    # v3: the prover's own id of a running proof (the ZisK coordinator's job id): re-attach
    # after a restart instead of proving again; NULL on old rows.
    3: """
    ALTER TABLE jobs ADD COLUMN prover_job_id TEXT;
    """,
}

_JOB_COLUMNS: Final = tuple(f.name for f in fields(Job))

Listener = Callable[[str], None]


class StoreError(Exception):
    """The database cannot be opened or is from a newer version of the daemon."""


class Store:
    """Jobs, outbox and metadata in one SQLite file. See the module docstring.

    Args:
        path: the database file; its directory is created when missing.
        clock: Unix seconds, stamped on rows (injectable for tests).

    Raises:
        StoreError: the file cannot be opened, or its schema is newer than this daemon's.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._listeners: list[Listener] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (pending WAL content is checkpointed by SQLite)."""
        self.conn.close()

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(topic)`` after each commit that adds or moves a job (``"jobs"``) or
        writes an outbox row (``"outbox"``), from the calling thread."""
        self._listeners.append(listener)

    def _notify(self, *topics: str) -> None:
        for topic in topics:
            for listener in self._listeners:
                listener(topic)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")  # may fail too (busy, disk I/O): then roll back as well
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database schema v{version} is newer than this daemon (v{SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._tx() as conn:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={target}")

    def apply_schema(self, sql: str) -> None:
        """Apply a component's own ``CREATE TABLE IF NOT EXISTS`` schema (e.g. the proof cache)."""
        with self._tx() as conn:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # -- metadata ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A metadata value (e.g. the follower's cursor), or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value in its own transaction."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- jobs -------------------------------------------------------------------------------

    def add_job(
        self, block_number: int, proof_type: str, *, source: str = "follower", priority: int = 0
    ) -> tuple[Job, bool]:
        """Create a ``detected`` job unless one exists for (block, proof type).

        Returns:
            ``(job, created)``: ``created`` is False when the job existed; it is returned
            unchanged then.
        """
        now = self.clock()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO jobs (block_number, proof_type, state, priority, "
                "created_at, updated_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (block_number, proof_type, JobState.DETECTED, priority, now, now, source),
            )
            created = cur.rowcount == 1
        job = self.job_for_block(block_number, proof_type)
        assert job is not None
        if created:
            self._notify("jobs")
        return job, created

    def get_job(self, job_id: int) -> Job | None:
        """The job with this id, or None."""
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def job_for_block(self, block_number: int, proof_type: str) -> Job | None:
        """The job for (block, proof type), or None."""
        row = self.conn.execute(
            "SELECT * FROM jobs WHERE block_number = ? AND proof_type = ?",
            (block_number, proof_type),
        ).fetchone()
        return None if row is None else _job(row)

    def jobs_in(self, states: Iterable[JobState], *, limit: int = 1000) -> list[Job]:
        """Jobs in any of ``states``: highest priority first, then oldest block first."""
        wanted = list(states)
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(
            f"SELECT * FROM jobs WHERE state IN ({marks}) "
            "ORDER BY priority DESC, block_number ASC, id ASC LIMIT ?",
            (*wanted, limit),
        ).fetchall()
        return [_job(r) for r in rows]

    def next_job(self, state: JobState) -> Job | None:
        """The job the owning actor should take next from ``state`` (see ``jobs_in``)."""
        found = self.jobs_in([state], limit=1)
        return found[0] if found else None

    def recent_jobs(self, limit: int = 20) -> list[Job]:
        """The most recently updated jobs, newest first."""
        rows = self.conn.execute(
            "SELECT * FROM jobs ORDER BY updated_at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_job(r) for r in rows]

    def count_by_state(self) -> dict[JobState, int]:
        """How many jobs are in each state (every state present, zero when none)."""
        counts = dict.fromkeys(JobState, 0)
        for row in self.conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            counts[JobState(row[0])] = int(row[1])
        return counts

    def last_proved(self, proof_type: str) -> Job | None:
        """The proved job with the highest block number, or None."""
        row = self.conn.execute(
            "SELECT * FROM jobs WHERE proof_type = ? AND state = ? "
            "ORDER BY block_number DESC LIMIT 1",
            (proof_type, JobState.PROVED),
        ).fetchone()
        return None if row is None else _job(row)

    def transition(
        self,
        job_id: int,
        target: JobState,
        *,
        sources: frozenset[JobState] | None = None,
        changes: JobChanges = NO_CHANGES,
        report: tuple[ReportKind, str] | None = None,
        count_attempt: bool = False,
    ) -> Job:
        """Move a job to ``target`` and apply ``changes``, in one transaction.

        ``sources``, when given, are the only states the job may be in (else ``TransitionError``).
        ``report`` = (kind, payload JSON) appends an outbox row in the same transaction.
        ``count_attempt`` increments ``attempts``. Leaving ``failed`` clears the failure fields
        (``failure_reason``, ``error``, ``next_attempt_at``). Called by ``lifecycle.py`` only.

        Raises:
            TransitionError: the lifecycle does not allow the move.
            KeyError: no such job.
        """
        now = self.clock()
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            current = JobState(row["state"])
            check_transition(current, target)
            if sources is not None and current not in sources:
                raise TransitionError(current, target)
            values: dict[str, object] = {"state": target, "updated_at": now}
            if current is JobState.FAILED:
                values.update(failure_reason=None, error=None, next_attempt_at=None)
            values.update(changes.columns())
            assignments = ", ".join(f"{k} = ?" for k in values)
            extra = ", attempts = attempts + 1" if count_attempt else ""
            conn.execute(
                f"UPDATE jobs SET {assignments}{extra} WHERE id = ?", (*values.values(), job_id)
            )
            if report is not None:
                kind, payload = report
                conn.execute(
                    "INSERT INTO outbox (job_id, block_number, kind, payload_json, "
                    "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job_id, row["block_number"], kind, payload, now, now, now),
                )
        self._notify("jobs", *(["outbox"] if report is not None else []))
        job = self.get_job(job_id)
        assert job is not None
        return job

    def update_job(
        self, job_id: int, changes: JobChanges, *, in_state: JobState | None = None
    ) -> None:
        """Set non-state fields of a job (e.g. the prover's ``pid``) in one transaction.

        ``in_state``, when given, is the state the job must be in (checked in the transaction).
        Called by ``lifecycle.py`` only.

        Raises:
            TransitionError: the job is not ``in_state`` (``current → in_state``).
            KeyError: no such job.
        """
        values: dict[str, object] = {**changes.columns(), "updated_at": self.clock()}
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            if in_state is not None and JobState(row["state"]) is not in_state:
                raise TransitionError(JobState(row["state"]), in_state)
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))

    def due_retries(self, now: float) -> list[Job]:
        """Failed jobs whose retry time has come, oldest block first."""
        rows = self.conn.execute(
            "SELECT * FROM jobs WHERE state = ? AND next_attempt_at IS NOT NULL "
            "AND next_attempt_at <= ? ORDER BY block_number",
            (JobState.FAILED, now),
        ).fetchall()
        return [_job(r) for r in rows]

    def next_retry_at(self) -> float | None:
        """The earliest scheduled retry (Unix s), or None."""
        row = self.conn.execute(
            "SELECT MIN(next_attempt_at) FROM jobs WHERE state = ? AND next_attempt_at IS NOT NULL",
            (JobState.FAILED,),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def expired_inputs(self, before: float, limit: int = 100) -> list[Job]:
        """Finished jobs (``FINISHED_STATES``: proved or executed, or failed for good) last
        changed before ``before`` (Unix s) whose input file is still recorded: candidates for
        deletion."""
        finished = sorted(FINISHED_STATES)
        marks = ",".join("?" * len(finished))
        rows = self.conn.execute(
            "SELECT * FROM jobs WHERE input_path IS NOT NULL AND updated_at < ? AND "
            f"(state IN ({marks}) OR (state = ? AND next_attempt_at IS NULL)) LIMIT ?",
            (before, *finished, JobState.FAILED, limit),
        ).fetchall()
        return [_job(r) for r in rows]

    # -- outbox (the reporter's side: reporting.outbox.Outbox) -----------------------------

    def due_reports(self, now: float, limit: int) -> list[OutboxRow]:
        """Per block its oldest pending row, when due; oldest blocks first (``Outbox``)."""
        rows = self.conn.execute(
            "SELECT o.* FROM outbox o JOIN ("
            "  SELECT MIN(id) AS id FROM outbox WHERE status = ? GROUP BY block_number"
            ") head ON o.id = head.id WHERE o.next_attempt_at <= ? "
            "ORDER BY o.block_number, o.id LIMIT ?",
            (ReportStatus.PENDING, now, limit),
        ).fetchall()
        return [_outbox_row(r) for r in rows]

    def next_report_due_at(self) -> float | None:
        """Earliest ``next_attempt_at`` of a pending row (Unix s), or None (``Outbox``)."""
        row = self.conn.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status = ?", (ReportStatus.PENDING,)
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def mark_report_delivered(self, row_id: int, http_status: int) -> None:
        """The row was accepted (200) or the block is already proved (409) (``Outbox``)."""
        self._update_report(row_id, ReportStatus.DELIVERED, http_status=http_status)

    def defer_report(self, row_id: int, until: float, error: str) -> None:
        """Try the row again at ``until`` (Unix s) (``Outbox``)."""
        self._update_report(row_id, ReportStatus.PENDING, next_attempt_at=until, last_error=error)

    def fail_report(self, row_id: int, error: str) -> None:
        """Stop the row for good, keeping the error (``Outbox``)."""
        self._update_report(row_id, ReportStatus.FAILED, last_error=error)

    def _update_report(self, row_id: int, status: ReportStatus, **values: Any) -> None:
        values.update(status=status, updated_at=self.clock())
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as conn:
            conn.execute(
                f"UPDATE outbox SET {assignments}, attempts = attempts + 1 WHERE id = ?",
                (*values.values(), row_id),
            )
        self._notify("outbox")

    def reports_for_block(self, block_number: int) -> list[OutboxRow]:
        """Every outbox row of a block, in the order written."""
        rows = self.conn.execute(
            "SELECT * FROM outbox WHERE block_number = ? ORDER BY id", (block_number,)
        ).fetchall()
        return [_outbox_row(r) for r in rows]

    def count_reports(self) -> dict[ReportStatus, int]:
        """Outbox rows by status (every status present)."""
        counts = dict.fromkeys(ReportStatus, 0)
        for row in self.conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            counts[ReportStatus(row[0])] = int(row[1])
        return counts


def _job(row: sqlite3.Row) -> Job:
    values = {k: row[k] for k in _JOB_COLUMNS}
    values["state"] = JobState(values["state"])
    if values["failure_reason"] is not None:
        values["failure_reason"] = FailureReason(values["failure_reason"])
    return Job(**values)


def _outbox_row(row: sqlite3.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        job_id=row["job_id"],
        block_number=row["block_number"],
        kind=ReportKind(row["kind"]),
        payload_json=row["payload_json"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        status=ReportStatus(row["status"]),
        last_error=row["last_error"],
    )


def job_to_dict(job: Job) -> dict[str, object]:
    """A job as JSON-ready values (for the admin API and ``status --json``)."""
    return {name: getattr(job, name) for name in _JOB_COLUMNS}


__all__: Sequence[str] = ("SCHEMA_VERSION", "Store", "StoreError", "job_to_dict")

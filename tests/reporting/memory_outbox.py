"""An in-memory ``Outbox`` that stands in for the store in reporter tests.

Same semantics as ``store.Store``'s outbox methods: per block only its oldest pending row is due,
oldest blocks first; every update increments ``attempts``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from ethproofs_daemon.outbox import OutboxRow, ReportKind, ReportStatus


class MemoryOutbox:
    """The reporter's view of the store, in a list. ``on_write`` is called when a row is added."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.rows: list[OutboxRow] = []
        self.http_status: dict[int, int] = {}
        self.clock = clock
        self.on_write: Callable[[], None] = lambda: None

    def add(self, block_number: int, kind: ReportKind, payload_json: str) -> OutboxRow:
        """Append a pending row due now (the store does this in a job transition)."""
        now = self.clock()
        row = OutboxRow(
            id=len(self.rows) + 1,
            job_id=block_number,
            block_number=block_number,
            kind=kind,
            payload_json=payload_json,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.rows.append(row)
        self.on_write()
        return row

    def _replace(self, row_id: int, **changes: object) -> None:
        old = self.rows[row_id - 1]
        self.rows[row_id - 1] = dataclasses.replace(old, attempts=old.attempts + 1, **changes)  # type: ignore[arg-type]

    def due_reports(self, now: float, limit: int) -> list[OutboxRow]:
        heads: dict[int, OutboxRow] = {}
        for row in self.rows:
            if row.status is ReportStatus.PENDING and row.block_number not in heads:
                heads[row.block_number] = row
        due = [r for r in heads.values() if r.next_attempt_at <= now]
        return sorted(due, key=lambda r: (r.block_number, r.id))[:limit]

    def next_report_due_at(self) -> float | None:
        times = [r.next_attempt_at for r in self.rows if r.status is ReportStatus.PENDING]
        return min(times) if times else None

    def mark_report_delivered(self, row_id: int, http_status: int) -> None:
        self.http_status[row_id] = http_status
        self._replace(row_id, status=ReportStatus.DELIVERED)

    def defer_report(self, row_id: int, until: float, error: str) -> None:
        self._replace(row_id, next_attempt_at=until, last_error=error)

    def fail_report(self, row_id: int, error: str) -> None:
        self._replace(row_id, status=ReportStatus.FAILED, last_error=error)

    def statuses(self) -> list[ReportStatus]:
        return [r.status for r in self.rows]

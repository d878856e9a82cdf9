"""What the reporter needs from the store: ``Outbox``, over the rows of ``ethproofs_daemon.outbox``.

The row types (``OutboxRow``, ``ReportKind``, ``ReportStatus``) live in the leaf module
``ethproofs_daemon/outbox.py`` so that the store imports no feature package.
"""

from __future__ import annotations

from typing import Protocol

from ethproofs_daemon.outbox import OutboxRow


class Outbox(Protocol):
    """What the reporter needs from the store. All calls are short synchronous transactions."""

    def due_reports(self, now: float, limit: int) -> list[OutboxRow]:
        """Pending rows whose ``next_attempt_at <= now``: per block only its oldest pending row
        (so a block's reports go out in order), oldest blocks first, at most ``limit`` rows."""
        ...

    def next_report_due_at(self) -> float | None:
        """Earliest ``next_attempt_at`` among pending rows (Unix s); None when none is pending."""
        ...

    def mark_report_delivered(self, row_id: int, http_status: int) -> None:
        """Row delivered (200, or 409 which means the block is already proved)."""
        ...

    def defer_report(self, row_id: int, until: float, error: str) -> None:
        """Row not delivered this time (429/5xx/transport); try again at ``until`` (Unix s)."""
        ...

    def fail_report(self, row_id: int, error: str) -> None:
        """Row rejected for good (400/401/404): stop it and keep the error text."""
        ...

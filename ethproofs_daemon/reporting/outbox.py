"""The report outbox contract between the store (writer) and the reporter (deliverer).

Each EthProofs-tracked transition of a job writes one outbox row in the same transaction as the
state change (``store.py``). The reporter delivers rows per block in order: ``queued`` →
``proving`` → ``proved`` (the API answers 500 to ``proved`` for a block it has no row for:
``../shared/docs/ethproofs-api.md`` §1.5).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class ReportKind(enum.StrEnum):
    """The EthProofs status endpoint a row goes to: ``POST /proofs/{kind}``."""

    QUEUED = "queued"
    PROVING = "proving"
    PROVED = "proved"


class ReportStatus(enum.StrEnum):
    """Where an outbox row is: waiting, delivered (200 or 409), or stopped (400/401/404)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One report to deliver.

    ``payload_json`` is the exact JSON body to POST (``block_number``, ``cluster_id`` and, for
    ``proved``, ``proving_time`` ms int, ``proving_cycles`` when known, ``proof`` base64,
    ``verifier_id``). Times are Unix seconds.
    """

    id: int
    job_id: int
    block_number: int
    kind: ReportKind
    payload_json: str
    attempts: int
    next_attempt_at: float
    created_at: float
    status: ReportStatus = ReportStatus.PENDING
    last_error: str | None = None


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

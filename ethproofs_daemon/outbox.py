"""The report outbox rows: what the store writes with a job transition and the reporter delivers.

Each EthProofs-tracked transition of a job writes one outbox row in the same transaction as the
state change (``lifecycle.py`` decides which, ``store.py`` writes it). The reporter delivers rows
per block in order: ``queued`` → ``proving`` → ``proved`` (the API answers 500 to ``proved`` for a
block it has no ``blocks`` row for, and only ``queued``/``proving`` create that row:
ethproofs/ethproofs@98b7a6f ``app/api/v0/proofs/{queued,proving,proved}/route.ts``). What the
reporter needs from the store is ``reporting.outbox.Outbox``.

A leaf module (no I/O, no feature package) so that the store and the pure core can import it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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

"""Reorg checks: is the block a job was built from still the canonical one at its height?

Shared by the prover actor (before proving, before recording ``proved``) and the reporter's last
check before a waiting ``proved`` row is posted (``app.proved_report_check``). The caller
chooses the lifecycle verb (``reorged`` or ``stale_proof``); ``note_reorg`` does what every
reorg does besides: the input file is deleted, the prover's status and the
``ethproofs_daemon_reorgs_total{check_point}`` metric count it, ``block_reorged`` is logged.
"""

from __future__ import annotations

import contextlib
import enum
import os
from typing import Protocol

import structlog

from ethproofs_daemon.jobs import Job
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.status import ProverStatus

log = structlog.get_logger(__name__)


class CheckPoint(enum.StrEnum):
    """Where the canonical-hash check is made (the ``reorgs`` metric's label)."""

    BEFORE_PROVING = "before_proving"
    BEFORE_RECORDING = "before_recording"
    BEFORE_REPORTING = "before_reporting"


class CanonicalHashUnavailable(Exception):
    """The node could not say which block is canonical at a height (transport error, timeout,
    malformed reply)."""


class CanonicalHash(Protocol):
    """The hash (``0x`` hex) of the node's canonical block at a height, None when it has no
    block there (``app.py`` builds it over ``eth_getBlockByNumber``).

    Raises:
        CanonicalHashUnavailable: the node could not answer.
    """

    async def __call__(self, block_number: int) -> str | None: ...


def is_canonical(canonical: str | None, recorded: str) -> bool:
    """True when the node's canonical hash at the height is the recorded one (hex, any case)."""
    return canonical is not None and canonical.lower() == recorded.lower()


def note_reorg(job: Job, canonical: str | None, point: CheckPoint, *,
               status: ProverStatus | None, metrics: DaemonMetrics | None) -> None:
    """Everything a reorg of ``job`` (as it was before the lifecycle verb) does but the verb:
    delete its input file, count it (``status``, ``metrics``) and log ``block_reorged``."""
    if job.input_path is not None:
        # Synchronous (one unlink): a worker thread would let a mock clock jump in tests.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(job.input_path)
    if status is not None:
        status.reorg_count += 1
        status.last_reorg = (f"block {job.block_number}: {job.block_hash} replaced by "
                             f"{canonical} ({point})")
    if metrics is not None:
        metrics.reorgs.labels(str(point)).inc()
    log.warning("block_reorged", check_point=str(point), block_number=job.block_number,
                job_id=job.id, old_hash=job.block_hash, new_hash=canonical,
                reason="block no longer canonical at its height", state=str(job.state))

"""The reporter's last reorg check (``app.proved_report_check``) on a real SQLite store: a proof
whose block left the chain while its ``proved`` row waited is withheld and the job goes back to
be built again; a canonical one is sent; an unanswered check waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ethproofs_daemon.app import proved_report_check
from ethproofs_daemon.jobs import Job, JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.outbox import OutboxRow, ReportKind
from ethproofs_daemon.reorgs import CanonicalHash, CanonicalHashUnavailable
from ethproofs_daemon.reporting.payloads import ProvedFields
from ethproofs_daemon.reporting.reporter import ProvedCheck
from ethproofs_daemon.status import ProverStatus
from ethproofs_daemon.store import Store

OLD, NEW = "0x" + "aa" * 32, "0x" + "bb" * 32


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Store, Lifecycle]]:
    store = Store(tmp_path / "db.sqlite")
    yield store, Lifecycle(store, reporting=ReportPolicy(7), retry=RetryPolicy(),
                           clock=store.clock)
    store.close()


def _proved(store: Store, life: Lifecycle, tmp_path: Path) -> tuple[Job, OutboxRow]:
    job, _ = life.detected(100, "ethrex-zisk")
    path = tmp_path / "100.bin"
    path.write_bytes(b"input")
    job = life.input_ready(life.start_fetching(job), input_path=str(path), gas_used=1,
                           tx_count=1, block_hash=OLD)
    job = life.proved(life.begin_proving(job), ProvedFields(10, b"zk", 1, "id"),
                      proof_path="/p")
    row = store.reports_for_block(100)[-1]
    assert row.kind is ReportKind.PROVED
    return job, row


def _canonical(answer: str | Exception | None) -> CanonicalHash:
    async def canonical_hash(block_number: int) -> str | None:
        assert block_number == 100
        if isinstance(answer, Exception):
            raise answer
        return answer

    return canonical_hash


async def test_a_canonical_proof_is_sent(parts: tuple[Store, Lifecycle], tmp_path: Path) -> None:
    store, life = parts
    job, row = _proved(store, life, tmp_path)
    check = proved_report_check(store, life, _canonical(OLD))
    assert await check(row) is ProvedCheck.SEND
    assert store.get_job(job.id).state is JobState.PROVED  # type: ignore[union-attr]


async def test_a_stale_proof_is_withheld_and_the_job_is_built_again(
    parts: tuple[Store, Lifecycle], tmp_path: Path
) -> None:
    store, life = parts
    job, row = _proved(store, life, tmp_path)
    status = ProverStatus()
    check = proved_report_check(store, life, _canonical(NEW), status=status)
    assert await check(row) is ProvedCheck.WITHHOLD
    assert status.reorg_count == 1 and status.last_reorg is not None
    again = store.get_job(job.id)
    assert again is not None and again.state is JobState.DETECTED
    assert (again.block_hash, again.input_path, again.proof_path) == (None, None, None)
    assert not (tmp_path / "100.bin").exists()


async def test_an_unanswered_check_waits(parts: tuple[Store, Lifecycle], tmp_path: Path) -> None:
    store, life = parts
    job, row = _proved(store, life, tmp_path)
    check = proved_report_check(store, life, _canonical(CanonicalHashUnavailable("down")))
    assert await check(row) is ProvedCheck.WAIT
    assert store.get_job(job.id).state is JobState.PROVED  # type: ignore[union-attr]


async def test_hex_case_does_not_make_a_reorg(
    parts: tuple[Store, Lifecycle], tmp_path: Path
) -> None:
    store, life = parts
    job, row = _proved(store, life, tmp_path)
    check = proved_report_check(store, life, _canonical("0x" + "AA" * 32))
    assert await check(row) is ProvedCheck.SEND
    assert store.get_job(job.id).state is JobState.PROVED  # type: ignore[union-attr]

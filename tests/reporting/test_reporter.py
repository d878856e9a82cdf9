"""The reporter drains the outbox to the stand-in EthProofs API (issue 2 item 7)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import structlog
import trio

from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, JobState
from ethproofs_daemon.outbox import OutboxRow, ReportKind, ReportStatus
from ethproofs_daemon.reporting.ethproofs import EthProofsClient
from ethproofs_daemon.reporting.events import EventKind
from ethproofs_daemon.reporting.payloads import (
    ProvedFields,
    proved_payload,
    proving_payload,
    queued_payload,
)
from ethproofs_daemon.reporting.reporter import (
    WITHHELD_ERROR,
    AttemptOutcome,
    BackoffPolicy,
    ProvedCheck,
    Reporter,
)
from ethproofs_daemon.reporting.slack import CollectingNotifier
from ethproofs_daemon.store import Store
from tests.helpers import wait_until
from tests.reporting.memory_outbox import MemoryOutbox
from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs

KEY = "test-key-0123456789abcdef"
CLUSTER = 7
FAST = BackoffPolicy(base_s=0.05, factor=2.0, cap_s=0.2, jitter=0.1)


@dataclass
class Rig:
    outbox: MemoryOutbox
    state: EthProofsState
    reporter: Reporter
    notifier: CollectingNotifier
    nursery: trio.Nursery

    def add_block(self, block: int, proof: bytes = b"proof-bytes", ms: int = 4321) -> None:
        self.outbox.add(block, ReportKind.QUEUED, queued_payload(block, CLUSTER))
        self.outbox.add(block, ReportKind.PROVING, proving_payload(block, CLUSTER))
        fields = ProvedFields(ms, proof, proving_cycles=1000 + block, verifier_id=f"id{block}")
        self.outbox.add(block, ReportKind.PROVED, proved_payload(block, CLUSTER, fields))


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        outbox = MemoryOutbox()
        notifier = CollectingNotifier()
        client = EthProofsClient(base_url, KEY, http, timeout_s=5.0)
        reporter = Reporter(
            outbox, client, backoff=FAST, notifier=notifier, rng=random.Random(7), idle_poll_s=5.0
        )
        outbox.on_write = reporter.wake
        async with trio.open_nursery() as nursery:
            await nursery.start(reporter.run)
            yield Rig(outbox, state, reporter, notifier, nursery)
            nursery.cancel_scope.cancel()


def all_delivered(outbox: MemoryOutbox) -> Callable[[], bool]:
    return lambda: bool(outbox.rows) and all(s is ReportStatus.DELIVERED for s in outbox.statuses())


def per_block(state: EthProofsState) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for block, kind in state.sequence():
        out.setdefault(block, []).append(kind)
    return out


async def test_each_blocks_three_reports_arrive_in_order(rig: Rig) -> None:
    rig.add_block(100, proof=b"\x00\x01proof")
    rig.add_block(200)
    await wait_until(all_delivered(rig.outbox))
    assert per_block(rig.state) == {
        100: ["queued", "proving", "proved"],
        200: ["queued", "proving", "proved"],
    }
    proved = rig.state.accepted("proved")[0].body
    assert proved["proving_time"] == 4321 and proved["proving_cycles"] == 1100
    assert proved["verifier_id"] == "id100"
    assert rig.state.statuses() == [200] * 6


async def test_reports_survive_500s_and_429s_and_arrive_in_order(rig: Rig) -> None:
    rig.state.fail_next_500 = 5
    rig.state.fail_next_429 = 2
    rig.state.retry_after = "1"
    rig.add_block(100)
    rig.add_block(200)
    await wait_until(all_delivered(rig.outbox))
    assert per_block(rig.state) == {
        100: ["queued", "proving", "proved"],
        200: ["queued", "proving", "proved"],
    }
    statuses = rig.state.statuses()
    assert statuses.count(500) == 5 and statuses.count(429) == 2
    assert rig.reporter.failed == 0


async def test_429_pauses_every_row_for_retry_after(rig: Rig) -> None:
    rig.state.fail_next_429 = 1
    rig.state.retry_after = "1"
    rig.add_block(100)
    rig.add_block(200)
    await wait_until(all_delivered(rig.outbox))
    received = rig.state.received
    assert received[0].status == 429
    assert received[1].at - received[0].at >= 0.95


async def test_400_stops_the_row_alerts_and_other_blocks_go_on(rig: Rig) -> None:
    bad = json.dumps({"block_number": 100, "cluster_id": CLUSTER, "proving_time": 0, "proof": "x"})
    rig.outbox.add(100, ReportKind.QUEUED, queued_payload(100, CLUSTER))
    rig.outbox.add(100, ReportKind.PROVED, bad)
    rig.add_block(200)
    await wait_until(lambda: ReportStatus.FAILED in rig.outbox.statuses())
    await wait_until(lambda: len(rig.state.accepted()) == 4)
    failed = rig.outbox.rows[1]
    assert failed.status is ReportStatus.FAILED
    assert failed.last_error is not None and "HTTP 400" in failed.last_error
    assert per_block(rig.state)[200] == ["queued", "proving", "proved"]
    alerts = [e for e in rig.notifier.events if e.kind is EventKind.ETHPROOFS_REQUEST_FAILED]
    assert len(alerts) == 1
    assert alerts[0].block_number == 100
    assert alerts[0].headline == ":warning: Block 100 EthProofs proved request failed."


async def test_409_counts_as_delivered(rig: Rig) -> None:
    rig.add_block(100)
    await wait_until(all_delivered(rig.outbox))
    rig.add_block(100)  # a restart that lost the "delivered" marks sends them again
    await wait_until(all_delivered(rig.outbox))
    assert rig.state.statuses() == [200, 200, 200, 409, 409, 409]
    assert [rig.outbox.http_status[r.id] for r in rig.outbox.rows[3:]] == [409, 409, 409]


async def test_a_block_that_keeps_failing_does_not_hold_back_others(rig: Rig) -> None:
    # proved with no queued/proving before it: the API answers 500 every time (FK gotcha)
    fields = ProvedFields(10, b"p")
    rig.outbox.add(100, ReportKind.PROVED, proved_payload(100, CLUSTER, fields))
    rig.add_block(200)
    rig.add_block(300)
    await wait_until(lambda: len(rig.state.accepted()) == 6)
    assert rig.outbox.rows[0].status is ReportStatus.PENDING
    assert rig.outbox.rows[0].attempts >= 1
    assert set(per_block(rig.state)) == {200, 300}


async def test_persistent_failure_alerts_once_after_the_threshold() -> None:
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        state.fail_next_500 = 10_000
        outbox = MemoryOutbox()
        notifier = CollectingNotifier()
        reporter = Reporter(
            outbox,
            EthProofsClient(base_url, KEY, http),
            notifier=notifier,
            backoff=BackoffPolicy(base_s=0.01, cap_s=0.02, jitter=0.0),
            alert_after_attempts=3,
        )
        outbox.add(1, ReportKind.QUEUED, queued_payload(1, CLUSTER))
        async with trio.open_nursery() as nursery:
            await nursery.start(reporter.run)
            await wait_until(lambda: outbox.rows[0].attempts >= 6)
            nursery.cancel_scope.cancel()
    assert [e.kind for e in notifier.events] == [EventKind.ETHPROOFS_REQUEST_FAILED]
    assert "still failing after 3 tries" in (notifier.events[0].field("Error") or "")


async def test_delivered_proved_sends_the_submitted_notification(rig: Rig) -> None:
    rig.outbox.on_write = lambda: None
    rig.add_block(100, ms=83_456)
    rig.reporter.wake()
    await wait_until(all_delivered(rig.outbox))
    submitted = [e for e in rig.notifier.events if e.kind is EventKind.PROOF_SUBMITTED]
    assert len(submitted) == 1
    assert submitted[0].field("Proving time") == "83.46s"


async def test_wake_delivers_a_new_row_without_waiting_for_the_poll(rig: Rig) -> None:
    rig.reporter.idle_poll_s = 60.0
    await trio.sleep(0.1)  # the reporter is asleep on an empty outbox
    rig.add_block(100)
    await wait_until(all_delivered(rig.outbox), timeout_s=10.0)  # bound, not a timing claim


async def test_without_a_client_nothing_is_sent_and_rows_stay_pending() -> None:
    outbox = MemoryOutbox()
    outbox.add(1, ReportKind.QUEUED, queued_payload(1, CLUSTER))
    reporter = Reporter(outbox, None)
    assert not reporter.enabled
    with trio.move_on_after(0.3):
        await reporter.run()
    assert outbox.statuses() == [ReportStatus.PENDING]
    assert outbox.rows[0].attempts == 0
    assert await reporter.drain(0.1) is True


async def test_drain_waits_out_backoff_within_the_deadline() -> None:
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        state.fail_next_500 = 2
        state.fail_next_429 = 1
        state.retry_after = "1"
        outbox = MemoryOutbox()
        seen: list[tuple[ReportKind, AttemptOutcome]] = []
        reporter = Reporter(
            outbox,
            EthProofsClient(base_url, KEY, http),
            backoff=FAST,
            observer=lambda kind, outcome: seen.append((kind, outcome)),
        )
        for block in (1, 2):
            outbox.add(block, ReportKind.QUEUED, queued_payload(block, CLUSTER))
            outbox.add(block, ReportKind.PROVING, proving_payload(block, CLUSTER))
        assert await reporter.drain(10.0) is True
    assert outbox.statuses() == [ReportStatus.DELIVERED] * 4
    assert len(state.accepted()) == 4
    outcomes = [o for _, o in seen]
    assert outcomes.count(AttemptOutcome.RETRY) == 2
    assert outcomes.count(AttemptOutcome.RATE_LIMITED) == 1
    assert outcomes.count(AttemptOutcome.DELIVERED) == 4


async def test_drain_gives_up_at_the_deadline() -> None:
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        state.fail_next_500 = 10_000
        outbox = MemoryOutbox()
        reporter = Reporter(outbox, EthProofsClient(base_url, KEY, http), backoff=FAST)
        outbox.add(1, ReportKind.QUEUED, queued_payload(1, CLUSTER))
        with trio.fail_after(10.0):  # a bound for a loaded machine; drain's own deadline is 0.5
            assert await reporter.drain(0.5) is False
    assert outbox.statuses() == [ReportStatus.PENDING]


async def test_with_the_real_store(tmp_path: Path) -> None:
    """The reporter against ``store.Store`` (SQLite file) and the stand-in API."""
    store = Store(tmp_path / "state.db")
    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        state.fail_next_500 = 2
        reporter = Reporter(
            store, EthProofsClient(base_url, KEY, http), backoff=FAST, idle_poll_s=5.0
        )
        store.on_change(lambda topic: reporter.wake() if topic == "outbox" else None)
        async with trio.open_nursery() as nursery:
            await nursery.start(reporter.run)
            job, _ = store.add_job(500, DEFAULT_PROOF_TYPE)
            for target in (JobState.FETCHING, JobState.INPUT_READY):
                store.transition(job.id, target)
            store.transition(
                job.id, JobState.QUEUED, report=(ReportKind.QUEUED, queued_payload(500, CLUSTER))
            )
            store.transition(
                job.id, JobState.PROVING, report=(ReportKind.PROVING, proving_payload(500, CLUSTER))
            )
            payload = proved_payload(500, CLUSTER, ProvedFields(1500, b"zk", 42, "pid"))
            store.transition(job.id, JobState.PROVED, report=(ReportKind.PROVED, payload))
            await wait_until(lambda: store.count_reports()[ReportStatus.DELIVERED] == 3)
            nursery.cancel_scope.cancel()
    store.close()
    assert state.sequence() == [(500, "queued"), (500, "proving"), (500, "proved")]


async def test_bad_key_fails_the_row_and_is_never_logged() -> None:
    secret = "wrong-key-do-not-log-me"
    with structlog.testing.capture_logs() as logs:
        async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
            outbox = MemoryOutbox()
            notifier = CollectingNotifier()
            reporter = Reporter(outbox, EthProofsClient(base_url, secret, http), notifier=notifier)
            outbox.add(1, ReportKind.QUEUED, queued_payload(1, CLUSTER))
            await reporter.drain(5.0)
    assert outbox.statuses() == [ReportStatus.FAILED]
    assert state.statuses() == [401]
    assert any(entry["event"] == "report_rejected" for entry in logs)
    assert secret not in repr(logs) + repr(notifier.events) + repr(outbox.rows)


async def test_the_reorg_check_withholds_a_stale_proved_row_and_defers_while_unanswered() -> None:
    verdicts = {100: [ProvedCheck.WITHHOLD], 200: [ProvedCheck.WAIT, ProvedCheck.SEND]}
    asked: list[int] = []

    async def check(row: OutboxRow) -> ProvedCheck:
        assert row.kind is ReportKind.PROVED
        asked.append(row.block_number)
        return verdicts[row.block_number].pop(0)

    async with run_standin_ethproofs() as (base_url, state), httpx.AsyncClient() as http:
        outbox = MemoryOutbox()
        reporter = Reporter(outbox, EthProofsClient(base_url, KEY, http, timeout_s=5.0),
                            backoff=FAST, rng=random.Random(7), idle_poll_s=5.0,
                            check_proved=check)
        outbox.on_write = reporter.wake
        async with trio.open_nursery() as nursery:
            await nursery.start(reporter.run)
            for block in (100, 200):
                outbox.add(block, ReportKind.QUEUED, queued_payload(block, CLUSTER))
                outbox.add(block, ReportKind.PROVING, proving_payload(block, CLUSTER))
                fields = ProvedFields(10, b"proof", proving_cycles=1, verifier_id="id")
                outbox.add(block, ReportKind.PROVED, proved_payload(block, CLUSTER, fields))
            await wait_until(lambda: ReportStatus.PENDING not in outbox.statuses())
            nursery.cancel_scope.cancel()
    assert per_block(state) == {100: ["queued", "proving"], 200: ["queued", "proving", "proved"]}
    withheld = outbox.rows[2]
    assert (withheld.status, withheld.last_error) == (ReportStatus.FAILED, WITHHELD_ERROR)
    assert sorted(asked) == [100, 200, 200]  # 200 waited once, then was sent

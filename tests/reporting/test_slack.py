"""Slack notifications against the stand-in webhook (issue 5 item 3; ethproofs-api.md §2(g))."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import structlog
import trio

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.events import HostInfo
from ethproofs_daemon.reporting.notices import (
    BlockNoted,
    EthProofsRequestFailed,
    InputGenerationFailed,
    Notifier,
    NullNotifier,
    ProofDataUnreadable,
    ProofFailed,
    ProofSubmitted,
)
from ethproofs_daemon.reporting.ratelimit import RateLimit
from ethproofs_daemon.reporting.rpc_health import RpcDown, RpcRecovered
from ethproofs_daemon.reporting.slack import SlackNotifier, SlackRetry, make_notifier
from tests.helpers import wait_until
from tests.standins.slack import SlackState, run_standin_slack

HOST = HostInfo(hostname="box1", gpu="NVIDIA GeForce RTX 5090", cpu="AMD EPYC", ram="62.7 GiB")
FAST_RETRY = SlackRetry(attempts=3, base_s=0.01, cap_s=0.05, timeout_s=5.0)


@dataclass
class SlackRig:
    url: str
    state: SlackState
    notifier: SlackNotifier


@pytest.fixture
async def slack() -> AsyncIterator[SlackRig]:
    async with run_standin_slack() as (url, state), httpx.AsyncClient() as http:
        notifier = SlackNotifier(
            url, http, host=HOST, rate=RateLimit(burst=50, interval_s=1.0), retry=FAST_RETRY
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            yield SlackRig(url, state, notifier)
            nursery.cancel_scope.cancel()


def send_every_kind(n: Notifier) -> None:
    n.notify(BlockNoted(100, 15_000_000, 142))
    n.notify(InputGenerationFailed(100, "witness_fetch", "debug_executionWitness: -32601"))
    n.notify(ProofFailed(100, "proving_timeout after 3600 s"))
    n.notify(ProofDataUnreadable(100, "result.json missing"))
    n.notify(EthProofsRequestFailed(100, ReportKind.PROVED, "HTTP 400: Invalid request"))
    n.notify(ProofSubmitted(100, 83_456))
    n.notify(RpcDown("http://node:8545/key123", 1_700_000_000.0, "connection refused"))
    n.notify(RpcRecovered("http://node:8545/key123", 1_700_000_000.0, 1_700_000_125.0))


async def test_each_event_kind_is_sent_once_with_its_fields(slack: SlackRig) -> None:
    send_every_kind(slack.notifier)
    await wait_until(lambda: len(slack.state.messages) == 7)
    await trio.sleep(0.1)
    assert slack.state.headlines() == [
        ":warning: Block 100 input generation failed.",
        ":warning: Block 100 proof generation failed.",
        ":warning: Block 100 proof data read failed.",
        ":warning: Block 100 EthProofs proved request failed.",
        ":white_check_mark: Block 100 proved and submitted to EthProofs.",
        ":x: ETH RPC down: http://node:8545",
        ":white_check_mark: ETH RPC recovered: http://node:8545",
    ]
    for i in range(5):
        fields = slack.state.fields(i)
        assert fields["Gas used"] == "15,000,000"
        assert fields["Tx count"] == "142"
    for i in range(7):
        fields = slack.state.fields(i)
        assert (fields["GPU"], fields["CPU"], fields["RAM"]) == (
            "NVIDIA GeForce RTX 5090",
            "AMD EPYC",
            "62.7 GiB",
        )
    assert slack.state.fields(0)["Step"] == "witness_fetch"
    assert slack.state.fields(4)["Proving time"] == "83.46s"
    assert slack.state.fields(5)["Last error"] == "connection refused"
    assert slack.state.fields(6)["Downtime"] == "2m 05s"
    assert all("key123" not in str(m) for m in slack.state.messages)


async def test_500s_and_429s_are_retried_and_delivered_once(slack: SlackRig) -> None:
    slack.state.fail_next_500 = 1
    slack.state.fail_next_429 = 1
    slack.notifier.notify(ProofFailed(1, "x"))
    # the stand-in records the message before the notifier counts its 200: wait for both
    await wait_until(lambda: len(slack.state.messages) == 1 and slack.notifier.sent >= 1)
    assert slack.state.statuses == [500, 429, 200]
    assert slack.notifier.sent == 1


async def test_persistent_failure_gives_up_logs_without_the_url_and_carries_on(
    slack: SlackRig,
) -> None:
    slack.state.fail_next_500 = FAST_RETRY.attempts
    with structlog.testing.capture_logs() as logs:
        slack.notifier.notify(ProofFailed(1, "lost"))
        await wait_until(lambda: slack.notifier.failed == 1)
    slack.notifier.notify(ProofFailed(2, "kept"))
    await wait_until(lambda: len(slack.state.messages) == 1)
    assert slack.state.statuses == [500] * FAST_RETRY.attempts + [200]
    assert any(entry["event"] == "notification_failed" for entry in logs)
    assert slack.url not in repr(logs) and "secretwebhooktoken" not in repr(logs)
    assert "secretwebhooktoken" not in repr(slack.notifier)


async def test_rejected_webhook_is_not_retried() -> None:
    async with run_standin_slack() as (url, state), httpx.AsyncClient() as http:
        notifier = SlackNotifier(url + "-revoked", http, host=HOST, retry=FAST_RETRY)
        notifier.notify(ProofFailed(1, "x"))
        await notifier.drain(5.0)
    assert state.statuses == [404]
    assert notifier.failed == 1


async def test_a_flood_is_coalesced_into_a_suppressed_summary() -> None:
    async with run_standin_slack() as (url, state), httpx.AsyncClient() as http:
        notifier = SlackNotifier(
            url, http, host=HOST, rate=RateLimit(burst=3, interval_s=0.3), retry=FAST_RETRY
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(notifier.run)
            for block in range(20):
                notifier.notify(ProofFailed(block, "exit 1"))
            await wait_until(lambda: len(state.messages) == 4)
            await trio.sleep(0.5)  # nothing more comes
            nursery.cancel_scope.cancel()
    headlines = state.headlines()
    assert headlines[:3] == [f":warning: Block {b} proof generation failed." for b in range(3)]
    assert headlines[3] == ":mute: 17 more notifications suppressed (rate limit)"
    assert state.fields(3)["proof_failed"] == "17"
    assert state.fields(3)["Last"] == ":warning: Block 19 proof generation failed."
    assert len(state.messages) == 4


async def test_full_queue_drops_new_events_without_blocking() -> None:
    async with httpx.AsyncClient() as http:
        notifier = SlackNotifier("http://127.0.0.1:9/x", http, host=HOST, queue_size=2)
        for block in range(5):
            notifier.notify(ProofFailed(block, "x"))
    assert notifier.dropped == 3


def test_null_notifier_accepts_every_event() -> None:
    send_every_kind(NullNotifier())


async def test_make_notifier_is_null_without_a_webhook() -> None:
    async with httpx.AsyncClient() as http:
        assert isinstance(make_notifier(None, http, host=HOST), NullNotifier)
        assert isinstance(make_notifier("", http, host=HOST), NullNotifier)
        assert isinstance(make_notifier("http://127.0.0.1:9/x", http, host=HOST), SlackNotifier)

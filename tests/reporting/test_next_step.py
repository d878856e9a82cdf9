"""What the reporter does with a row after one attempt (pure ``next_step``)."""

from __future__ import annotations

import random

import pytest

from ethproofs_daemon.outbox import OutboxRow, ReportKind
from ethproofs_daemon.reporting.ethproofs import Rejected, Retryable
from ethproofs_daemon.reporting.reporter import (
    BackoffPolicy,
    Deferred,
    Delivered,
    Failed,
    next_step,
)

NOW = 1_000.0
POLICY = BackoffPolicy(base_s=2.0, factor=2.0, cap_s=30.0, jitter=0.0, max_retry_after_s=120.0)


def row(attempts: int = 0, kind: ReportKind = ReportKind.QUEUED) -> OutboxRow:
    return OutboxRow(
        id=1,
        job_id=1,
        block_number=100,
        kind=kind,
        payload_json="{}",
        attempts=attempts,
        next_attempt_at=0.0,
        created_at=0.0,
    )


@pytest.mark.parametrize("status", [200, 409])
def test_200_and_409_are_delivered(status: int) -> None:
    assert next_step(row(), status, NOW, POLICY, random.Random(0)) == Delivered(status)


@pytest.mark.parametrize(("attempts", "wait"), [(0, 2.0), (1, 4.0), (2, 8.0), (3, 16.0), (9, 30.0)])
def test_5xx_backs_off_exponentially_to_the_cap(attempts: int, wait: float) -> None:
    err = Retryable(ReportKind.QUEUED, "HTTP 500", status=500)
    step = next_step(row(attempts), err, NOW, POLICY, random.Random(0))
    assert isinstance(step, Deferred)
    assert step.until == pytest.approx(NOW + wait)
    assert not step.pause_all


def test_jitter_adds_at_most_its_fraction() -> None:
    policy = BackoffPolicy(base_s=10.0, jitter=0.5, cap_s=100.0)
    err = Retryable(ReportKind.QUEUED, "transport")
    rng = random.Random(1)
    waits = [next_step(row(), err, NOW, policy, rng).until - NOW for _ in range(50)]  # type: ignore[union-attr]
    assert all(10.0 <= w <= 15.0 for w in waits)
    assert len(set(waits)) > 1


def test_429_waits_exactly_retry_after_and_pauses_everything() -> None:
    err = Retryable(ReportKind.PROVED, "HTTP 429", status=429, retry_after_s=17.0)
    step = next_step(row(3), err, NOW, POLICY, random.Random(0))
    assert step == Deferred(NOW + 17.0, str(err), pause_all=True, alert=False)


def test_429_without_retry_after_uses_backoff_and_huge_retry_after_is_capped() -> None:
    step = next_step(
        row(0), Retryable(ReportKind.QUEUED, "429", status=429), NOW, POLICY, random.Random(0)
    )
    assert isinstance(step, Deferred) and step.until == NOW + 2.0
    step = next_step(
        row(0),
        Retryable(ReportKind.QUEUED, "429", status=429, retry_after_s=1e9),
        NOW,
        POLICY,
        random.Random(0),
    )
    assert isinstance(step, Deferred) and step.until == NOW + 120.0


def test_5xx_retry_after_lengthens_but_never_shortens_the_backoff() -> None:
    long = Retryable(ReportKind.QUEUED, "503", status=503, retry_after_s=25.0)
    short = Retryable(ReportKind.QUEUED, "503", status=503, retry_after_s=0.5)
    assert next_step(row(0), long, NOW, POLICY, random.Random(0)).until == NOW + 25.0  # type: ignore[union-attr]
    assert next_step(row(0), short, NOW, POLICY, random.Random(0)).until == NOW + 2.0  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [400, 401, 404])
def test_rejections_fail_the_row(status: int) -> None:
    err = Rejected(ReportKind.PROVED, status, "nope")
    step = next_step(row(), err, NOW, POLICY, random.Random(0))
    assert isinstance(step, Failed)
    assert f"HTTP {status}" in step.error and "nope" in step.error


def test_alert_fires_once_when_attempts_reach_the_threshold() -> None:
    err = Retryable(ReportKind.QUEUED, "HTTP 502", status=502)
    alerts = [
        next_step(row(a), err, NOW, POLICY, random.Random(0), alert_after_attempts=3).alert  # type: ignore[union-attr]
        for a in range(6)
    ]
    assert alerts == [False, False, True, False, False, False]

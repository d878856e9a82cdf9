"""Classification of EthProofs replies and Retry-After parsing (ethproofs-api.md §1.3, §1.5)."""

from __future__ import annotations

import email.utils

import pytest

from ethproofs_daemon.reporting.ethproofs import classify_response
from ethproofs_daemon.reporting.replies import OutcomeKind, classify_reply, parse_retry_after
from ethproofs_daemon.reporting.slack import SLACK_RULES

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, OutcomeKind.DELIVERED),
        (409, OutcomeKind.ALREADY_PROVED),
        (429, OutcomeKind.RETRY),
        (408, OutcomeKind.RETRY),
        (500, OutcomeKind.RETRY),
        (502, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
        (400, OutcomeKind.REJECTED),
        (401, OutcomeKind.REJECTED),
        (403, OutcomeKind.REJECTED),
        (404, OutcomeKind.REJECTED),
        (413, OutcomeKind.REJECTED),
        (302, OutcomeKind.REJECTED),
    ],
)
def test_status_classes(status: int, kind: OutcomeKind) -> None:
    assert classify_response(status, {}, "x", now=NOW).kind is kind


def test_429_carries_retry_after_seconds_case_insensitively() -> None:
    out = classify_response(429, {"retry-after": "7"}, "{}", now=NOW)
    assert out.retry_after_s == 7.0
    out = classify_response(429, {"Retry-After": "3"}, "{}", now=NOW)
    assert out.retry_after_s == 3.0


def test_retry_after_http_date_is_relative_to_now() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(date, NOW) == pytest.approx(30.0)
    out = classify_response(503, {"Retry-After": date}, "", now=NOW)
    assert out.retry_after_s == pytest.approx(30.0)


@pytest.mark.parametrize("value", [None, "", "soon", "Mon, 99 Foo 2026"])
def test_unparseable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_in_the_past_or_negative_is_zero() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 100, usegmt=True), NOW) == 0.0
    assert parse_retry_after("-5", NOW) == 0.0


def test_body_excerpt_is_bounded() -> None:
    out = classify_response(400, {}, "Invalid request: " + "x" * 5000, now=NOW)
    assert out.excerpt.startswith("Invalid request:")
    assert len(out.excerpt) == 500


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, OutcomeKind.DELIVERED),
        (429, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
        (408, OutcomeKind.REJECTED),
        (409, OutcomeKind.REJECTED),
        (404, OutcomeKind.REJECTED),
    ],
)
def test_slack_webhook_status_classes(status: int, kind: OutcomeKind) -> None:
    assert classify_reply(status, {}, "x", SLACK_RULES, now=NOW).kind is kind

"""What an HTTP reply means to a sender that retries: done, retry later, or rejected (pure).

Shared by the EthProofs client (``ethproofs.py``) and the Slack sender (``slack.py``); each
passes its own ``StatusRules``. ``Retry-After`` (RFC 9110 §10.2.3) is read here and only here.
"""

from __future__ import annotations

import email.utils
import enum
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass


class OutcomeKind(enum.StrEnum):
    """How one HTTP reply is classified."""

    DELIVERED = "delivered"
    #: The server already has it (EthProofs 409: the block is proved); counts as delivered.
    ALREADY_PROVED = "already_proved"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The classification of one reply: ``kind``, the HTTP ``status``, ``retry_after_s`` (seconds
    from now, from ``Retry-After``; None when absent or unparseable) and a body ``excerpt``."""

    kind: OutcomeKind
    status: int
    retry_after_s: float | None = None
    excerpt: str = ""


@dataclass(frozen=True, slots=True)
class StatusRules:
    """One API's statuses: ``delivered``, ``already_done`` (also success), ``retryable`` (a
    ``Retry-After`` is read on these); every other status is rejected. ``excerpt_chars`` is the
    longest body excerpt kept (characters)."""

    delivered: Collection[int]
    already_done: Collection[int]
    retryable: Collection[int]
    excerpt_chars: int


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

    Args:
        value: the header value, or None when absent.
        now: Unix seconds, for the HTTP-date form.

    Returns:
        Seconds from ``now`` (never negative), or None when absent or unparseable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        return None
    return max(0.0, when.timestamp() - now)


def classify_reply(
    status: int,
    headers: Mapping[str, str],
    body: str,
    rules: StatusRules,
    *,
    now: float | None = None,
) -> Outcome:
    """Classify one reply by ``rules``.

    Args:
        status: the HTTP status.
        headers: looked up case-insensitively for ``Retry-After`` (read on retryable statuses).
        body: the reply body; ``rules.excerpt_chars`` characters of it are kept.
        rules: the API's statuses.
        now: Unix seconds (default the wall clock), to resolve an HTTP-date ``Retry-After``.
    """
    excerpt = body[: rules.excerpt_chars]
    if status in rules.delivered:
        return Outcome(OutcomeKind.DELIVERED, status, excerpt=excerpt)
    if status in rules.already_done:
        return Outcome(OutcomeKind.ALREADY_PROVED, status, excerpt=excerpt)
    if status in rules.retryable:
        retry_after = _header(headers, "retry-after")
        seconds = parse_retry_after(retry_after, time.time() if now is None else now)
        return Outcome(OutcomeKind.RETRY, status, retry_after_s=seconds, excerpt=excerpt)
    return Outcome(OutcomeKind.REJECTED, status, excerpt=excerpt)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None

"""A token bucket that coalesces what it refuses (pure: time is passed in, nothing sleeps).

Used by the Slack notifier so that an outage (every block failing, the RPC flapping) gives a few
messages and then one "N more suppressed" summary per refill interval instead of a flood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``burst`` messages at once, then one more every ``interval_s`` seconds."""

    burst: int = 5
    interval_s: float = 12.0

    def __post_init__(self) -> None:
        if self.burst < 1 or self.interval_s <= 0:
            raise ValueError("RateLimit needs burst >= 1 and interval_s > 0")


@dataclass(slots=True)
class CoalescingBucket(Generic[T]):
    """Token bucket over a monotonic clock (seconds) plus the items it had to hold back.

    ``offer(item, now)`` returns True when the item may go now (a token was taken) and otherwise
    keeps it in ``suppressed``. ``take_suppressed(now)`` returns and clears the held items when a
    token is available for their summary, else an empty list.
    """

    limit: RateLimit
    tokens: float = field(init=False)
    updated_at: float | None = None
    suppressed: list[T] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tokens = float(self.limit.burst)

    def _refill(self, now: float) -> None:
        if self.updated_at is not None:
            gained = max(0.0, now - self.updated_at) / self.limit.interval_s
            self.tokens = min(float(self.limit.burst), self.tokens + gained)
        self.updated_at = now

    def _take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def offer(self, item: T, now: float) -> bool:
        """True: send ``item`` now. False: it was added to ``suppressed``.

        While items are held back a new item is held back too, so the summary goes out first
        and order is kept.
        """
        if not self.suppressed and self._take(now):
            return True
        self.suppressed.append(item)
        return False

    def take_suppressed(self, now: float) -> list[T]:
        """The held-back items (oldest first) if a token is free for their summary; else []."""
        if not self.suppressed or not self._take(now):
            return []
        items, self.suppressed = self.suppressed, []
        return items

    def seconds_until_token(self, now: float) -> float:
        """Seconds from ``now`` until one token is available (0.0 when one is)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) * self.limit.interval_s

"""Exponential backoff with jitter: one value type for every retry wait in the daemon (pure).

Used by job retries (``jobs.RetryPolicy``), EthProofs report deliveries
(``reporting.reporter.BackoffPolicy``), supervisor restarts (``supervisor.RestartBackoff``) and
Slack webhook retries (``reporting.slack.SlackRetry``); each keeps its own numbers.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass
from typing import Final

#: Largest exponent used: beyond it every factor > 1 has long reached any cap, and ``factor ** n``
#: would overflow a float.
MAX_EXPONENT: Final = 200


class Spread(enum.StrEnum):
    """How ``jitter`` (a fraction) moves a delay: ``up`` adds up to ``jitter`` of it (never
    shorter), ``both`` moves it by up to ``jitter`` either way (never below 0)."""

    UP = "up"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait before a retry, in seconds: ``base_s * factor ** (attempt - 1)`` capped at
    ``cap_s``, then jittered by up to ``jitter`` (a fraction; 0: exact) as ``spread`` says."""

    base_s: float
    factor: float = 2.0
    cap_s: float = math.inf
    jitter: float = 0.0
    spread: Spread = Spread.UP

    def raw_s(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based; < 1 counts as 1), before
        jitter."""
        exponent = min(max(0, attempt - 1), MAX_EXPONENT)
        return min(self.cap_s, self.base_s * self.factor**exponent)

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """``raw_s(attempt)`` jittered with ``rng`` (default: the ``random`` module; not drawn
        from when ``jitter`` is 0)."""
        raw = self.raw_s(attempt)
        draw = rng.random if rng is not None else random.random
        r = 0.0 if self.jitter == 0 else draw()
        if self.spread is Spread.UP:
            return raw * (1.0 + self.jitter * r)
        return max(0.0, raw * (1.0 + self.jitter * (2.0 * r - 1.0)))

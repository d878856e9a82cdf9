"""When to say "ETH RPC down" and "ETH RPC recovered" (pure: the caller passes the time).

The original client's rule (lambdaclass/ethrex-ethproofs@c667f9b, branch
``slack_notifications``): the RPC is *down* once
calls have failed continuously for 60 s; *recovered* is announced at the first success after a
*down* was announced, with the downtime since the first failure. A blip shorter than the threshold
says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Continuous failure before "down" is announced (seconds).
DOWN_THRESHOLD_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class RpcDown:
    """Announce: failing since ``down_since`` (Unix s), last error text ``last_error``."""

    url: str
    down_since: float
    last_error: str


@dataclass(frozen=True, slots=True)
class RpcRecovered:
    """Announce: back at ``recovered_at`` after failing since ``down_since`` (Unix s)."""

    url: str
    down_since: float
    recovered_at: float

    @property
    def downtime_s(self) -> float:
        """Seconds from the first failure to the first success."""
        return self.recovered_at - self.down_since


class RpcHealthTracker:
    """Feed it every RPC call's result; it returns an alert at most once per outage edge.

    ``url`` is the node's URL as configured (redacted when shown: ``events.redact_url``);
    ``threshold_s`` the continuous-failure time before "down" (default 60 s).
    """

    def __init__(self, url: str, threshold_s: float = DOWN_THRESHOLD_S) -> None:
        self.url = url
        self.threshold_s = threshold_s
        self.failing_since: float | None = None
        self.down_announced = False

    def failure(self, now: float, error: str) -> RpcDown | None:
        """A call failed at ``now`` (Unix s). Returns ``RpcDown`` the first time the failures have
        lasted ``threshold_s``; None otherwise."""
        if self.failing_since is None:
            self.failing_since = now
        if not self.down_announced and now - self.failing_since >= self.threshold_s:
            self.down_announced = True
            return RpcDown(self.url, self.failing_since, error)
        return None

    def success(self, now: float) -> RpcRecovered | None:
        """A call succeeded at ``now``. Returns ``RpcRecovered`` when a down was announced."""
        since, announced = self.failing_since, self.down_announced
        self.failing_since = None
        self.down_announced = False
        if announced and since is not None:
            return RpcRecovered(self.url, since, now)
        return None

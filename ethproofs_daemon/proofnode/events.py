"""SSE events of the Proof Node API and the hub that fans them out to subscribers.

Events (spec ``eth-act/zkboost@9be2085d:openapi.json``, ``components.schemas.ProofCompleteEvent``
/ ``ProofFailureEvent``)::

    proof_complete  {"new_payload_request_root": "0x…", "proof_type": "ethrex-zisk"}
    proof_failure   {"new_payload_request_root": "0x…", "proof_type": "…",
                     "reason": "witness_timeout|proving_timeout|proving_error|internal_error",
                     "error": "…"}

``EventHub`` keeps one bounded trio memory channel per subscriber. ``publish`` never blocks: a
subscriber whose buffer is full loses that event (counted in ``dropped``), like a lagging tokio
broadcast receiver in zkboost, whose SSE handler drops the receiver's lag errors
(``eth-act/zkboost@9be2085d:crates/server/src/http/v1/get_execution_proof_requests.rs``). It also
remembers the last ``failure_entries`` failures so that a subscriber for a root hears of a
failure that happened before it subscribed (zkboost replays only cached completions). Nothing
here does I/O.
"""

from __future__ import annotations

import enum
import json
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import trio

from ethproofs_daemon.jobs import FailureReason


class EventName(enum.StrEnum):
    """The SSE ``event:`` field."""

    PROOF_COMPLETE = "proof_complete"
    PROOF_FAILURE = "proof_failure"


#: The failure reasons the spec allows (``components.schemas.FailureReason``).
API_FAILURE_REASONS: Final = frozenset(
    {
        FailureReason.WITNESS_TIMEOUT,
        FailureReason.PROVING_TIMEOUT,
        FailureReason.PROVING_ERROR,
        FailureReason.INTERNAL_ERROR,
    }
)


def api_failure_reason(reason: FailureReason) -> FailureReason:
    """Map any job failure reason onto the four the spec allows.

    The four are returned unchanged; ``witness_unavailable`` and ``block_unavailable`` →
    ``witness_timeout`` (no witness, or no block, within the budget); ``input_error`` and
    ``proof_data_unreadable`` → ``proving_error``; any other → ``internal_error``.
    """
    if reason in API_FAILURE_REASONS:
        return reason
    if reason in (FailureReason.WITNESS_UNAVAILABLE, FailureReason.BLOCK_UNAVAILABLE):
        return FailureReason.WITNESS_TIMEOUT
    if reason in (FailureReason.INPUT_ERROR, FailureReason.PROOF_DATA_UNREADABLE):
        return FailureReason.PROVING_ERROR
    return FailureReason.INTERNAL_ERROR


@dataclass(frozen=True, slots=True)
class ProofEvent:
    """One SSE event. ``root`` is ``0x`` + 64 hex; ``reason``/``error`` only for failures."""

    name: EventName
    root: str
    proof_type: str
    reason: FailureReason | None = None
    error: str | None = None

    @classmethod
    def complete(cls, root: str, proof_type: str) -> ProofEvent:
        """A ``proof_complete`` event."""
        return cls(EventName.PROOF_COMPLETE, root, proof_type)

    @classmethod
    def failure(cls, root: str, proof_type: str, reason: FailureReason, error: str) -> ProofEvent:
        """A ``proof_failure`` event (``reason`` mapped with ``api_failure_reason``)."""
        return cls(EventName.PROOF_FAILURE, root, proof_type, api_failure_reason(reason), error)

    def data_json(self) -> str:
        """The ``data:`` payload: compact JSON as the spec's event schemas."""
        doc: dict[str, str] = {"new_payload_request_root": self.root, "proof_type": self.proof_type}
        if self.name is EventName.PROOF_FAILURE:
            doc["reason"] = str(self.reason)
            doc["error"] = self.error or ""
        return json.dumps(doc, separators=(",", ":"))


class Subscription:
    """A subscriber's view: ``receive`` channel of live events, optionally for one root."""

    def __init__(self, root: str | None, receive: trio.MemoryReceiveChannel[ProofEvent]) -> None:
        self.root = root
        self.receive = receive

    def wants(self, event: ProofEvent) -> bool:
        """True when this subscriber should see ``event`` (no root: every event)."""
        return self.root is None or self.root == event.root


class EventHub:
    """Fan-out of ``ProofEvent``s to subscribers, and a bounded memory of recent failures.

    ``buffer`` events are queued per subscriber; ``failure_entries`` failures are remembered
    (the oldest forgotten first). ``dropped`` and ``published`` count events.
    """

    def __init__(self, *, buffer: int = 128, failure_entries: int = 1024) -> None:
        self._buffer = buffer
        self._failure_entries = failure_entries
        self._subscribers: dict[Subscription, trio.MemorySendChannel[ProofEvent]] = {}
        self._failures: OrderedDict[tuple[str, str], ProofEvent] = OrderedDict()
        self.dropped = 0
        self.published = 0

    @property
    def subscriber_count(self) -> int:
        """SSE clients currently subscribed."""
        return len(self._subscribers)

    @contextmanager
    def subscribe(self, root: str | None) -> Iterator[Subscription]:
        """Register a subscriber for the ``with`` block; removed on exit, whatever the cause."""
        send, receive = trio.open_memory_channel[ProofEvent](self._buffer)
        sub = Subscription(root, receive)
        self._subscribers[sub] = send
        try:
            yield sub
        finally:
            self._subscribers.pop(sub, None)
            send.close()
            receive.close()

    def publish(self, event: ProofEvent) -> None:
        """Deliver ``event`` to every interested subscriber without blocking; remember failures
        (a completion clears the failure remembered for the same key)."""
        key = (event.root, event.proof_type)
        if event.name is EventName.PROOF_FAILURE:
            self._failures[key] = event
            self._failures.move_to_end(key)
            while len(self._failures) > self._failure_entries:
                self._failures.popitem(last=False)
        else:
            self._failures.pop(key, None)
        self.published += 1
        for sub, send in list(self._subscribers.items()):
            if not sub.wants(event):
                continue
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                self.dropped += 1
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self._subscribers.pop(sub, None)

    def forget_failure(self, root: str, proof_type: str) -> None:
        """Drop a remembered failure (the request is being proved again)."""
        self._failures.pop((root, proof_type), None)

    def failures_for(self, root: str) -> list[ProofEvent]:
        """Remembered failures for ``root``, oldest first (for SSE catch-up)."""
        return [e for (r, _), e in self._failures.items() if r == root]

    def close_all(self) -> None:
        """End every subscriber's stream (their receive loops see end of channel)."""
        for send in self._subscribers.values():
            send.close()
        self._subscribers.clear()

"""The prover's queue of external requests (the Proof Node API) waiting for the shared GPU.

Highest priority first, then first come first served. The prover actor compares the head of this
queue with its next ``queued`` job (``ProverActor._pick``): EthProofs jobs win ties.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from ethproofs_daemon.prover.backend import ProofResult, ProveRequest, ProverFailed


@dataclass(order=True)
class ExternalRequest:
    """One request in line; ``done`` is set once ``result`` or ``error`` is filled in."""

    sort_key: tuple[int, int]
    block_number: int = field(compare=False)
    request: ProveRequest = field(compare=False)
    done: trio.Event = field(compare=False, default_factory=trio.Event)
    result: ProofResult | None = field(compare=False, default=None)
    error: ProverFailed | None = field(compare=False, default=None)


class ExternalQueue:
    """Requests waiting for the GPU. ``on_push()`` is called after each new request (the prover
    wakes up)."""

    def __init__(self, on_push: Callable[[], None]) -> None:
        self._heap: list[ExternalRequest] = []
        self._seq = itertools.count()
        self._on_push = on_push

    def __len__(self) -> int:
        return len(self._heap)

    def top_priority(self) -> int | None:
        """The priority of the request that goes next, or None when the queue is empty."""
        return -self._heap[0].sort_key[0] if self._heap else None

    def pop(self) -> ExternalRequest:
        """Take the request that goes next (the queue must not be empty)."""
        return heapq.heappop(self._heap)

    async def submit(self, request: ProveRequest, *, priority: int) -> ProofResult:
        """Queue ``request`` and wait until the prover has run it (higher ``priority`` first).
        A caller cancelled while waiting leaves the queue.

        Raises:
            ProverFailed: the run failed (reason set).
        """
        item = ExternalRequest((-priority, next(self._seq)), request.block_number, request)
        heapq.heappush(self._heap, item)
        self._on_push()
        try:
            await item.done.wait()
        finally:
            if not item.done.is_set() and item in self._heap:
                self._heap.remove(item)
                heapq.heapify(self._heap)
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

"""The contract between the input generator and what prepares one block's input.

``InputSource.prepare(n)`` returns a ``PreparedInput`` or raises ``InputPreparationFailed`` (the
block's fault: counted as a failed attempt, with a ``FailureReason``) or ``NodeUnavailable`` (the
node's fault: no attempt counted, the job waits while later jobs go ahead); ``BlockNotServed``,
a ``NodeUnavailable``, says the node answered but has not got the block: the input generator
lets it wait while the block is above the head and fails it ``block_unavailable`` when the node
still does not serve it ``WITNESS_TIMEOUT_SECONDS`` after the head passed it.
``node/input_source.py`` implements it over the node's JSON-RPC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ethproofs_daemon.jobs import FailureReason


@dataclass(frozen=True, slots=True)
class PreparedInput:
    """A guest input ready to prove: ``data`` (bytes, framed per the guest profile), and facts
    about the block kept for notifications (gas used, transaction count)."""

    data: bytes
    block_hash: str
    gas_used: int
    tx_count: int


class InputPreparationFailed(Exception):
    """The input of a block could not be prepared; ``reason`` decides what happens next.

    ``step`` names where it failed (``block``, ``witness``, ``verify``, ``build``).
    """

    def __init__(self, reason: FailureReason, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.reason = reason
        self.step = step
        self.message = message


class NodeUnavailable(Exception):
    """The node did not answer (transport error, timeout): not the block's fault, no attempt is
    counted; the job goes back to ``detected`` and waits for the node."""


class BlockNotServed(NodeUnavailable):
    """The node answered ``null`` for the block: not synced that far, or pruned."""

    def __init__(self, block_number: int) -> None:
        super().__init__(f"the node does not serve block {block_number}")
        self.block_number = block_number


class InputSource(Protocol):
    """Prepares the input of one block (``node/input_source.py``)."""

    @property
    def missing_block_timeout_s(self) -> float:
        """Seconds a block at or below the node's head may go unserved (``BlockNotServed``)
        before its job fails ``block_unavailable`` (the daemon's: ``WITNESS_TIMEOUT_SECONDS``)."""
        ...

    async def prepare(self, block_number: int) -> PreparedInput:
        """The guest input of ``block_number``.

        Raises:
            InputPreparationFailed: the block's fault (counted as a failed attempt).
            NodeUnavailable: the node's fault (no attempt counted; the job waits);
                ``BlockNotServed`` when the node answers but has not got the block.
        """
        ...

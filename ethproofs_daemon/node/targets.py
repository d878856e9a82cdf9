"""Target selection (pure): which blocks become jobs as the head advances.

A target is a block whose number is a multiple of ``BLOCK_INTERVAL``. The follower keeps one
cursor, ``next_target``: the smallest target not yet turned into a job. Every new head adds the
targets from the cursor up to the head, so targets passed while the node was unreachable are
caught up, within a look-back window (``LOOKBACK_BLOCKS``) behind the head. Targets older than the
window are reported as skipped (logged, counted, shown in ``/health``), never dropped silently.

Two guards stand before selection. ``check_head``: a head that goes backwards or jumps more than
``LOOKBACK_BLOCKS`` (at least ``MIN_HEAD_JUMP``) beyond the last trusted head in one poll (a node
resyncing, a load balancer flipping between nodes, a bogus ``0xde0b6b3a7640000``) is not trusted
until the next poll confirms it, so one bad answer can neither move the cursor nor skip targets.
``confirmed_head``: only blocks ``CONFIRMATIONS`` deep are selected, so a shallow reorg is over
before a job exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.jobs import targets_between


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome of one head update.

    ``targets``: blocks to enqueue, ascending. ``skipped_first`` and ``skipped_count``: the
    oldest of the targets older than the look-back window (None when there are none) and how many
    they are (possibly many, so they are not listed). ``next_target``: the new cursor.
    """

    targets: list[int]
    skipped_first: int | None
    skipped_count: int
    next_target: int


class HeadDoubt(enum.StrEnum):
    """Why a head is not trusted yet."""

    FIRST = "first"
    BACKWARDS = "backwards"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class HeadCheck:
    """The outcome of ``check_head``.

    ``trusted``: the head to select targets with, None when this poll's head is not trusted.
    ``last_trusted`` and ``candidate``: the state to pass to the next ``check_head`` (the latest
    trusted head; the untrusted head waiting for the next poll to confirm it). ``doubt``: why the
    head is not trusted (None when it is).
    """

    trusted: int | None
    last_trusted: int | None
    candidate: int | None
    doubt: HeadDoubt | None = None


#: The smallest jump a head may make in one poll and still be trusted at once (blocks), whatever
#: ``LOOKBACK_BLOCKS`` is (it may be 0): a node catching up a few blocks per poll is normal.
MIN_HEAD_JUMP: Final = 64


def head_jump_limit(lookback: int) -> int:
    """How far (blocks) a head may move beyond the last trusted one in one poll and be trusted
    at once: ``LOOKBACK_BLOCKS``, at least ``MIN_HEAD_JUMP``."""
    return max(lookback, MIN_HEAD_JUMP)


def _follows(reference: int, head: int, max_jump: int) -> bool:
    return reference <= head <= reference + max_jump


def check_head(last_trusted: int | None, candidate: int | None, head: int,
               max_jump: int) -> HeadCheck:
    """Whether a polled ``head`` is trusted (see the module docstring).

    A head is trusted when it follows the last trusted head: not below it and at most
    ``max_jump`` blocks beyond it. Otherwise (and for the first head after a start, when there
    is no last trusted head) it becomes the ``candidate``, trusted when the next poll's head
    follows it in the same way (the same head again, or a few blocks on), so a node that really
    rewound or really was far ahead is believed one poll later.

    Args:
        last_trusted: the latest trusted head (None: none since the start).
        candidate: the head of the previous poll when it was not trusted, else None.
        head: this poll's head.
        max_jump: in blocks (``LOOKBACK_BLOCKS``).
    """
    if last_trusted is not None and _follows(last_trusted, head, max_jump):
        return HeadCheck(head, head, None)
    if candidate is not None and _follows(candidate, head, max_jump):
        return HeadCheck(head, head, None)
    if last_trusted is None:
        doubt = HeadDoubt.FIRST
    elif head < last_trusted:
        doubt = HeadDoubt.BACKWARDS
    else:
        doubt = HeadDoubt.JUMP
    return HeadCheck(None, last_trusted, head, doubt)


def confirmed_head(head: int, confirmations: int) -> int:
    """The newest block with ``confirmations`` blocks on top of it: targets are selected up to
    here (``CONFIRMATIONS``, 0: the head itself)."""
    return head - confirmations


def first_target_at_or_after(block_number: int, interval: int) -> int:
    """The smallest multiple of ``interval`` that is ``>= block_number``."""
    return block_number + (-block_number) % interval


def select_targets(next_target: int, head: int, interval: int, lookback: int) -> Selection:
    """Targets to enqueue for a new ``head`` given the cursor ``next_target``.

    A head below the cursor (a restarted node, a reorg to a shorter chain) selects nothing and
    keeps the cursor.

    Args:
        next_target: the cursor, a multiple of ``interval``.
        head: the node's head block number.
        interval: blocks between targets (``BLOCK_INTERVAL``).
        lookback: in blocks; a target older than ``head - lookback`` is skipped.
    """
    oldest_allowed = max(0, head - lookback)
    skipped_first: int | None = None
    skipped_count = 0
    start = next_target
    if next_target < oldest_allowed:
        first_kept = first_target_at_or_after(oldest_allowed, interval)
        skipped_count = (first_kept - next_target) // interval
        skipped_first = next_target if skipped_count else None
        start = first_kept
    targets = targets_between(start, head, interval)
    new_cursor = targets[-1] + interval if targets else max(start, next_target)
    return Selection(targets, skipped_first, skipped_count, new_cursor)

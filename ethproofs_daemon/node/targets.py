"""Target selection (pure): which blocks become jobs as the head advances.

A target is a block whose number is a multiple of ``BLOCK_INTERVAL``. The follower keeps one
cursor, ``next_target``: the smallest target not yet turned into a job. Every new head adds the
targets from the cursor up to the head, so targets passed while the node was unreachable are
caught up, within a look-back window (``LOOKBACK_BLOCKS``) behind the head. Targets older than the
window are reported as skipped (logged, counted, shown in ``/health``), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

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

"""Target selection: every multiple of the interval, missed ones caught up within the window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ethproofs_daemon.node.targets import first_target_at_or_after, select_targets


def test_targets_up_to_head_are_selected_and_cursor_advances() -> None:
    sel = select_targets(next_target=100, head=350, interval=100, lookback=1000)
    assert sel.targets == [100, 200, 300]
    assert sel.next_target == 400
    assert sel.skipped_count == 0


def test_head_below_next_target_selects_nothing() -> None:
    sel = select_targets(next_target=400, head=399, interval=100, lookback=1000)
    assert sel.targets == [] and sel.next_target == 400


def test_target_missed_during_outage_is_caught_up() -> None:
    # the node was unreachable from head 150 to head 720: targets 200..700 all come back
    sel = select_targets(next_target=200, head=720, interval=100, lookback=1000)
    assert sel.targets == [200, 300, 400, 500, 600, 700]


def test_targets_beyond_lookback_are_reported_as_skipped() -> None:
    sel = select_targets(next_target=100, head=5050, interval=100, lookback=1000)
    assert sel.targets[0] == 4100 and sel.targets[-1] == 5000
    assert sel.skipped_first == 100 and sel.skipped_count == 40


def test_first_target() -> None:
    assert first_target_at_or_after(0, 100) == 0
    assert first_target_at_or_after(1, 100) == 100
    assert first_target_at_or_after(100, 100) == 100


@given(
    start=st.integers(0, 10_000),
    heads=st.lists(st.integers(0, 20_000), min_size=1, max_size=20),
    interval=st.integers(1, 300),
)
def test_no_target_is_selected_twice_or_lost(start: int, heads: list[int], interval: int) -> None:
    cursor = first_target_at_or_after(start, interval)
    seen: list[int] = []
    skipped = 0
    top = -1
    for head in heads:
        sel = select_targets(cursor, head, interval, lookback=10**9)
        seen += sel.targets
        skipped += sel.skipped_count
        cursor = sel.next_target
        top = max(top, head)
    assert skipped == 0
    assert seen == sorted(set(seen))
    expected = [b for b in range(first_target_at_or_after(start, interval), top + 1, interval)]
    assert seen == expected

"""Target selection: every multiple of the interval, missed ones caught up within the window;
which polled heads are trusted; confirmations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ethproofs_daemon.node.targets import (
    MIN_HEAD_JUMP,
    HeadCheck,
    HeadDoubt,
    check_head,
    confirmed_head,
    first_target_at_or_after,
    head_jump_limit,
    select_targets,
)


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


# -- which heads are trusted ------------------------------------------------------------------

BOGUS = 10**18


def test_a_head_following_the_last_trusted_one_is_trusted() -> None:
    assert check_head(1000, None, 1000, 100) == HeadCheck(1000, 1000, None)
    assert check_head(1000, None, 1100, 100) == HeadCheck(1100, 1100, None)


def test_an_absurd_jump_is_not_trusted_and_the_real_head_next_is() -> None:
    bogus = check_head(1000, None, BOGUS, 100)
    assert bogus == HeadCheck(None, 1000, BOGUS, HeadDoubt.JUMP)
    real = check_head(bogus.last_trusted, bogus.candidate, 1003, 100)
    assert real == HeadCheck(1003, 1003, None)


def test_a_jump_seen_on_two_consecutive_polls_is_trusted() -> None:
    first = check_head(1000, None, 5000, 100)
    assert first.trusted is None and first.candidate == 5000
    assert check_head(first.last_trusted, first.candidate, 5000, 100).trusted == 5000
    assert check_head(first.last_trusted, first.candidate, 5002, 100).trusted == 5002


def test_a_head_going_backwards_waits_for_the_next_poll() -> None:
    back = check_head(1000, None, 990, 100)
    assert back == HeadCheck(None, 1000, 990, HeadDoubt.BACKWARDS)
    assert check_head(back.last_trusted, back.candidate, 991, 100).trusted == 991


def test_the_first_head_after_a_start_is_trusted_when_the_next_poll_confirms_it() -> None:
    first = check_head(None, None, BOGUS, 100)
    assert first == HeadCheck(None, None, BOGUS, HeadDoubt.FIRST)
    again = check_head(first.last_trusted, first.candidate, 1000, 100)
    assert again == HeadCheck(None, None, 1000, HeadDoubt.FIRST)
    assert check_head(again.last_trusted, again.candidate, 1001, 100).trusted == 1001


def test_bogus_heads_that_never_repeat_are_never_trusted() -> None:
    last, candidate = 1000, None
    for bogus in (BOGUS, 5, BOGUS // 2, 0, 2 * BOGUS):
        check = check_head(last, candidate, bogus, 100)
        assert check.trusted is None and check.last_trusted == 1000
        last, candidate = check.last_trusted, check.candidate  # type: ignore[assignment]


def test_the_jump_limit_is_the_lookback_with_a_floor() -> None:
    assert head_jump_limit(1000) == 1000
    assert head_jump_limit(0) == MIN_HEAD_JUMP


def test_confirmations_hold_targets_back_by_that_many_blocks() -> None:
    assert confirmed_head(1005, 0) == 1005
    assert select_targets(1000, confirmed_head(1005, 6), 100, 1000).targets == []
    assert select_targets(1000, confirmed_head(1006, 6), 100, 1000).targets == [1000]

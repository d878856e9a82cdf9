"""Token bucket with coalescing (pure, explicit time)."""

from __future__ import annotations

from ethproofs_daemon.reporting.ratelimit import CoalescingBucket, RateLimit


def test_burst_then_one_per_interval() -> None:
    bucket: CoalescingBucket[int] = CoalescingBucket(RateLimit(burst=3, interval_s=10.0))
    assert [bucket.offer(i, 0.0) for i in range(5)] == [True, True, True, False, False]
    assert bucket.suppressed == [3, 4]
    assert bucket.seconds_until_token(0.0) == 10.0
    assert bucket.take_suppressed(5.0) == []
    assert bucket.take_suppressed(10.0) == [3, 4]
    assert bucket.suppressed == []


def test_new_items_wait_behind_suppressed_ones() -> None:
    bucket: CoalescingBucket[str] = CoalescingBucket(RateLimit(burst=1, interval_s=1.0))
    assert bucket.offer("a", 0.0)
    assert not bucket.offer("b", 0.0)
    # a token is back, but "b" is held: "c" joins it so the summary goes first
    assert not bucket.offer("c", 5.0)
    assert bucket.take_suppressed(5.0) == ["b", "c"]


def test_tokens_refill_up_to_burst_only() -> None:
    bucket: CoalescingBucket[int] = CoalescingBucket(RateLimit(burst=2, interval_s=1.0))
    assert bucket.offer(0, 0.0)
    assert [bucket.offer(i, 1000.0) for i in range(3)] == [True, True, False]

from __future__ import annotations

import random

from ethproofs_daemon.backoff import Backoff, Spread


def test_delay_grows_by_factor_from_the_first_attempt_and_caps() -> None:
    b = Backoff(base_s=2.0, factor=3.0, cap_s=50.0)
    assert [b.delay_s(n) for n in (0, 1, 2, 3, 4)] == [2.0, 2.0, 6.0, 18.0, 50.0]


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert Backoff(base_s=1.0, factor=2.0, cap_s=60.0).delay_s(10_000) == 60.0


def test_upward_jitter_never_shortens_the_delay() -> None:
    b = Backoff(base_s=10.0, jitter=0.5)
    rng = random.Random(3)
    waits = [b.delay_s(1, rng) for _ in range(50)]
    assert all(10.0 <= w <= 15.0 for w in waits)


def test_two_sided_jitter_moves_the_delay_either_way() -> None:
    b = Backoff(base_s=10.0, jitter=0.2, spread=Spread.BOTH)
    rng = random.Random(3)
    waits = [b.delay_s(1, rng) for _ in range(200)]
    assert all(8.0 <= w <= 12.0 for w in waits)
    assert min(waits) < 10.0 < max(waits)

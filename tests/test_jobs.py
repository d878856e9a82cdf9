"""The job lifecycle's pure rules: transitions and the retry schedule."""

from __future__ import annotations

import pytest

from ethproofs_daemon.jobs import (
    FailureReason,
    JobState,
    RetryPolicy,
    TransitionError,
    check_transition,
    targets_between,
)


def test_retry_schedule_backs_off_until_the_budget_is_spent() -> None:
    policy = RetryPolicy(max_attempts=3, base_s=10, factor=2, cap_s=1000, jitter=0)
    reason = FailureReason.PROVING_ERROR
    assert policy.retry_at(1, reason, now=100.0) == 110.0
    assert policy.retry_at(2, reason, now=100.0) == 120.0
    assert policy.retry_at(3, reason, now=100.0) is None


def test_proved_is_final_and_skipping_states_is_refused() -> None:
    with pytest.raises(TransitionError):
        check_transition(JobState.PROVED, JobState.QUEUED)
    with pytest.raises(TransitionError):
        check_transition(JobState.DETECTED, JobState.PROVING)
    check_transition(JobState.FAILED, JobState.DETECTED)


def test_targets_between_is_inclusive() -> None:
    assert targets_between(100, 300, 100) == [100, 200, 300]
    assert targets_between(101, 199, 100) == []

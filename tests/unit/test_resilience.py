"""Backoff and the circuit breaker: pure, time passed in."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from streams.resilience import BreakerState, CircuitBreaker, backoff_delay


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_exponential_ceiling_and_the_cap(attempt: int, seed: int
                                                                   ) -> None:
    delay = backoff_delay(attempt, 0.5, 30.0, random.Random(seed))
    assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)


def test_backoff_is_jittered() -> None:
    rng = random.Random(1)
    assert len({backoff_delay(5, 0.5, 30.0, rng) for _ in range(20)}) > 10


def test_breaker_opens_after_consecutive_failures_and_waits() -> None:
    breaker = CircuitBreaker(failures=3, reset_after=10.0)
    for now in (0.0, 1.0):
        breaker.record_failure(now)
        assert breaker.allows(now)
    breaker.record_failure(2.0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allows(5.0)
    assert breaker.wait_time(5.0) == 7.0


def test_breaker_half_opens_then_closes_on_success_or_reopens_on_failure() -> None:
    breaker = CircuitBreaker(failures=1, reset_after=10.0)
    breaker.record_failure(0.0)
    assert breaker.allows(10.0)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_failure(10.0)
    assert not breaker.allows(15.0)
    assert breaker.wait_time(15.0) == 5.0
    assert breaker.allows(20.0)
    breaker.record_success()
    assert breaker.consecutive == 0
    assert breaker.wait_time(20.0) == 0.0 and breaker.allows(20.0)


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failures=3, reset_after=10.0)
    breaker.record_failure(0.0)
    breaker.record_failure(0.0)
    breaker.record_success()
    breaker.record_failure(0.0)
    assert breaker.state is BreakerState.CLOSED

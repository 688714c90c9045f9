"""Pure helpers for talking to outside systems: exponential backoff with jitter, and a
circuit breaker per endpoint. Time is passed in (``now``, monotonic seconds); nothing
here sleeps or reads a clock."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None
                  ) -> float:
    """Full jitter: a random delay in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return (rng or random).uniform(0, ceiling)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_after`` seconds lets
    one trial call through (half open); a success closes it, a failure reopens it."""

    failures: int
    reset_after: float
    state: BreakerState = BreakerState.CLOSED
    consecutive: int = 0
    opened_at: float = field(default=0.0)

    def allows(self, now: float) -> bool:
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.reset_after:
            self.state = BreakerState.HALF_OPEN
        return self.state is not BreakerState.OPEN

    def wait_time(self, now: float) -> float:
        """Seconds until a call may be tried again (0 when it may now)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.opened_at + self.reset_after - now)

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.consecutive = 0

    def record_failure(self, now: float) -> None:
        self.consecutive += 1
        if self.state is BreakerState.HALF_OPEN or self.consecutive >= self.failures:
            self.state = BreakerState.OPEN
            self.opened_at = now

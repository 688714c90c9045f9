"""Delivering one command to an outside system, the way every sink does it.

``deliver`` calls until the call succeeds, is rejected, or fails unexpectedly too often:
- the target is unavailable (a retryable error): back off with jitter and try again;
  the circuit breaker opens after repeated failures, and while it is open no call is
  made and the agent waits, so the backlog stays in Kafka (visible as consumer lag)
  instead of every command failing. The wait is bounded: once the target has been down
  for ``delivery_max_wait_seconds``, commands fail at once as retryable and go to the
  dead-letter topic for replay. Waiting without bound would hold Faust's rebalances
  (they wait for in-flight messages), stalling every agent of the worker;
- the target refuses the command: no retry, the caller reports it (CommandFailed, dlq);
- anything else (a bug, a malformed answer): retried up to ``max_attempts``, then
  reported as failed so that it goes to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from streams.metrics import Metrics
from streams.resilience import BreakerState, CircuitBreaker, backoff_delay
from streams.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery(Generic[T]):
    attempts: int
    result: T | None = None
    rejected: str | None = None
    failed: str | None = None
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.rejected is None and self.failed is None

    @property
    def error(self) -> str | None:
        return self.rejected or self.failed


@dataclass
class Deliverer:
    target: str
    settings: Settings
    metrics: Metrics
    retryable: tuple[type[Exception], ...]
    rejected: tuple[type[Exception], ...]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(self.settings.breaker_failures,
                                      self.settings.breaker_reset_seconds)
        self.down_since: float | None = None
        self.last_error = ""

    def _down_too_long(self) -> bool:
        return (self.down_since is not None and self.clock() - self.down_since
                > self.settings.delivery_max_wait_seconds)

    async def deliver(self, call: Callable[[], Awaitable[T]]) -> Delivery[T]:
        attempts = unexpected = 0
        while True:
            wait = self.breaker.wait_time(self.clock())
            if wait > 0 and self._down_too_long():
                return self._gave_up(attempts)
            if wait > 0:
                await self.sleep(wait)
                continue
            self.breaker.allows(self.clock())
            attempts += 1
            try:
                result = await call()
            except self.rejected as exc:
                self._outcome("rejected", healthy=True)
                return Delivery(attempts, rejected=str(exc))
            except self.retryable as exc:
                self._outcome("unavailable", healthy=False)
                self.last_error = str(exc)
                if self.down_since is None:
                    self.down_since = self.clock()
                if self._down_too_long():
                    return self._gave_up(attempts)
                # Honour the target's Retry-After when it gives one, up to the cap (a
                # Retry-After of a day must not hold a rebalance for a day).
                hint = min(float(getattr(exc, "retry_after", None) or 0.0),
                           self.settings.retry_cap_seconds)
                await self.sleep(max(self._backoff(attempts), hint))
                continue
            except Exception as exc:  # unexpected: limited retries, then the dlq
                self._outcome("error", healthy=True)
                unexpected += 1
                if unexpected >= self.settings.command_max_attempts:
                    return Delivery(attempts, failed=f"{type(exc).__name__}: {exc}")
                await self.sleep(self._backoff(unexpected))
                continue
            self._outcome("ok", healthy=True)
            return Delivery(attempts, result=result)

    def _gave_up(self, attempts: int) -> Delivery[T]:
        return Delivery(attempts, failed=f"{self.target} unavailable for more than"
                        f" {self.settings.delivery_max_wait_seconds:.0f}s: {self.last_error}",
                        retryable=True)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(min(attempt, 16), self.settings.retry_base_seconds,
                             self.settings.retry_cap_seconds)

    def _outcome(self, outcome: str, healthy: bool) -> None:
        if healthy:
            self.breaker.record_success()
            self.down_since = None
        else:
            self.breaker.record_failure(self.clock())
        self.metrics.sink_requests.labels(self.target, outcome).inc()
        self.metrics.circuit_open.labels(self.target).set(
            1 if self.breaker.state is BreakerState.OPEN else 0)


def result_key(command: dict[str, Any]) -> str:
    """Where a command's result goes on ``delivery.results``: with its order's events
    when it has an order, by its own id otherwise."""
    return str(command.get("order_id") or command["command_id"])


def result_message(command: dict[str, Any], kind: str, target: str, delivery: Delivery[Any],
                   result_ref: str | None, duplicate: bool = False
                   ) -> tuple[str, dict[str, Any]]:
    """The CommandDelivered or CommandFailed (fields, without the envelope: it is the
    command's result, emitted with the command as its cause) that reports one delivery."""
    base = {"command_id": command["command_id"], "command_type": kind, "target": target,
            "attempts": delivery.attempts}
    error = delivery.error
    if error is not None:
        return "woosync.CommandFailed", {**base, "error": error[:2000],
                                         "retryable": delivery.retryable}
    return "woosync.CommandDelivered", {**base, "result_ref": result_ref,
                                        "duplicate": duplicate}

"""Delivering a command: waits out unavailability behind the breaker, never retries a
refusal, gives up on unexpected errors after the configured attempts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from streams.delivery import Deliverer
from streams.metrics import Metrics
from streams.settings import load_settings


class Down(Exception):
    pass


class No(Exception):
    pass


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _deliverer(time: FakeTime, **overrides: object) -> Deliverer:
    settings = load_settings(breaker_failures=3, breaker_reset_seconds=10,
                             command_max_attempts=4, **overrides)
    return Deliverer("erp:test", settings, Metrics(), retryable=(Down,), rejected=(No,),
                     sleep=time.sleep, clock=time.clock)


def _script(*steps: Exception | str) -> Callable[[], Awaitable[str]]:
    remaining = list(steps)

    async def call() -> str:
        step = remaining.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return call


async def test_unavailability_is_waited_out() -> None:
    time = FakeTime()
    deliverer = _deliverer(time, delivery_max_wait_seconds=10_000)
    delivery = await deliverer.deliver(_script(*[Down()] * 12, "sale-7"))
    assert delivery.ok and delivery.result == "sale-7"
    assert delivery.attempts == 13
    # The breaker opened: there were waits of the full reset time between trials.
    assert any(s >= 9.99 for s in time.slept)


async def test_open_breaker_makes_no_calls_until_it_half_opens() -> None:
    time = FakeTime()
    deliverer = _deliverer(time)
    calls: list[float] = []

    async def down() -> str:
        calls.append(time.now)
        if len(calls) < 5:
            raise Down()
        return "ok"

    await deliverer.deliver(down)
    # After the third failure (breaker opens) the next call comes >= 10 s later.
    assert calls[3] - calls[2] >= 10.0


async def test_a_refusal_is_not_retried() -> None:
    delivery = await _deliverer(FakeTime()).deliver(_script(No("unknown SKU")))
    assert delivery.rejected == "unknown SKU" and delivery.attempts == 1 and not delivery.ok


async def test_unexpected_errors_give_up_after_max_attempts() -> None:
    delivery = await _deliverer(FakeTime()).deliver(_script(*[KeyError("x")] * 10))
    assert delivery.failed is not None and "KeyError" in delivery.failed
    assert delivery.attempts == 4


@pytest.mark.parametrize("outcome", ["ok"])
async def test_metrics_count_outcomes(outcome: str) -> None:
    time = FakeTime()
    deliverer = _deliverer(time)
    await deliverer.deliver(_script(Down(), outcome))
    sample = deliverer.metrics.registry.get_sample_value
    assert sample("woosync_sink_requests_total", {"target": "erp:test", "outcome": "ok"}) == 1
    assert sample("woosync_sink_requests_total",
                  {"target": "erp:test", "outcome": "unavailable"}) == 1


async def test_a_target_down_too_long_fails_retryable_then_fast() -> None:
    time = FakeTime()
    deliverer = _deliverer(time, delivery_max_wait_seconds=30)
    first = await deliverer.deliver(_script(*[Down()] * 100))
    assert first.failed is not None and first.retryable
    assert 30 <= time.now <= 60  # at most one backoff (capped at 30 s) past the limit
    calls_before = time.now
    second = await deliverer.deliver(_script(*[Down()] * 100))
    assert second.retryable and time.now == calls_before  # no waiting any more
    # When it comes back (the breaker half-opens), it is used again.
    time.now += 60
    third = await deliverer.deliver(_script("ok"))
    assert third.ok and deliverer.down_since is None


async def test_retry_after_is_obeyed_up_to_the_cap() -> None:
    class Busy(Down):
        retry_after = 86_400.0  # a day

    time = FakeTime()
    deliverer = _deliverer(time, delivery_max_wait_seconds=10_000, retry_cap_seconds=30)
    delivery = await deliverer.deliver(_script(Busy(), "ok"))
    assert delivery.ok and time.slept == [30]


def test_retry_after_is_read_in_both_forms() -> None:
    from datetime import UTC, datetime

    from streams.woo.client import retry_after_seconds

    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0  # past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None

"""The batching boundary (streams.runtime.Runtime.each_batch, streams.event_batches): a
batch is everything waiting in the stream's queue, handled whole, and acknowledged only
once handled; an event read before a rebalance is acknowledged without being handled;
and a batch being gathered when no more events come is handled all the same (a
rebalance empties the stream's queue and waits for every event handed out to be
acknowledged; a batch left waiting on the stream stalled it until the group dropped the
worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from faust.types import Message

from devstack import samples
from streams.event_batches import EventBatches
from tests.agents.conftest import Harness

NOW = datetime.now(UTC)


class Run:
    """each_batch over a real Faust stream of an in-memory channel, with a handler that
    records each batch's offsets and whether any of its events was already acknowledged."""

    def __init__(self, h: Harness, within: float) -> None:
        self.h = h
        self.app = h.runtime.app
        self.channel = self.app.channel()
        self.stream = self.app.stream(self.channel)
        self.batches: list[list[int]] = []
        self.acked_early = False
        self.within = within
        self.task: asyncio.Future[None] | None = None

    async def handle(self, batch: list[Any]) -> None:
        self.acked_early |= any(i.event.message.acked for i in batch)
        self.batches.append([i.event.message.offset for i in batch])

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.h.runtime.each_batch(
            self.stream, "test", self.handle, max_events=100, within=self.within))

    async def put(self, offset: int, generation: int | None = None) -> Any:
        value = self.h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW, Decimal(offset)))
        message = Message("erp.stock", 0, offset, time.time(), 0, [], b"MUG", value, None,
                          generation_id=self.app.consumer_generation_id
                          if generation is None else generation)
        event = await self.channel.decode(message)
        await self.channel.put(event)
        return event

    async def until(self, done: Any, seconds: float = 5.0) -> None:
        await self.h.until(done, seconds)


@pytest.fixture
async def run(make_harness: Any) -> AsyncIterator[Any]:
    runs: list[Run] = []

    async def make(within: float) -> Run:
        h: Harness = await make_harness([])
        runs.append(Run(h, within))
        return runs[-1]
    yield make
    for r in runs:
        if r.task is not None:
            r.task.cancel()
            await asyncio.gather(r.task, return_exceptions=True)


async def test_a_batch_is_what_waits_and_is_acknowledged_once_handled(run: Any) -> None:
    r: Run = await run(within=0.05)
    events = [await r.put(n) for n in range(5)]
    r.start()
    await r.until(lambda: r.batches and all(e.message.acked for e in events))
    assert r.batches == [[0, 1, 2, 3, 4]]
    assert not r.acked_early


async def test_an_event_read_before_a_rebalance_is_acknowledged_unhandled(run: Any) -> None:
    r: Run = await run(within=0.05)
    stale = await r.put(0, generation=r.app.consumer_generation_id - 1)
    current = await r.put(1)
    r.start()
    await r.until(lambda: current.message.acked)
    assert r.batches == [[1]]
    assert stale.message.acked


async def test_an_event_taken_while_the_flow_is_stopped_is_acknowledged_unhandled(
        run: Any) -> None:
    # Faust stops the flow while a rebalance is under way; what is still queued then is
    # dropped (acknowledged), as the stream's own iteration does.
    r: Run = await run(within=0.05)
    held = await r.put(0)
    r.app.flow_control.suspend()
    r.start()
    await r.until(lambda: held.message.acked)
    assert r.batches == []
    r.app.flow_control.resume()
    after = await r.put(1)
    await r.until(lambda: after.message.acked)
    assert r.batches == [[1]]


async def test_a_batch_gathered_while_no_more_events_come_is_handled(run: Any) -> None:
    # A batch that starts right after the last one ended gathers more for up to
    # ``within`` (30 s here); with nothing more coming it is handled at once.
    r: Run = await run(within=30.0)
    r.start()
    await r.put(0)
    await r.until(lambda: r.batches == [[0]])
    second = await r.put(1)
    await r.until(lambda: second.message.acked, seconds=5.0)
    assert r.batches == [[0], [1]]


async def test_the_loop_ends_quietly_when_its_actor_is_told_to_stop(run: Any) -> None:
    # Faust stops an actor by throwing StopAsyncIteration into its channel: the stream's
    # own iteration ends there, and so must the batching loop (not crash the agent).
    r: Run = await run(within=0.05)
    r.start()
    await r.put(0)
    await r.until(lambda: r.batches == [[0]])
    cast(Any, r.stream).channel._throw(StopAsyncIteration())
    assert r.task is not None
    await asyncio.wait_for(r.task, timeout=5)
    assert r.task.exception() is None


async def test_a_stop_met_while_a_batch_is_gathered_ends_the_reading_after_that_batch(
        run: Any) -> None:
    r: Run = await run(within=0.05)
    await r.put(0)
    source = EventBatches(r.stream)
    events = await source.first(10)
    cast(Any, r.stream).channel._throw(StopAsyncIteration())
    await r.put(1)  # behind the stop: never taken
    await source.take_waiting(events, 10)
    assert [e.message.offset for e in events] == [0]
    with pytest.raises(StopAsyncIteration):
        await source.first(10)

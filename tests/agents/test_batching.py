"""The batching boundary (streams.runtime.Runtime.each_batch): a batch is handled and
acknowledged even when the stream stops giving events while the batch is being gathered
(a rebalance empties the stream's queue and waits for every event handed out to be
acknowledged; a batch left waiting on the stream stalled it until the group dropped the
worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from devstack import samples
from tests.agents.conftest import Harness


class StalledStream:
    """Gives its events, then nothing more (flow stopped), while its queue still claims
    to hold more (it was emptied after the batch looked)."""

    def __init__(self, events: list[Any]) -> None:
        self._events = events
        self.acked: list[Any] = []
        self.enable_acks = True
        self.channel = SimpleNamespace(queue=SimpleNamespace(empty=lambda: False))

    async def events(self) -> AsyncIterator[Any]:
        for event in self._events:
            yield event
        await asyncio.Event().wait()

    async def ack(self, event: Any) -> None:
        self.acked.append(event)


async def test_a_batch_is_acknowledged_when_the_stream_stops_giving_events(
        make_harness: Any) -> None:
    h: Harness = await make_harness([])
    now = datetime.now(UTC)
    events = [SimpleNamespace(
        key=b"MUG", value=h.encode("woosync.StockLevelObserved",
                                   samples.stock_level_observed("MUG", now, Decimal(n))),
        message=SimpleNamespace(topic="erp.stock", partition=0, offset=n, key=b"MUG",
                                headers=[])) for n in range(3)]
    stream = StalledStream(events)
    handled: list[int] = []

    async def handle(batch: list[Any]) -> None:
        handled.extend(i.event.message.offset for i in batch)

    task = asyncio.ensure_future(h.runtime.each_batch(stream, "test", handle,  # type: ignore[arg-type]
                                                      max_events=100, within=0.05))
    try:
        for _ in range(100):
            if len(stream.acked) == 3:
                break
            await asyncio.sleep(0.02)
        assert handled == [0, 1, 2]
        assert stream.acked == events
        assert not stream.enable_acks  # acknowledged by the batch, not by the stream
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

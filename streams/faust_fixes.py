"""Corrections to Faust that woosync depends on, applied once when the app is built.

Consumes the fetch wait (``WOOSYNC_CONSUMER_FETCH_WAIT_SECONDS``); changes
``faust.tables.recovery.Recovery._seek_offsets`` and the worker consumer Faust builds.

Standby replicas (``WOOSYNC_STANDBY_REPLICAS``): when a rebalance interrupts a worker's
recovery, Faust 0.15 starts its standby partitions with offsets it never resolved, and
the consumer refuses the seek (``ValueError: Offset must be a positive integer``), which
crashes the worker. Measured by ``woosync bench-recovery``: every failover with a
standby crashed the surviving worker. An offset Faust could not resolve now means "from
the changelog's start" (what Faust already does for -1): the standby reads more, never
less, than it needs.

The fetch wait: Faust builds its consumer with ``fetch_max_wait_ms=1500``. aiokafka sends
one fetch at a time to a broker, and leaves out the partitions whose records the worker
has not consumed yet; when the request holds only quiet partitions, the broker keeps it
for the whole wait, and the busy partitions' new records wait behind it. Measured with
``woosync bench`` at 500 events/s on two cores: every batch's first event was already
1.2 to 1.9 s old when the agent got it, with the worker a quarter busy. The wait is now
the setting (100 ms by default): a quiet worker sends a fetch about 10 times a second.
"""

from __future__ import annotations

from typing import Any

from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_seek_offsets = Recovery._seek_offsets


async def _seek_resolved(self: Recovery, consumer: Any, tps: Any, offsets: Any,
                         title: str) -> None:
    for tp in tps:
        if not isinstance(offsets[tp], int) or offsets[tp] < -1:
            offsets[tp] = -1
    await _seek_offsets(self, consumer, tps, offsets, title)


_create_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer
_FETCH_WAIT_MS = [1500]


def _with_fetch_wait(self: AIOKafkaConsumerThread, transport: Any) -> Any:
    consumer = _create_worker_consumer(self, transport)
    # Read by the consumer's start(), when it builds its fetcher.
    consumer._fetch_max_wait_ms = _FETCH_WAIT_MS[0]
    return consumer


def apply(fetch_wait_seconds: float = 1.5) -> None:
    Recovery._seek_offsets = _seek_resolved  # type: ignore[method-assign]
    _FETCH_WAIT_MS[0] = max(1, round(fetch_wait_seconds * 1000))
    AIOKafkaConsumerThread._create_worker_consumer = (  # type: ignore[method-assign]
        _with_fetch_wait)

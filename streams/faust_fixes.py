"""Corrections to Faust that woosync depends on, applied once when the app is built.

Consumes the fetch wait (``WOOSYNC_CONSUMER_FETCH_WAIT_SECONDS``) and the largest batch
(``WOOSYNC_INVENTORY_BATCH_MAX``); changes ``faust.tables.recovery.Recovery._seek_offsets``,
the worker consumer Faust builds, and the producer buffer's limit.

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

The producer buffer: table writes go to Faust's producer buffer, and Faust's conductor
stops handing records to every agent while that buffer holds more than
``ProducerBuffer.max_messages`` (100), flushing it one record at a time. A batch of the
hold/ATP agent wrote a row per hold event and one per SKU, so every batch of more than
about 90 events stopped the worker: measured with ``woosync bench``, 145 to 153 such
stops in each 20,000-event drain, 3.7 to 5.3 s of them. That agent now writes its rows
around the buffer (streams.table_rows); the limit still matters to the other agents'
writes and to the timers that remove many rows at once (streams.retention). The limit is now
``PRODUCER_BUFFER`` records, or twice the largest batch (``WOOSYNC_INVENTORY_BATCH_MAX``,
2,000 by default) if that is more: room for a batch's rows, and still a bound on memory.
Measured in paced runs of the same broker, limit 100 against 10,000, p99 event to
SetAvailability: 634 -> 395 and 2,361 -> 1,717 ms (500 events/s, two workers), 4.1 ->
1.7 and 6.2 -> 1.5 s (700/s, one worker past its capacity). The cost: Faust's offset
commit waits until the buffer is empty, and a worker past its capacity seldom empties
it, so its commits came 8 to 9 s apart instead of 2.8 s. Every agent is idempotent, so a
late commit costs only a longer replay after a crash.
"""

from __future__ import annotations

from typing import Any

from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.producer import ProducerBuffer

_seek_offsets = Recovery._seek_offsets


async def _seek_resolved(self: Recovery, consumer: Any, tps: Any, offsets: Any,
                         title: str) -> None:
    for tp in tps:
        if not isinstance(offsets[tp], int) or offsets[tp] < -1:
            offsets[tp] = -1
    await _seek_offsets(self, consumer, tps, offsets, title)


PRODUCER_BUFFER = 10_000

_create_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer
_FETCH_WAIT_MS = [1500]


def _with_fetch_wait(self: AIOKafkaConsumerThread, transport: Any) -> Any:
    consumer = _create_worker_consumer(self, transport)
    # Read by the consumer's start(), when it builds its fetcher.
    consumer._fetch_max_wait_ms = _FETCH_WAIT_MS[0]
    return consumer


def apply(fetch_wait_seconds: float = 1.5, batch_max: int = 0) -> None:
    Recovery._seek_offsets = _seek_resolved  # type: ignore[method-assign]
    ProducerBuffer.max_messages = max(PRODUCER_BUFFER, 2 * batch_max)
    _FETCH_WAIT_MS[0] = max(1, round(fetch_wait_seconds * 1000))
    AIOKafkaConsumerThread._create_worker_consumer = (  # type: ignore[method-assign]
        _with_fetch_wait)

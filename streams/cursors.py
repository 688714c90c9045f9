"""Feed cursors on the compacted ``feed.cursors`` topic: where each poller of an outside
system got to. A poller runs on whichever worker leads the group; when leadership moves,
the new leader reads the topic back from the start (last value per key wins).

Read with kafka-python in a thread: an aiokafka consumer stopped inside a Faust timer
leaks a CancelledError from its coordinator (aiokafka 0.14), which kills the timer.
"""

from __future__ import annotations

import asyncio
import time

from kafka.consumer import KafkaConsumer
from kafka.structs import TopicPartition

from streams import topics
from streams.codec import Codec
from streams.errors import DecodeError
from streams.settings import Settings


class LeaderCursors:
    """A leader poller's cursors under ``prefix`` (keys without it), read back from the
    topic on first use and whenever the poller missed a few ticks (leadership may have
    been elsewhere meanwhile and another worker moved them on)."""

    def __init__(self, settings: Settings, codec: Codec, prefix: str, interval: float) -> None:
        self.settings, self.codec, self.prefix, self.interval = settings, codec, prefix, interval
        self.values: dict[str, str] | None = None
        self.last_tick = 0.0

    async def current(self) -> dict[str, str]:
        now = time.monotonic()
        if self.values is None or now - self.last_tick > 3 * self.interval:
            stored = await load_cursors(self.settings, self.codec, self.prefix)
            self.values = {k.removeprefix(self.prefix): v for k, v in stored.items()}
        self.last_tick = now
        return self.values


async def load_cursors(settings: Settings, codec: Codec, prefix: str) -> dict[str, str]:
    """Every cursor whose feed name starts with ``prefix``, as last written."""
    return await asyncio.to_thread(read_cursors, settings, codec, prefix)


def read_cursors(settings: Settings, codec: Codec, prefix: str) -> dict[str, str]:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                             enable_auto_commit=False, group_id=None)
    try:
        name = topics.FEED_CURSORS.name
        parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        if not parts:
            return {}
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        cursors: dict[str, str] = {}
        while [tp for tp in parts if consumer.position(tp) < ends[tp]]:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        body = codec.decode(record.value).body
                    except DecodeError:
                        continue  # a cursor we cannot read is a cursor we do not have
                    if body["feed"].startswith(prefix):
                        cursors[body["feed"]] = body["cursor"]
        return cursors
    finally:
        consumer.close()

"""Feed cursors on the compacted ``feed.cursors`` topic: where each poller of an outside
system got to. A poller runs on whichever worker leads the group; when leadership moves,
the new leader reads the topic back from the start (last value per key wins)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams import topics
from streams.codec import Codec
from streams.errors import DecodeError
from streams.settings import Settings


async def load_cursors(settings: Settings, codec: Codec, prefix: str) -> dict[str, str]:
    """Every cursor whose feed name starts with ``prefix``, as last written."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.FEED_CURSORS.name, p)
                 for p in consumer.partitions_for_topic(topics.FEED_CURSORS.name) or ()]
        if not parts:
            return {}
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        cursors: dict[str, str] = {}
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
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
        await consumer.stop()

"""The one reader of whole topics: ``read_topic`` hands every record from the start to
the end offsets taken when the read began to a visitor (the dead-letter tools use it);
``read_compacted`` keeps the last value of every key of a compacted topic
(``feed.cursors``, ``inventory.availability``).

Consumes a topic name; produces each key's last decoded message, skipping tombstones
(a deleted key disappears) and counting records that do not decode instead of failing.
It gives up at a deadline with what it has read and says so, so that a page or a poller
never hangs on a broker that stopped answering. Runs kafka-python in a thread: an
aiokafka consumer stopped inside a Faust timer leaks a CancelledError from its
coordinator (aiokafka 0.14), which kills the timer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka.consumer import KafkaConsumer
from kafka.structs import TopicPartition

from streams.codec import Codec, Message
from streams.errors import DecodeError
from streams.settings import Settings


@dataclass
class Compacted:
    """What a read found: the last message per key, and how complete the read was."""

    latest: dict[bytes, Message] = field(default_factory=dict)
    undecodable: int = 0
    complete: bool = True


def read_topic(settings: Settings, topic: str, visit: Callable[[Any], None],
               deadline_seconds: float = 10.0) -> bool:
    """Call ``visit`` with each record (kafka-python's ConsumerRecord: partition, offset,
    key, value, headers) up to the end offsets; False when the deadline cut it short."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                             enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not parts:
            return True
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        deadline = time.monotonic() + deadline_seconds
        while [tp for tp in parts if consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                return False
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    visit(record)
        return True
    finally:
        consumer.close()


def read_compacted(settings: Settings, codec: Codec, topic: str,
                   deadline_seconds: float = 10.0) -> Compacted:
    out = Compacted()
    out.complete = read_topic(
        settings, topic, lambda record: _keep(out, codec, record.key or b"", record.value),
        deadline_seconds)
    return out


def _keep(out: Compacted, codec: Codec, key: bytes, value: bytes | None) -> None:
    if value is None:
        out.latest.pop(key, None)  # a tombstone deletes the key
        return
    try:
        out.latest[key] = codec.decode(value)
    except DecodeError:
        out.undecodable += 1


async def load_compacted(settings: Settings, codec: Codec, topic: str,
                         deadline_seconds: float = 10.0) -> Compacted:
    return await asyncio.to_thread(read_compacted, settings, codec, topic, deadline_seconds)

"""Reading topics from tests with a plain consumer (no group), decoded by the codec."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka.consumer import KafkaConsumer

from streams.codec import Codec, Message
from streams.errors import DecodeError
from streams.settings import Settings


def read_until(settings: Settings, topic: str, done: Callable[[list[tuple[str, Message]]], bool],
               keep: Callable[[str, Message], bool] = lambda k, m: True,
               timeout: float = 60.0) -> list[tuple[str, Message]]:
    """Decode records of ``topic`` from the start until ``done(kept)`` or the timeout."""
    codec = Codec()
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers,
                             auto_offset_reset="earliest", group_id=None,
                             consumer_timeout_ms=500)
    kept: list[tuple[str, Message]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(kept):
            for record in consumer:
                key = record.key.decode() if record.key else ""
                try:
                    message = codec.decode(record.value)
                except DecodeError:
                    continue  # other tests put undecodable bytes on topics on purpose
                if keep(key, message):
                    kept.append((key, message))
                if done(kept):
                    break
    finally:
        consumer.close()
    return kept

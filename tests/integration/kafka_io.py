"""Reading topics from tests with a plain consumer (no group), decoded by the codec."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.consumer import KafkaConsumer
from kafka.structs import TopicPartition

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


def end_offsets(settings: Settings, topics: list[str]) -> dict[Any, int]:
    """Each partition's end offset now (a mark to compare later offsets with)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None)
    try:
        parts = [TopicPartition(t, p) for t in topics
                 for p in consumer.partitions_for_topic(t) or ()]
        return dict(consumer.end_offsets(parts))
    finally:
        consumer.close()


def wait_committed(settings: Settings, group: str, since: dict[Any, int],
                   timeout: float = 60.0) -> None:
    """Poll until ``group`` has committed everything produced after the mark ``since``
    (end offsets from ``end_offsets``) up to now, on every partition that got any of
    it, so that whoever takes those partitions over will not skip or reread it."""
    ends = end_offsets(settings, sorted({tp.topic for tp in since}))
    wanted = {tp: end for tp, end in ends.items() if end > since.get(tp, 0)}
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        deadline = time.monotonic() + timeout
        behind = wanted
        while time.monotonic() < deadline:
            committed = admin.list_group_offsets({group: None}).get(group, {})
            behind = {tp: end for tp, end in wanted.items()
                      if tp not in committed or committed[tp].offset < end}
            if not behind:
                return
            time.sleep(0.5)
        raise AssertionError(f"{group} has not committed {sorted(map(str, behind))}")
    finally:
        admin.close()


def wait_for_key(settings: Settings, topic: str, key: bytes, timeout: float = 60.0) -> None:
    """Poll ``topic`` from the start until a record with ``key`` is there, whatever its
    value's format (a table's changelog, for one)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers,
                             auto_offset_reset="earliest", group_id=None,
                             consumer_timeout_ms=500)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if any(record.key == key for record in consumer):
                return
        raise AssertionError(f"no record with key {key!r} on {topic} in {timeout}s")
    finally:
        consumer.close()

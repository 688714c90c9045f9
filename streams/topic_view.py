"""A live view of a compacted topic, kept by every worker: each key's last value.

Consumes one compacted topic whole (all partitions, from the beginning, then following
it); produces ``latest``: key -> whatever ``keep`` makes of the decoded message (None
from ``keep``, or a tombstone, removes the key), ``caught_up`` once the end offsets
taken at start were reached, and how many records did not decode. Pages that answer for
every key from any worker (``/risk``, the dashboard) read it instead of asking the
owners or re-reading the topic per request.

It runs kafka-python in a thread of its own, as streams.compacted does (an aiokafka
consumer inside Faust's loop leaks cancellations when stopped), as a Faust service: it
starts and stops with the worker. A topic that does not exist yet is waited for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka.consumer import KafkaConsumer
from kafka.structs import TopicPartition
from mode import Service

from streams.codec import Codec, Message
from streams.errors import DecodeError
from streams.settings import Settings

log = logging.getLogger(__name__)
POLL_MS = 200
RETRY_SECONDS = 2.0


class TopicView(Service):
    def __init__(self, settings: Settings, codec: Codec, topic: str,
                 keep: Callable[[Message], Any] = lambda message: message.body,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings, self.codec, self.topic, self.keep = settings, codec, topic, keep
        self.latest: dict[bytes, Any] = {}
        self.caught_up = False
        self.undecodable = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def values(self) -> list[Any]:
        with self._lock:
            return list(self.latest.values())

    def get(self, key: bytes) -> Any:
        with self._lock:
            return self.latest.get(key)

    async def on_start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name=f"view:{self.topic}",
                                        daemon=True)
        self._thread.start()

    async def on_stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        """Follow the topic until stopped; after a failure (the broker away), start over
        from the beginning a little later."""
        while not self._stopping.is_set():
            self._follow_once()
            self._stopping.wait(RETRY_SECONDS)

    def _follow_once(self) -> None:
        consumer = None
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers,
                                     enable_auto_commit=False, group_id=None)
            parts = self._partitions(consumer)
            if not parts:
                return
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = consumer.end_offsets(parts)
            while not self._stopping.is_set():
                for records in consumer.poll(timeout_ms=POLL_MS).values():
                    for record in records:
                        self._apply(record.key or b"", record.value)
                if not self.caught_up and all(consumer.position(tp) >= ends[tp]
                                              for tp in parts):
                    self.caught_up = True
        except Exception:
            # The view is for pages: it says it is not caught up instead of failing them.
            self.caught_up = False
            log.exception("view of %s failed; reading it again shortly", self.topic)
        finally:
            if consumer is not None:
                consumer.close()

    def _partitions(self, consumer: KafkaConsumer) -> list[TopicPartition]:
        while not self._stopping.is_set():
            found = consumer.partitions_for_topic(self.topic)
            if found:
                return [TopicPartition(self.topic, p) for p in sorted(found)]
            self._stopping.wait(1.0)
        return []

    def _apply(self, key: bytes, value: bytes | None) -> None:
        kept = None
        if value is not None:
            try:
                kept = self.keep(self.codec.decode(value))
            except DecodeError:
                self.undecodable += 1
                return
        with self._lock:
            if kept is None:
                self.latest.pop(key, None)
            else:
                self.latest[key] = kept

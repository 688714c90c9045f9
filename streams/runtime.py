"""What every agent gets: the app, settings, topics, codec and metrics, plus the two
ways messages leave an agent (``send`` a canonical message, ``dead_letter`` an input)
and the one way they enter (``decoded``: bytes in, messages out, bad input to ``dlq``).

Agents never touch bytes or the codec themselves, so a bad value can never crash one.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.streams import _current_event

from streams import topics as registry
from streams.codec import Codec, Message
from streams.envelope import deterministic_id, envelope, utcnow
from streams.erp.adapter import ErpAdapter
from streams.errors import DecodeError, EncodeError
from streams.metrics import Metrics
from streams.settings import Settings
from streams.topics import Topics, TopicSpec
from streams.woo.client import StoreClients

log = logging.getLogger("woosync")


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded input: its key, the message, and the Faust event it came in
    (kept so that a later failure can dead-letter the original bytes)."""

    key: str
    message: Message
    event: faust.EventT[Any]


@dataclass
class Runtime:
    app: faust.App
    settings: Settings
    topics: Topics
    codec: Codec
    metrics: Metrics
    erp: ErpAdapter | None = None
    stores: StoreClients | None = None
    # Tables the web pages read, by name (set by the agents that own them).
    tables: dict[str, Any] = field(default_factory=dict)

    async def send(self, spec: TopicSpec, key: str, name: str, body: dict[str, Any],
                   partition: int | None = None, wait: bool = False) -> None:
        """Encode and publish one canonical message on a registered topic; with ``wait``,
        return only once the broker has acknowledged it."""
        if name not in spec.values:
            raise EncodeError(f"{name} is not a value of topic {spec.name}")
        value = self.codec.encode(name, body)
        pending = await self.topics[spec].send(key=key.encode(), value=value,
                                               partition=partition)
        if wait:
            await pending
        self.metrics.events_out.labels(spec.name, name.rsplit(".", 1)[-1]).inc()

    def timer(self, interval: float, name: str, label: str, on_leader: bool = False
              ) -> Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[None]]]:
        """A Faust timer that never lets an exception out (one escaping a Faust timer
        stops the whole worker): it is logged and counted under ``label``, and the timer
        tries again next interval."""
        def register(body: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
            async def tick() -> None:
                try:
                    await body()
                except Exception:
                    self.metrics.feed_polls.labels(label, "error").inc()
                    log.exception("%s failed; trying again next interval", name)

            tick.__name__ = tick.__qualname__ = name
            self.app.timer(interval, on_leader=on_leader, name=name)(tick)
            return body
        return register

    async def dead_letter(self, event: faust.EventT[Any], stage: str, error: str,
                          attempts: int = 1) -> None:
        """Keep an input we could not process, whole, with the reason, on ``dlq``."""
        msg = event.message
        now = utcnow()
        key = msg.key if isinstance(msg.key, bytes) else None
        value = msg.value if isinstance(msg.value, bytes) else None
        body = {
            "envelope": envelope(
                event_id=deterministic_id(registry.DLQ.name, msg.topic, msg.partition,
                                          msg.offset, stage),
                occurred_at=now, observed_at=now, source="woosync",
                source_version=f"{msg.topic}:{msg.partition}:{msg.offset}",
                trace_id=deterministic_id(msg.topic, msg.partition, msg.offset),
            ),
            "topic": msg.topic, "partition": msg.partition, "offset": msg.offset,
            "key": key, "value": value,
            "headers": [{"key": k, "value": v} for k, v in _headers(msg.headers)],
            "stage": stage, "error": error[:4000], "attempts": attempts,
        }
        await self.send(registry.DLQ, (key or b"").decode(errors="replace"),
                        "woosync.DeadLetter", body)
        self.metrics.dead_letters.labels(stage).inc()
        log.warning("dead letter stage=%s topic=%s partition=%s offset=%s: %s",
                    stage, msg.topic, msg.partition, msg.offset, error)

    async def decoded(self, stream: faust.StreamT[Any], stage: str
                      ) -> AsyncIterator[Inbound]:
        """Yield each readable input; dead-letter the rest."""
        async for event in stream.events():
            inbound = await self.decode_event(event, stage)
            if inbound is not None:
                yield inbound

    async def batches(self, stream: faust.StreamT[Any], stage: str, max_events: int,
                      within: float) -> AsyncIterator[list[Inbound]]:
        """Yield the readable inputs of each batch Faust takes (dead-lettering the rest).
        The batch's events are acknowledged once the caller has handled it."""
        # take_events is on faust.Stream, not on its StreamT interface.
        taking = stream.take_events(max_events, within)  # type: ignore[attr-defined]
        async for events in taking:
            batch = []
            for event in events:
                inbound = await self.decode_event(event, stage)
                if inbound is not None:
                    batch.append(inbound)
            yield batch

    async def decode_event(self, event: faust.EventT[Any], stage: str) -> Inbound | None:
        """The decoded input, or None after dead-lettering what cannot be read."""
        topic = event.message.topic
        try:
            if not isinstance(event.value, bytes):
                raise DecodeError(f"expected bytes, got {type(event.value).__name__}")
            message = self.codec.decode(event.value)
            allowed = _VALUES_BY_TOPIC.get(topic, _ALL_VALUES)
            if message.name not in allowed:
                raise DecodeError(f"{message.name} does not belong on {topic}")
        except DecodeError as exc:
            await self.dead_letter(event, f"{stage}:{topic}", str(exc))
            return None
        self.metrics.events_in.labels(topic, message.short_name).inc()
        key = event.key.decode(errors="replace") if isinstance(event.key, bytes) else ""
        return Inbound(key, message, event)


def writing_as(inbound: Inbound) -> None:
    """Make table writes that follow belong to ``inbound``'s partition.

    Faust chooses a table row's changelog partition (and RocksDB its partition store)
    from the current event, which a batch taken with ``take_events`` does not set in the
    agent's task. Every event of a key is on the key's partition, so setting one of them
    before writing that key's rows puts the rows where a rebalance will look for them.

    Only the context variable is set: ``Stream._set_current_event`` would also set the
    stream's ``current_event``, which take_events reads to pair each buffered value with
    its event, and a value arriving meanwhile would be buffered with the wrong event
    (one event lost, another handled twice)."""
    _current_event.set(weakref.ref(inbound.event))


_VALUES_BY_TOPIC = {spec.name: set(spec.values) for spec in registry.ALL}
_ALL_VALUES = {name for spec in registry.ALL for name in spec.values}


def _headers(headers: Any) -> list[tuple[str, bytes | None]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), v if isinstance(v, bytes | None) else str(v).encode()) for k, v in items]

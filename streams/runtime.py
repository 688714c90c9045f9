"""What every agent gets, and the one way in and out of an agent.

In: ``each`` and ``each_batch`` decode each input (bytes to a canonical message) and call
the agent's handler inside one error boundary: an input that cannot be read, or whose
handling raises anything, goes whole to ``dlq`` with its stage and reason, and the agent
goes on with the next. Out: ``emit`` builds the envelope from the cause and sends a
canonical message to a registered topic. Tables come from the registry (``table``).

Agents never touch bytes, the codec or envelopes themselves. The transport under
``emit`` is replaceable, so agent tests run without a broker.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.streams import _current_event

from streams import table_rows
from streams import topics as registry
from streams.codec import Codec, Message
from streams.envelope import Cause, deterministic_id, utcnow
from streams.erp.adapter import ErpAdapter
from streams.errors import DecodeError, EncodeError, reason
from streams.event_batches import EventBatches
from streams.metrics import Metrics
from streams.settings import Settings
from streams.topics import Topics, TopicSpec
from streams.woo.client import StoreClients
from tables.checkout import ProvisionalHolds
from tables.registry import TableSpec

log = logging.getLogger("woosync")

# Sends one encoded record; returns what to await for the broker's acknowledgement.
Transport = Callable[[TopicSpec, bytes, bytes, int | None], Awaitable[Awaitable[Any]]]
Handler = Callable[["Inbound"], Awaitable[None]]
BatchHandler = Callable[[list["Inbound"]], Awaitable[None]]

# Each table partition is a RocksDB database of its own, and Faust's defaults size every
# one for a table alone on a machine (64 MiB write buffers, three of them, and a 2 GiB
# block cache): a worker with three tables of eight partitions restoring 1.1 million
# rows peaked at 338 MB (woosync bench-recovery). Small buffers flush more often and
# keep a worker's memory bounded by its partitions, not by its rows.
ROCKSDB_OPTIONS = {"write_buffer_size": 2 * 2**20, "max_write_buffer_number": 2,
                   "block_cache_size": 8 * 2**20, "block_cache_compressed_size": 0}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded input: its key, the message, and the Faust event it came in
    (kept so that a later failure can dead-letter the original bytes)."""

    key: str
    message: Message
    event: faust.EventT[Any]

    @property
    def body(self) -> dict[str, Any]:
        return self.message.body

    @property
    def name(self) -> str:
        return self.message.short_name

    @property
    def partition(self) -> int:
        return int(self.event.message.partition)

    @property
    def cause(self) -> Cause:
        """This input as the cause of what the agent emits for it."""
        return Cause.of(self.message.body["envelope"], self.key)


@dataclass(frozen=True)
class AgentSpec:
    """One agent module: its name (as in ``WOOSYNC_AGENTS``), how it plugs into a
    runtime, and the tables it reads (it writes those whose registry entry names it)."""

    name: str
    register: Callable[[Runtime], None]
    reads: tuple[TableSpec, ...] = ()


@dataclass
class Runtime:
    app: faust.App
    settings: Settings
    topics: Topics
    codec: Codec
    metrics: Metrics
    erp: ErpAdapter | None = None
    stores: StoreClients | None = None
    transport: Transport | None = None
    # Where table rows' changelog records go (streams.table_rows); None: the producer.
    changelog: table_rows.Send | None = None
    # The last input each stage read from each partition: the handle that lets a timer
    # write that partition's rows (writing_as), e.g. to prune them (streams.retention).
    handles: dict[str, dict[int, Inbound]] = field(default_factory=dict)
    _tables: dict[str, Any] = field(default_factory=dict)
    # Keys of each table written since a reader on this worker last took them (the risk
    # timer reads only the SKUs the availability agent changed).
    touched: dict[str, set[str]] = field(default_factory=dict)

    _views: dict[str, Any] = field(default_factory=dict)

    # Each (counter, labels) child looked up once: prometheus_client's labels() takes a
    # lock and builds a key on every call, and these two are counted on every event.
    _children: dict[tuple[Any, str, str], Any] = field(default_factory=dict)

    def _count(self, counter: Any, topic: str, name: str) -> None:
        key = (counter, topic, name)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(topic, name)
        child.inc()

    def declared(self) -> dict[str, Any]:
        """The tables declared so far, by name (the agents this worker runs)."""
        return dict(self._tables)
    # The provisional holds checkouts took on the SKUs this worker owns (tables.checkout):
    # the check's page takes them, the availability agent settles them.
    provisional: ProvisionalHolds = field(default_factory=ProvisionalHolds)

    def view(self, spec: TopicSpec,
             wanted: Callable[[dict[str, Any]], bool] = lambda body: True) -> Any:
        """The live view of a compacted topic (streams.topic_view.TopicView, each
        record's body without its envelope, plus ``at``: when it was written), started
        with the worker; one per topic and app. Only the keys whose last body is
        ``wanted`` are kept (a view of what is outstanding stays small); the first
        caller's ``wanted`` is the view's."""
        if spec.name not in self._views:
            from streams.topic_view import TopicView

            def keep(message: Message) -> dict[str, Any] | None:
                body = _body_at(message)
                return body if wanted(body) else None
            self._views[spec.name] = TopicView(self.settings, self.codec, spec.name,
                                               keep=keep)
            self.app.service(self._views[spec.name])
        return self._views[spec.name]

    def touch(self, spec: TableSpec, key: str) -> None:
        self.touched.setdefault(spec.name, set()).add(key)

    def take_touched(self, spec: TableSpec) -> set[str]:
        return self.touched.pop(spec.name, set())

    def table(self, spec: TableSpec) -> Any:
        """The Faust table of a registry entry (declared on first use, once per app)."""
        if spec.name not in self._tables:
            kind = self.app.GlobalTable if spec.is_global else self.app.Table
            options: dict[str, Any] = {"key_type": bytes} if spec.raw_keys else {}
            self._tables[spec.name] = kind(spec.name, default=dict,
                                           partitions=self.settings.partitions,
                                           options=ROCKSDB_OPTIONS, **options)
        return self._tables[spec.name]

    async def emit(self, spec: TopicSpec, key: str, name: str, fields: dict[str, Any],
                   cause: Cause, *parts: object, partition: int | None = None,
                   wait: bool = False) -> str:
        """Publish one canonical message caused by ``cause``: its envelope carries the
        cause's trace and occurrence, and an event id derived from the cause, the message
        type and ``parts`` (so a replay of the cause emits the same id). With ``wait``,
        return only once the broker has acknowledged it. Returns the event id."""
        envelope = cause.envelope(name, *parts, observed_at=utcnow())
        await self.send(spec, key, name, {"envelope": envelope, **fields}, partition, wait)
        return str(envelope["event_id"])

    async def send(self, spec: TopicSpec, key: str, name: str, body: dict[str, Any],
                   partition: int | None = None, wait: bool = False) -> None:
        """Encode and publish a whole message (envelope included), as the edges that
        observe the outside systems make them."""
        if name not in spec.values:
            raise EncodeError(f"{name} is not a value of topic {spec.name}")
        value = self.codec.encode(name, body)
        transport = self.transport or self._to_broker
        pending = await transport(spec, key.encode(), value, partition)
        if wait:
            await pending
        self._count(self.metrics.events_out, spec.name, name.rsplit(".", 1)[-1])

    async def _to_broker(self, spec: TopicSpec, key: bytes, value: bytes,
                         partition: int | None) -> Awaitable[Any]:
        # Straight to the app's producer: the record is already encoded, and Faust's
        # topic wrapper (a future message, serializer and sensor callbacks per record)
        # cost about a third more per send (woosync bench: faust_send_only against
        # faust_produce_only). The partitioner is the same (murmur2 of the key).
        return await self.app.producer.send(spec.name, key, value, partition, None, None)

    async def write_rows(self, table: Any, rows: dict[Any, Any]) -> None:
        """Write a batch's rows of ``table`` (None removes one) on the current event's
        partition, each with its changelog record (streams.table_rows): for a path
        that writes many rows per batch, at a fraction of ``table[key] = value``."""
        await table_rows.write(table, rows, self.changelog or self._changelog_to_broker)

    async def _changelog_to_broker(self, topic: str, key: bytes, value: bytes | None,
                                   partition: int) -> Awaitable[Any]:
        return await self.app.producer.send(topic, key, value, partition, None, None)

    def timer(self, interval: float, name: str, on_leader: bool = False
              ) -> Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[None]]]:
        """A Faust timer that never lets an exception out (one escaping a Faust timer
        stops the whole worker): it is logged and counted, and the timer tries again
        next interval."""
        def register(body: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
            async def tick() -> None:
                try:
                    await body()
                except Exception:
                    self.metrics.timer_errors.labels(name).inc()
                    log.exception("%s failed; trying again next interval", name)

            tick.__name__ = tick.__qualname__ = name
            self.app.timer(interval, on_leader=on_leader, name=name)(tick)
            return body
        return register

    async def each(self, stream: faust.StreamT[Any], stage: str, handle: Handler,
                   wanted: Iterable[str] | None = None) -> None:
        """The error boundary of a one-at-a-time agent: every readable input of a type in
        ``wanted`` (all when None) is handled; whatever raises goes to ``dlq``."""
        names = None if wanted is None else frozenset(wanted)
        async for event in stream.events():
            inbound = await self.decode_event(event, stage)
            if inbound is None or (names is not None and inbound.name not in names):
                continue
            try:
                await handle(inbound)
            except Exception as exc:
                await self.dead_letter(event, stage, reason(exc))

    async def each_batch(self, stream: faust.StreamT[Any], stage: str, handle: BatchHandler,
                         max_events: int, within: float) -> None:
        """The error boundary of a batching agent. A batch is what is already waiting:
        an event that comes to a quiet stream is handled at once, with whatever is queued
        behind it. While the stream is busy (the batch's first event came less than
        ``within`` after the last batch ended), the batch also waits for more, as long
        as the last batch took to handle and never beyond ``within`` from its first
        event: batches grow with the load, so rows and announcements are written once
        for many events, and a lone event waits for nothing. At most ``max_events``.
        Each batch is handled whole; when that raises, each input is handled alone, and
        only those that still raise go to ``dlq``. A batch's events are acknowledged
        once it is handled (never before: a crash mid-batch reads them again)."""
        # Faust's take_events waits ``within`` for every batch however quiet the stream,
        # and its background buffering cost more than the wait: measured at 1,000
        # events/s, batches of 20 ms took 54 ms between them.
        #
        # Events are taken straight from the stream's queue (streams.event_batches), and
        # a batch never waits on the stream itself: a rebalance empties the queue and
        # stops its flow, then waits until every event handed out is acknowledged; a
        # batch waiting on the stream for an event that will not come held its events
        # unacknowledged, and the rebalance waited until the group dropped the worker
        # (seen with two workers in woosync bench: 60 s).
        sizes = self.metrics.batch_events.labels(stage)
        source = EventBatches(stream)
        ended = cost = 0.0
        while True:
            try:
                events = await source.first(max_events)
            except StopAsyncIteration:
                return  # the actor was told to stop reading (Faust's Actor.cancel)
            started = time.monotonic()
            busy = started - ended < within
            while busy and len(events) < max_events:
                left = within - (time.monotonic() - started)
                if left <= 0:
                    break
                await asyncio.sleep(min(left, cost))
                before = len(events)
                await source.take_waiting(events, max_events)
                if len(events) == before:
                    break
            began = time.monotonic()
            sizes.observe(len(events))
            await self._handle_batch(events, stage, handle)
            for handled in events:
                source.ack(handled)
            ended = time.monotonic()
            cost = ended - began

    async def _handle_batch(self, events: list[faust.EventT[Any]], stage: str,
                            handle: BatchHandler) -> None:
        batch = [i for e in events if (i := await self.decode_event(e, stage)) is not None]
        if not batch:
            return
        try:
            await handle(batch)
        except Exception:
            for inbound in batch:
                try:
                    await handle([inbound])
                except Exception as exc:
                    await self.dead_letter(inbound.event, stage, reason(exc))

    async def dead_letter(self, event: faust.EventT[Any], stage: str, error: str,
                          attempts: int = 1) -> None:
        """Keep an input we could not process, whole, with the reason, on ``dlq``."""
        msg = event.message
        key = msg.key if isinstance(msg.key, bytes) else None
        value = msg.value if isinstance(msg.value, bytes) else None
        where = f"{msg.topic}:{msg.partition}:{msg.offset}"
        cause = Cause(deterministic_id(registry.DLQ.name, where), utcnow(), where,
                      deterministic_id(msg.topic, msg.partition, msg.offset))
        await self.emit(registry.DLQ, (key or b"").decode(errors="replace"),
                        "woosync.DeadLetter", {
                            "topic": msg.topic, "partition": msg.partition,
                            "offset": msg.offset, "key": key, "value": value,
                            "headers": [{"key": k, "value": v}
                                        for k, v in _headers(msg.headers)],
                            "stage": stage, "error": error[:4000], "attempts": attempts},
                        cause, stage)
        self.metrics.dead_letters.labels(stage).inc()
        log.warning("dead letter stage=%s topic=%s partition=%s offset=%s: %s",
                    stage, msg.topic, msg.partition, msg.offset, error)

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
        self._count(self.metrics.events_in, topic, message.short_name)
        key = event.key.decode(errors="replace") if isinstance(event.key, bytes) else ""
        inbound = Inbound(key, message, event)
        self.handles.setdefault(stage, {})[int(event.message.partition)] = inbound
        return inbound

    async def decoded(self, stream: faust.StreamT[Any], stage: str
                      ) -> AsyncIterator[Inbound]:
        """Each readable input, for code that reads a stream outside an agent's boundary
        (tests); agents use ``each``."""
        async for event in stream.events():
            inbound = await self.decode_event(event, stage)
            if inbound is not None:
                yield inbound


def writing_as(inbound: Inbound) -> None:
    """Make table writes that follow belong to ``inbound``'s partition.

    Faust chooses a table row's changelog partition (and RocksDB its partition store)
    from the current event, which is the last one taken when a batch is handled. Every
    event of a key is on the key's partition, so setting one of them before writing that
    key's rows puts the rows where a rebalance will look for them.

    Only the context variable is set: ``Stream._set_current_event`` would also change
    the stream's own ``current_event``, which its iteration keeps for itself."""
    _current_event.set(weakref.ref(inbound.event))


_VALUES_BY_TOPIC = {spec.name: set(spec.values) for spec in registry.ALL}
_ALL_VALUES = {name for spec in registry.ALL for name in spec.values}


def _headers(headers: Any) -> list[tuple[str, bytes | None]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), v if isinstance(v, bytes | None) else str(v).encode()) for k, v in items]


def _body_at(message: Message) -> dict[str, Any]:
    body = {k: v for k, v in message.body.items() if k != "envelope"}
    body["at"] = message.body["envelope"]["observed_at"].isoformat()
    return body

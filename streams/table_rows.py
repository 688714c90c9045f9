"""Table rows written many at a time: into the worker's local store and onto the table's
changelog, without Faust's machinery for one row.

Consumes a Faust table, the rows to write (key to value; None removes the row) and a
send (topic name, key bytes, value bytes or None, partition -> what to await for the
broker's acknowledgement). Produces the rows in the table's store, on the partition of
the current event (``streams.runtime.writing_as``), and one changelog record per row on
that partition, keyed and serialized as Faust's own table writes are (the same bytes,
so a restore or a standby reads them like any other). Once the broker acknowledges the
last record of a call, the store remembers its offset (what Faust does after every
record), so a restart reads the changelog from there. Also reads one row (``read``):
its value from the store, or None.

Why: ``table[key] = value`` sends its changelog record through Faust's producer buffer,
a future message, serializer and sensor callbacks, and writes the store's offset once
per record. Measured with ``woosync bench``: a trivial Faust agent doing one table write
per event drained 1,401 events/s against 3,640 for one that only iterates, so each row
cost about 440 microseconds, more than the hold/ATP agent's decoding and rules together.

Each value is encoded once: the changelog's bytes are what the store keeps (a store that
serializes, as RocksDB's does, would otherwise encode the row a second time), and a JSON
row goes through one kept encoder (Faust's JSON codec builds a new encoder for every
value; the kept one is of the same class and settings, so the bytes are the same).
``read`` takes a row with one store lookup. Measured in-process (the hold/ATP agent's
per-SKU step over a RocksDB store, 5,800 steps of two hold events each, three runs of
each side): 673, 451 and 811 microseconds a step before these two changes, 437, 393 and
432 after (the replay guard reading its horizon once per SKU, and the minute bucket from
isoformat, changed in the same commit). In ``woosync bench``'s broker runs the gain is
inside the noise.

Safety is Faust's: the records go to the app's producer, and Faust flushes the producer
before it commits the input offsets (``Consumer.commit``), so no input is committed
before the rows it caused are on the changelog. That is at-least-once, what woosync runs
(agents are idempotent); under Faust's exactly-once these records would not belong to
its transaction. A row must be written by this path only: Faust's buffered path could
put an earlier write of it on the changelog after a later one sent here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.stores.base import SerializedStore
from faust.streams import current_event
from faust.types import TP, ModelT
from faust.utils.json import JSONEncoder

# topic, key, value (None: a removal), partition -> the broker's acknowledgement
Send = Callable[[str, bytes, bytes | None, int], Awaitable[Awaitable[Any]]]

# What Faust's JSON codec does per value (faust.utils.json.dumps), with the encoder kept.
_JSON = JSONEncoder(separators=(",", ":"))


async def write(table: Any, rows: Mapping[Any, Any], send: Send) -> None:
    """Write ``rows`` to ``table`` on the current event's partition (None removes)."""
    if not rows:
        return
    event = current_event()
    if event is None:
        raise RuntimeError(f"rows of table {table.name} written outside any event")
    partition = int(event.message.partition)
    store, changelog = table.data, table.changelog_topic
    topic = changelog.get_topic_name()
    # A serializing store (RocksDB) takes the changelog's bytes as they are.
    raw_store = store if isinstance(store, SerializedStore) else None
    acked: Any = None
    for key, value in rows.items():
        raw_key, _ = changelog.prepare_key(key, table.key_serializer)
        raw_value = None if value is None else encode_value(table, value)
        if raw_store is not None:
            if raw_value is None:
                raw_store._del(raw_key)
            else:
                raw_store._set(raw_key, raw_value)
        elif value is None:
            store.pop(key, None)
        else:
            store[key] = value
        acked = await send(topic, raw_key, raw_value, partition)
    acked.add_done_callback(lambda done: _remember(table, TP(topic, partition), done))


def read(table: Any, key: Any) -> Any:
    """A row of ``table`` (None when it has none), with one lookup in its store. Reading
    through the table asks the store whether the key is there and then for its value,
    two RocksDB reads, and turns a missing row into the table's default."""
    return table.data.get(key)


def encode_value(table: Any, value: Any) -> bytes:
    """A row's bytes, as Faust's changelog and store would encode it."""
    if table.value_serializer == "json" and not isinstance(value, ModelT):
        return str(_JSON.encode(value)).encode()
    raw, _ = table.changelog_topic.prepare_value(value, table.value_serializer)
    return bytes(raw)


def _remember(table: Any, tp: TP, done: Any) -> None:
    """The store's changelog offset, once the broker has the call's last record (the
    records of one partition are acknowledged in order). A failed send leaves it where
    it was: a restart then reads more of the changelog, never less."""
    if done.cancelled() or done.exception() is not None:
        return
    table.data.set_persisted_offset(tp, done.result().offset)

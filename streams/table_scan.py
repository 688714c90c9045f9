"""Walking the rows a worker holds, partition by partition, from a timer.

Consumes a table, the runtime's last input per partition for a stage (streams.runtime:
the handle that makes table writes land on that partition's changelog) and the topic
whose assignment says which partitions are this worker's; produces each partition's
rows (raw key and table key), skipping bookkeeping rows (``__...``), with the writes the
caller makes meanwhile kept on the row's partition, and yielding to the event loop every
few thousand rows so that agents keep running. Used by pruning (streams.retention) and
by the divergence windows' tick (streams.divergence).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from streams.inventory_config import partition_of
from streams.runtime import Runtime, writing_as

YIELD_EVERY = 2000  # rows examined between two yields to the event loop


def is_reserved(key: bytes) -> bool:
    """Rows that are a partition's bookkeeping, not a subject's (``__feed__``,
    ``__pruned__``)."""
    return key.startswith(b"__")


def partitions_here(runtime: Runtime, stage: str, topic: str,
                    partitions: set[int] | None = None) -> list[int]:
    """This worker's partitions of ``topic`` (or ``partitions``) that ``stage`` has read
    from (only those can be written to), in order."""
    assigned = partitions if partitions is not None else {
        tp.partition for tp in runtime.app.consumer.assignment() if tp.topic == topic}
    return sorted(assigned & set(runtime.handles.get(stage, {})))


def _partition_db(table: Any, partition: int) -> Any:
    """The RocksDB database of one partition of ``table`` when it is on Faust's RocksDB
    store (rocksdict) and open on this worker; None otherwise (the in-memory store of
    the agent tests), when callers fall back to the table's own iteration."""
    store = getattr(table, "data", None)
    # Only tables keyed by raw bytes: a str key is stored serialized (as JSON).
    if getattr(table, "key_type", None) is not bytes or not getattr(
            store, "use_rocksdict", False):
        return None
    return getattr(store, "_dbs", {}).get(partition)


def keys_with_prefix(table: Any, partition: int, prefix: bytes) -> list[bytes]:
    """The keys of ``partition``'s rows that start with ``prefix``, in key order: a seek
    in that partition's database (a SKU's hold rows, not every row on the worker)."""
    db = _partition_db(table, partition)
    if db is None:
        return sorted(key for key in table
                      if isinstance(key, bytes) and key.startswith(prefix))
    found = []
    for key in db.keys(from_key=prefix):
        if not key.startswith(prefix):
            break
        found.append(key)
    return found


def _keys_of(table: Any, partition: int) -> list[Any]:
    """Every key of ``partition``: its own database's keys where it has one (a walk of
    one partition reads that partition, not every row eight times), else all keys. Read
    whole before the walk: it yields to the event loop, and a rebalance meanwhile may
    close the database under a live iterator."""
    db = _partition_db(table, partition)
    return list(db.keys() if db is not None else table.keys())


async def rows_in(runtime: Runtime, table: Any, stage: str, partition: int,
                  partition_key: Callable[[bytes], bytes] = lambda key: key
                  ) -> AsyncIterator[tuple[bytes, Any]]:
    """(raw key, table key) of each row of ``partition`` (``partition_key`` gives the
    part of a key its partition is computed from); writes the caller makes between two
    rows go to this partition."""
    handle = runtime.handles[stage][partition]
    writing_as(handle)
    for n, key in enumerate(_keys_of(table, partition)):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
            writing_as(handle)
        # Tables keyed by str give str keys in memory and bytes from RocksDB.
        raw = key if isinstance(key, bytes) else str(key).encode()
        if is_reserved(raw) or partition_of(partition_key(raw),
                                            runtime.settings.partitions) != partition:
            continue
        yield raw, key

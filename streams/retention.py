"""Removing settled rows after the replay horizon, and the guard that makes it safe.

A row kept only to recognise a replay (a released hold, a settled order's holds, an old
order's snapshot version) is removed from its table (a tombstone on the changelog) once
it has been settled for longer than ``replay_horizon_days``: recovery then reads what is
live, not the whole history. Each partition remembers the horizon it last pruned up to
(a reserved row, ``__pruned__:<partition>``). The guard: an input about a subject that
has no row, and that is older than its partition's pruned horizon, is a replay of
history the partition has forgotten; it is dropped and counted, never applied (it would
bring a settled hold or order back). Before the first pruning nothing is dropped, so a
first import of old orders works as before.

Consumes a table, the runtime's last input per partition (to write on the right
changelog partition; streams.runtime.writing_as) and a pure ``prunable`` judgement per
row; produces the deletions, the watermark rows and the ``woosync_rows_pruned`` count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from streams.envelope import utcnow
from streams.inventory_config import partition_of
from streams.runtime import Runtime, writing_as

PREFIX = b"__pruned__:"
YIELD_EVERY = 2000  # rows examined between two yields to the event loop


def watermark_key(partition: int) -> bytes:
    return PREFIX + str(partition).encode()


def is_reserved(key: bytes) -> bool:
    """Rows that are a partition's bookkeeping, not a subject's (``__feed__``, too)."""
    return key.startswith(b"__")


def horizon(runtime: Runtime, now: datetime | None = None) -> str:
    """The oldest moment still inside the replay horizon, as an ISO timestamp."""
    days = runtime.settings.replay_horizon_days
    return ((now or utcnow()) - timedelta(days=days)).isoformat()


def forgotten(table: Any, partition: int, has_row: bool, version: str | None) -> bool:
    """Whether an input (its subject's row absent or present, its version) is a replay of
    what the partition pruned: no row, and older than the partition's pruned horizon."""
    if has_row or not version:
        return False
    pruned_before = table.get(watermark_key(partition))
    return bool(pruned_before) and version < str(pruned_before)


async def prune(runtime: Runtime, table: Any, name: str, stage: str, topic: str,
                prunable: Callable[[bytes, Any, str], bool],
                partition_key: Callable[[bytes], bytes] = lambda key: key,
                partitions: set[int] | None = None) -> int:
    """Remove the rows of this worker's partitions (of ``topic``; or of ``partitions``)
    that ``prunable`` judges settled before the horizon; record the horizon per
    partition."""
    settings = runtime.settings
    cutoff = horizon(runtime)
    assigned = partitions if partitions is not None else {
        tp.partition for tp in runtime.app.consumer.assignment() if tp.topic == topic}
    handles = runtime.handles.get(stage, {})
    removed = 0
    for partition in sorted(assigned & set(handles)):
        writing_as(handles[partition])
        for n, key in enumerate(list(table.keys())):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
                writing_as(handles[partition])
            # Tables keyed by str give str keys in memory and bytes from RocksDB.
            raw = key if isinstance(key, bytes) else str(key).encode()
            if is_reserved(raw) or partition_of(partition_key(raw),
                                                settings.partitions) != partition:
                continue
            value = table.get(key)
            if value and prunable(raw, value, cutoff):
                del table[key]
                removed += 1
        table[watermark_key(partition)] = cutoff
    runtime.metrics.rows_pruned.labels(name).inc(removed)
    return removed

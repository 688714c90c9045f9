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

Consumes a table, walked partition by partition (streams.table_scan), and a pure
``prunable`` judgement per row; produces the deletions, the watermark rows and the
``woosync_rows_pruned`` count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from streams import table_rows
from streams.envelope import utcnow
from streams.runtime import Runtime
from streams.table_scan import partitions_here, rows_in

PREFIX = b"__pruned__:"


def watermark_key(partition: int) -> bytes:
    return PREFIX + str(partition).encode()


def horizon(runtime: Runtime, now: datetime | None = None) -> str:
    """The oldest moment still inside the replay horizon, as an ISO timestamp."""
    days = runtime.settings.replay_horizon_days
    return ((now or utcnow()) - timedelta(days=days)).isoformat()


def forgotten(table: Any, partition: int, has_row: bool, version: str | None) -> bool:
    """Whether an input (its subject's row absent or present, its version) is a replay of
    what the partition pruned: no row, and older than the partition's pruned horizon."""
    return is_replay(pruned_before(table, partition), has_row, version)


def pruned_before(table: Any, partition: int) -> str | None:
    """The horizon the partition last pruned up to (None: never pruned)."""
    value = table_rows.read(table, watermark_key(partition))
    return str(value) if value else None


def is_replay(pruned: str | None, has_row: bool, version: str | None) -> bool:
    """``forgotten`` with the partition's horizon already read (a batch reads it once)."""
    return not has_row and bool(version) and pruned is not None and str(version) < pruned


async def prune(runtime: Runtime, table: Any, name: str, stage: str, topic: str,
                prunable: Callable[[bytes, Any, str], bool],
                partition_key: Callable[[bytes], bytes] = lambda key: key,
                partitions: set[int] | None = None, by_batch: bool = False) -> int:
    """Remove the rows of this worker's partitions (of ``topic``; or of ``partitions``)
    that ``prunable`` judges settled before the horizon; record the horizon per
    partition. ``by_batch``: the table's rows are written a batch at a time
    (streams.table_rows), so its removals go the same way (a removal sent by Faust's
    buffered path could reach the changelog after a later write of the same row)."""
    cutoff = horizon(runtime)
    removed = 0
    for partition in partitions_here(runtime, stage, topic, partitions):
        async for raw, key in rows_in(runtime, table, stage, partition, partition_key):
            value = table.get(key)
            if value and prunable(raw, value, cutoff):
                if by_batch:
                    await runtime.write_rows(table, {key: None})
                else:
                    del table[key]
                removed += 1
        table[watermark_key(partition)] = cutoff
    runtime.metrics.rows_pruned.labels(name).inc(removed)
    return removed

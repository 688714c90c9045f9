"""Corrections to Faust that woosync depends on, applied once when the app is built.

Consumes nothing; changes ``faust.tables.recovery.Recovery._seek_offsets``.

Standby replicas (``WOOSYNC_STANDBY_REPLICAS``): when a rebalance interrupts a worker's
recovery, Faust 0.15 starts its standby partitions with offsets it never resolved, and
the consumer refuses the seek (``ValueError: Offset must be a positive integer``), which
crashes the worker. Measured by ``woosync bench-recovery``: every failover with a
standby crashed the surviving worker. An offset Faust could not resolve now means "from
the changelog's start" (what Faust already does for -1): the standby reads more, never
less, than it needs.
"""

from __future__ import annotations

from typing import Any

from faust.tables.recovery import Recovery

_seek_offsets = Recovery._seek_offsets


async def _seek_resolved(self: Recovery, consumer: Any, tps: Any, offsets: Any,
                         title: str) -> None:
    for tp in tps:
        if not isinstance(offsets[tp], int) or offsets[tp] < -1:
            offsets[tp] = -1
    await _seek_offsets(self, consumer, tps, offsets, title)


def apply() -> None:
    Recovery._seek_offsets = _seek_resolved  # type: ignore[method-assign]

"""compute_availability: reads ``erp.stock`` (StockLevelObserved, and the ErpFeedPolled
heartbeat each partition receives) and ``inventory.holds`` (HoldSet, HoldReleased,
HoldConverted), both keyed by SKU, applies tables.inventory, and when a store's
availability of the SKU changes writes AvailabilityChanged to ``inventory.availability``
and one SetAvailability per changed store to ``store.commands``.

Events are taken in batches and grouped by SKU: each SKU's row is read and written once
per batch and its availability published at most once (the value is absolute, so the
last one is the one that matters). Tables (raw bytes keys, so that web requests route by
the same partitioner as the topics): ``inventory`` (key: SKU) the SKU's row, and under
``__feed__:<partition>`` the last heartbeat that partition received (the ERP feed's
freshness); ``hold_lines`` (key: ``SKU|order|line``) each order line's hold, written on
its SKU's partition.

Timer ``refresh_staleness`` (every worker, a quarter of the stale age): when a
partition's ERP feed turns stale (no heartbeat for ``erp_stale_seconds``) or fresh
again, every SKU of that partition is re-evaluated and its availability republished, so
that a quiet SKU does not keep a value the feed no longer vouches for. It shares a lock
with the agent, so the two never interleave on a SKU's row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams import topics
from streams.envelope import deterministic_id, envelope, trace_for, utcnow
from streams.inventory_config import (
    channels,
    feed_key,
    feed_stale,
    hold_row,
    partition_of,
    policy,
)
from streams.runtime import Inbound, Runtime, writing_as
from tables.inventory import (
    Hold,
    Policy,
    SkuState,
    StoreAvailability,
    apply_hold,
    apply_stock,
    atp,
    hold_key,
    publish,
)

HOLD_EVENTS = frozenset({"HoldSet", "HoldReleased", "HoldConverted"})


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    app = runtime.app
    # bytes keys are sent raw: the web router then hashes them exactly as the producers
    # of the source topics do (a str key would go as JSON).
    table = app.Table("inventory", default=dict, partitions=settings.partitions,
                      key_type=bytes)
    holds = app.Table("hold_lines", default=list, partitions=settings.partitions,
                      key_type=bytes)
    source = app.topic(topics.ERP_STOCK.name, topics.INVENTORY_HOLDS.name,
                       key_serializer="raw", value_serializer="raw")

    lock = asyncio.Lock()
    # The last event handled per partition: the timer writes a partition's rows "as" it.
    last_event: dict[int, Inbound] = {}
    stale_seen: dict[int, bool] = {}

    @app.agent(source, name="compute_availability")
    async def compute_availability(stream: Any) -> None:
        async for batch in runtime.batches(stream, "availability",
                                           settings.inventory_batch_max,
                                           settings.inventory_batch_seconds):
            async with lock:
                await _batch(batch)

    async def _batch(batch: list[Inbound]) -> None:
        beats: dict[int, Inbound] = {}
        by_sku: dict[str, list[Inbound]] = {}
        for inbound in batch:
            last_event[inbound.event.message.partition] = inbound
            name = inbound.message.short_name
            if name == "ErpFeedPolled":
                beats[inbound.event.message.partition] = inbound
            elif name == "StockLevelObserved" or name in HOLD_EVENTS:
                by_sku.setdefault(inbound.key, []).append(inbound)
        for partition, beat in beats.items():
            writing_as(beat)
            feed = table.get(feed_key(partition)) or {}
            polled = beat.message.body["polled_at"].isoformat()
            if polled > feed.get("polled_at", ""):
                table[feed_key(partition)] = {"polled_at": polled}
        for sku, items in by_sku.items():
            try:
                writing_as(items[-1])
                await _one_sku(runtime, table, holds, sku, items,
                               items[-1].event.message.partition, _cause(items))
            except Exception as exc:  # a bad message must not stop the agent
                for item in items:
                    await runtime.dead_letter(item.event, "availability",
                                              f"{type(exc).__name__}: {exc}")

    @runtime.timer(max(1.0, settings.erp_stale_seconds / 4), "refresh_staleness",
                   "staleness")
    async def refresh_staleness() -> None:
        async with lock:
            await _refresh()

    async def _refresh() -> None:
        assigned = {tp.partition for tp in app.consumer.assignment()
                    if tp.topic == topics.ERP_STOCK.name}
        now = utcnow()
        flipped = {}
        for partition in sorted(assigned & set(last_event)):
            stale = feed_stale(settings, table.get(feed_key(partition)), now)
            if stale_seen.get(partition) != stale:
                flipped[partition] = stale
        if not flipped:
            return
        for raw in list(table.keys()):
            if raw.startswith(b"__feed__"):
                continue
            partition = partition_of(raw, settings.partitions)
            if partition in flipped:
                sku = raw.decode()
                writing_as(last_event[partition])
                await _one_sku(runtime, table, holds, sku, [], partition, Cause(
                    deterministic_id("staleness", sku, now.isoformat(), flipped[partition]),
                    now, trace_for(f"sku:{sku}")))
        stale_seen.update(flipped)
        runtime.metrics.feed_polls.labels("staleness", "flipped").inc(len(flipped))

    runtime.tables["inventory"] = table
    runtime.tables["hold_lines"] = holds


@dataclass(frozen=True)
class Cause:
    """What an availability change is attributed to."""

    event_id: str
    occurred_at: datetime
    trace_id: str


def _cause(items: list[Inbound]) -> Cause:
    last = items[-1].message.body["envelope"]
    # The change reflects every event of the batch: it occurred with the oldest of them
    # (so latency measured from occurred_at is the worst case of the batch).
    return Cause(last["event_id"],
                 min(i.message.body["envelope"]["occurred_at"] for i in items),
                 last.get("trace_id") or trace_for(f"sku:{items[-1].key}"))


async def _one_sku(runtime: Runtime, table: Any, holds: Any, sku: str,
                   items: list[Inbound], partition: int, cause: Cause) -> None:
    """Apply one batch's events of one SKU (none: re-evaluate it); write its rows once;
    publish if the availability changed. The caller has set the partition to write to."""
    settings = runtime.settings
    before = SkuState.from_json(sku, table.get(sku.encode()))
    state = before
    changed: dict[str, Hold] = {}
    for item in items:
        body = item.message.body
        name = item.message.short_name
        if name == "StockLevelObserved":
            state = apply_stock(state, body)
            continue
        key = hold_key(body)
        current = changed.get(key) or Hold.from_json(holds.get(hold_row(sku, key)))
        state, new = apply_hold(state, name, current, body)
        if new is not None:
            changed[key] = new
    now = utcnow()
    rules = policy(settings, sku)
    state, out = publish(state, channels(settings, sku), rules,
                         feed_stale(settings, table.get(feed_key(partition)), now), now)
    for key, hold in changed.items():
        holds[hold_row(sku, key)] = hold.to_json()
    if state != before:
        table[sku.encode()] = state.to_json()
    if out:
        await _publish(runtime, state, out, cause, rules)


async def _publish(runtime: Runtime, state: SkuState, changed: list[StoreAvailability],
                   cause: Cause, rules: Policy) -> None:
    now = utcnow()
    settings = runtime.settings
    stamp = now.isoformat()
    occurred, trace = cause.occurred_at, cause.trace_id
    event_id = deterministic_id(cause.event_id, "availability", state.sku)
    every = [{"store": c.store, "quantity": c.quantity, "stock_status": c.status,
              "stale": c.stale} for c in changed]
    for store_id, published in sorted(state.published.items()):
        if store_id not in {c.store for c in changed}:
            every.append({"store": store_id, "quantity": published.quantity,
                          "stock_status": published.status, "stale": published.stale})
    atp_value = atp(state, channels(settings, state.sku)[0], rules) if settings.stores else \
        Decimal(0)
    await runtime.send(topics.INVENTORY_AVAILABILITY, state.sku, "woosync.AvailabilityChanged", {
        "envelope": envelope(event_id=event_id, occurred_at=occurred, observed_at=now,
                             source="woosync", source_version=stamp, trace_id=trace),
        "sku": state.sku, "atp": atp_value.quantize(Decimal("0.0001")),
        "stores": sorted(every, key=lambda s: str(s["store"]))})
    for item in changed:
        command_id = deterministic_id(event_id, item.store)
        await runtime.send(topics.STORE_COMMANDS, item.store_sku, "woosync.SetAvailability", {
            "envelope": envelope(event_id=command_id, occurred_at=occurred, observed_at=now,
                                 source="woosync", source_version=stamp, trace_id=trace),
            "command_id": command_id, "store": item.store, "sku": item.store_sku,
            "quantity": item.quantity, "stock_status": item.status})

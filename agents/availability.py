"""compute_availability: reads ``erp.stock`` (StockLevelObserved, and the ErpFeedPolled
heartbeat each partition receives) and ``inventory.holds`` (HoldSet, HoldReleased,
HoldConverted), both keyed by SKU, applies tables.inventory, and when a store's
availability of the SKU changes writes AvailabilityChanged to ``inventory.availability``
and one SetAvailability per changed store to ``store.commands``.

Events are taken in batches and grouped by SKU: each SKU's row is read and written once
per batch and its availability published at most once (the value is absolute, so the
last one is the one that matters). A SKU's row and its hold rows go to the store and the
changelog a batch at a time, around Faust's per-row path (streams.table_rows), and only
that way: a row written by both paths could reach the changelog out of order (the
partition's feed row, written seldom, keeps Faust's path). Tables (tables.registry):
INVENTORY, the SKU's row
and, per partition, the ERP feed's last heartbeat and whether the SKUs were last judged
against a stale feed; HOLD_LINES, each order line's hold, on its SKU's partition.

Timer ``refresh_staleness`` (every worker, a quarter of the stale age): when a
partition's feed turns stale (no heartbeat for ``erp_stale_seconds``) or fresh again
compared with what its row says, every SKU of that partition is re-evaluated and its
availability republished, so that a quiet SKU does not keep a value the feed no longer
vouches for. It shares a lock with the agent, so the two never interleave on a row.

Timer ``resync_availability`` (every ``availability_resync_seconds``; 0: off): anti-
entropy. Every SKU of this worker's partitions is re-evaluated and its availability sent
to every store again, changed or not, so that a store converges even after a
SetAvailability was lost (dead-lettered after a long outage, or edited away in the store
admin). The value is absolute: sending it again is harmless.

Timer ``prune_holds`` (every ``prune_interval_seconds``): hold rows settled (released,
or converted and covered by a stock read) for longer than the replay horizon are removed;
a hold event older than what its partition removed, about a hold it no longer has, is
dropped (streams.retention).

ERP feed divergence: on the same timer, the partition that holds subject ``erp-feed``
judges the ``feed`` kind from its heartbeat (silent beyond the stale age: disagreeing;
a window past the feed's SLA on top), into table STOCK_WINDOWS.

Store stock divergence: it also reads ``commerce.products`` (the store's own stock of a
SKU, from webhooks and the sweep's read-back) and judges it against what was published
to that store (tables.stock_divergence) into table STOCK_WINDOWS and
``divergence.windows``; timer ``tick_stock_windows`` opens a window once the kind's SLA
has passed, and heals it (when ``divergence_heal`` names ``stock``) by sending the
published availability again, recorded on the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams import divergence, retention, table_rows, topics
from streams.envelope import Cause, deterministic_id, trace_for, utcnow
from streams.inventory_config import channels, feed_stale, partition_of, policy, snapshot_sku
from streams.metrics import UNKNOWN
from streams.runtime import AgentSpec, Inbound, Runtime, writing_as
from streams.table_scan import partitions_here, rows_in
from tables.divergence import Window
from tables.inventory import (
    Arrival,
    Channel,
    Hold,
    Policy,
    SkuState,
    StoreAvailability,
    apply_events,
    availability,
    availability_changed,
    hold_key,
    hold_version,
    publish,
    settled_since,
)
from tables.registry import HOLD_LINES, INVENTORY, STOCK_WINDOWS, feed_key, hold_row, is_feed_key
from tables.risk import with_arrivals
from tables.stock_divergence import (
    FEED_SUBJECT,
    atp_facts,
    feed_fact,
    price_fact,
    raised_by_store,
    recompute,
    stock_fact,
    with_list_price,
)
from tables.stock_divergence import KINDS as STOCK_KINDS

HOLD_EVENTS = frozenset({"HoldSet", "HoldReleased", "HoldConverted"})
SKU_EVENTS = HOLD_EVENTS | {"StockLevelObserved"}


def register(runtime: Runtime) -> None:
    settings, app = runtime.settings, runtime.app
    table, holds = runtime.table(INVENTORY), runtime.table(HOLD_LINES)
    stock_windows = runtime.table(STOCK_WINDOWS)
    source = app.topic(topics.ERP_STOCK.name, topics.INVENTORY_HOLDS.name,
                       topics.COMMERCE_PRODUCTS.name, topics.ERP_CATALOG.name,
                       key_serializer="raw",
                       value_serializer="raw")
    lock = asyncio.Lock()
    # A recent event of each partition: not state, only the handle that lets the timer
    # write a partition's rows where they belong (see writing_as).
    handles: dict[int, Inbound] = {}

    async def handle(batch: list[Inbound]) -> None:
        async with lock:
            by_sku: dict[str, list[Inbound]] = {}
            products: list[Inbound] = []
            for inbound in batch:
                handles[inbound.partition] = inbound
                if inbound.name == "ErpFeedPolled":
                    writing_as(inbound)
                    _heartbeat(table, inbound)
                elif inbound.name in SKU_EVENTS:
                    by_sku.setdefault(inbound.key, []).append(inbound)
                elif inbound.name == "StorefrontProductObserved":
                    products.append(inbound)
                elif inbound.name == "ProductObserved":
                    writing_as(inbound)
                    await _list_price(runtime, table, inbound)
            for sku, items in by_sku.items():
                writing_as(items[-1])
                await _one_sku(runtime, table, holds, sku, items, _cause(items))
            for product in products:
                await _judge_store_stock(runtime, table, stock_windows, product)

    @app.agent(source, name="compute_availability")
    async def compute_availability(stream: Any) -> None:
        await runtime.each_batch(stream, "availability", handle,
                                 settings.inventory_batch_max, settings.inventory_batch_seconds)

    @runtime.timer(max(1.0, settings.erp_stale_seconds / 4), "refresh_staleness")
    async def refresh_staleness() -> None:
        async with lock:
            await _refresh(runtime, table, holds, handles, windows=stock_windows)

    if settings.prune_interval_seconds > 0:
        @runtime.timer(settings.prune_interval_seconds, "prune_holds")
        async def prune_holds() -> None:
            async with lock:
                await _prune(runtime, table, holds)

    @runtime.timer(settings.divergence_tick_seconds, "tick_stock_windows")
    async def tick_stock_windows() -> None:
        async with lock:
            await divergence.tick_all(runtime, stock_windows, "availability",
                                      topics.INVENTORY_HOLDS.name, utcnow(),
                                      heal=_healer(runtime, table), kinds=STOCK_KINDS)

    if settings.divergence_audit_seconds > 0:
        @runtime.timer(settings.divergence_audit_seconds, "audit_availability")
        async def audit_availability() -> None:
            async with lock:
                await _audit(runtime, table, holds, stock_windows)

    if settings.availability_resync_seconds > 0:
        @runtime.timer(settings.availability_resync_seconds, "resync_availability")
        async def resync_availability() -> None:
            async with lock:
                await _refresh(runtime, table, holds, handles, resend=True)


async def _prune(runtime: Runtime, table: Any, holds: Any,
                 partitions: set[int] | None = None) -> int:
    """Remove the hold rows settled before the replay horizon (streams.retention), by
    the batch path their writes take."""
    return await retention.prune(
        runtime, holds, HOLD_LINES.name, "availability", topics.INVENTORY_HOLDS.name,
        lambda key, value, cutoff: _settled_before(table, key, value, cutoff),
        _sku_of_hold, partitions=partitions, by_batch=True)


def _settled_before(table: Any, key: bytes, value: Any, cutoff: str) -> bool:
    sku, _, hold_key_ = key.decode().partition("|")
    hold = Hold.from_json(value)
    if hold is None:
        return False
    since = settled_since(SkuState.from_json(sku, table.get(sku.encode())), hold_key_, hold)
    return since is not None and since < cutoff


def _remembered(runtime: Runtime, holds: Any, items: list[Inbound],
                hold_of: Callable[[str], Hold | None]) -> list[Inbound]:
    """The batch's events of one SKU less the hold events the replay guard drops: about a
    hold with no row, and older than what the partition pruned (streams.retention)."""
    kept, pruned = [], None
    if items:  # one SKU's events: one partition, its horizon read once
        pruned = retention.pruned_before(holds, items[0].partition)
    for inbound in items:
        if inbound.name in HOLD_EVENTS and retention.is_replay(
                pruned, hold_of(hold_key(inbound.body)) is not None,
                hold_version(inbound.name, inbound.body)):
            runtime.metrics.replays_dropped.labels("availability").inc()
            continue
        kept.append(inbound)
    return kept


async def _judge_store_stock(runtime: Runtime, table: Any, windows: Any,
                             product: Inbound) -> None:
    """The store's stock of a SKU, read back, against what was published to it."""
    body = product.body
    sku = snapshot_sku(runtime.settings, body, product.partition)
    if sku is None:
        return
    writing_as(product)
    state = SkuState.from_json(sku, table.get(sku.encode()))
    stock = stock_fact(state, body)
    if stock is not None and stock.store_amount is not None and state.shown.get(
            body["store"]) != int(stock.store_amount):
        state = replace(state, shown={**state.shown, body["store"]: int(stock.store_amount)})
        await runtime.write_rows(table, {sku.encode(): state.to_json()})
        runtime.touch(INVENTORY, sku)
    if stock is not None and raised_by_store(state, stock, utcnow()) and (
            "stock" in runtime.settings.divergence_heal):
        # The store raised its own stock (a restock on refund, an edit): selling what
        # woosync did not publish is oversell risk, so the published value goes back at
        # once instead of after the SLA; it stays judged like any disagreement.
        await _resend_published(runtime, state, body["store"], f"raised:{product.cause.event_id}")
        runtime.metrics.divergence_actions.labels("stock").inc()
    found = [f for f in (stock, price_fact(state, body)) if f is not None]
    if found:
        await divergence.judge(runtime, windows, found, utcnow(), product.cause,
                               _healer(runtime, table))


async def _list_price(runtime: Runtime, table: Any, product: Inbound) -> None:
    sku = product.key
    state = SkuState.from_json(sku, table.get(sku.encode()))
    new = with_list_price(state, product.body)
    if new != state:
        await runtime.write_rows(table, {sku.encode(): new.to_json()})


def _healer(runtime: Runtime, table: Any) -> divergence.Heal:
    """Self-healing of a stock or price window (when settings allow): the availability
    woosync published, or the ERP's list price, is sent to that store again."""
    async def heal(window: Window) -> str | None:
        if window.kind not in runtime.settings.divergence_heal:
            return None
        sku, _, store = window.subject.partition("|")
        state = SkuState.from_json(sku, table.get(sku.encode()))
        if window.kind == "price":
            return await _heal_price(runtime, window, state, store)
        return await _resend_published(runtime, state, store, window.window_id)
    return heal


async def _resend_published(runtime: Runtime, state: SkuState, store: str, why: str
                            ) -> str | None:
    """Send the availability last published to ``store`` again (a new command: the
    sink applies it as the newest value)."""
    published = state.published.get(store)
    channel = next((c for c in channels(runtime.settings, state.sku) if c.store == store),
                   None)
    if published is None or channel is None:
        return None
    now = utcnow()
    cause = Cause(deterministic_id("resend", why, now.isoformat()), now, why,
                  trace_for(f"sku:{state.sku}"))
    await runtime.emit(topics.STORE_COMMANDS, channel.store_sku, "woosync.SetAvailability", {
        "command_id": cause.id_for("woosync.SetAvailability"), "store": store,
        "sku": channel.store_sku, "quantity": published.quantity,
        "stock_status": published.status}, cause, state.sku, store)
    return f"sent the published availability ({published.quantity}) to {store} again"


async def _heal_price(runtime: Runtime, window: Window, state: SkuState, store: str
                      ) -> str | None:
    channel = next((c for c in channels(runtime.settings, state.sku) if c.store == store),
                   None)
    if state.list_price is None or channel is None:
        return None
    now = utcnow()
    cause = Cause(deterministic_id("heal", window.window_id, now.isoformat()), now,
                  window.window_id, trace_for(f"sku:{state.sku}"))
    price = state.list_price[0]
    await runtime.emit(topics.STORE_COMMANDS, channel.store_sku, "woosync.SetPrice", {
        "command_id": cause.id_for("woosync.SetPrice"), "store": store,
        "sku": channel.store_sku, "regular_price": Decimal(price), "sale_price": None,
        "sale_from": None, "sale_to": None}, cause, state.sku, store)
    return f"set the store's price to the ERP's list price ({price})"


def _heartbeat(table: Any, beat: Inbound) -> None:
    row = table.get(feed_key(beat.partition)) or {}
    polled = beat.body["polled_at"].isoformat()
    if polled > row.get("polled_at", ""):
        table[feed_key(beat.partition)] = {**row, "polled_at": polled}


async def _refresh(runtime: Runtime, table: Any, holds: Any,
                   handles: dict[int, Inbound], resend: bool = False,
                   windows: Any = None) -> None:
    """Re-evaluate the SKUs of each assigned partition whose feed turned stale or fresh
    (with ``resend``: of every assigned partition, sending every value again)."""
    settings = runtime.settings
    assigned = {tp.partition for tp in runtime.app.consumer.assignment()
                if tp.topic == topics.ERP_STOCK.name}
    now = utcnow()
    for partition in sorted(assigned & set(handles)):
        row = table.get(feed_key(partition)) or {}
        stale = feed_stale(settings, row or None, now)
        if windows is not None and partition == partition_of(FEED_SUBJECT.encode(),
                                                             settings.partitions):
            writing_as(handles[partition])
            await divergence.judge(runtime, windows, [feed_fact(row, stale)], now,
                                   Cause(deterministic_id("feed", now.isoformat()), now,
                                         now.isoformat(), trace_for(FEED_SUBJECT)))
        if row.get("judged_stale") == stale and not resend:
            continue
        writing_as(handles[partition])
        why = "resync" if resend else "staleness"
        for raw in list(table.keys()):
            if not is_feed_key(raw) and partition_of(raw, settings.partitions) == partition:
                sku = raw.decode()
                await _one_sku(runtime, table, holds, sku, [], Cause(
                    deterministic_id(why, sku, now.isoformat(), stale),
                    now, now.isoformat(), trace_for(f"sku:{sku}")), resend)
        if row.get("judged_stale") != stale:
            table[feed_key(partition)] = {**row, "judged_stale": stale}
            runtime.metrics.staleness_flips.labels("stale" if stale else "fresh").inc()


async def _audit(runtime: Runtime, table: Any, holds: Any, windows: Any,
                 partitions: set[int] | None = None) -> None:
    """The ``atp`` kind: every SKU of this worker's partitions, its sums taken again from
    its hold rows, judged against what was published (runs under the agent's lock, so
    no batch is half applied)."""
    settings, now = runtime.settings, utcnow()
    for partition in partitions_here(runtime, "availability", topics.INVENTORY_HOLDS.name,
                                     partitions):
        found: dict[bytes, list[Hold]] = {}
        async for raw, key in rows_in(runtime, holds, "availability", partition,
                                      _sku_of_hold):
            hold = Hold.from_json(holds.get(key))
            if hold is not None:
                found.setdefault(_sku_of_hold(raw), []).append(hold)
        async for raw, key in rows_in(runtime, table, "availability", partition):
            state = SkuState.from_json(raw.decode(), table.get(key))
            facts = atp_facts(state, recompute(state, found.get(raw, [])),
                              channels(settings, state.sku), policy(settings, state.sku))
            cause = Cause(deterministic_id("audit", state.sku, now.isoformat()), now,
                          now.isoformat(), trace_for(f"sku:{state.sku}"))
            await divergence.judge(runtime, windows, facts, now, cause)


def _sku_of_hold(key: bytes) -> bytes:
    return key.split(b"|", 1)[0]


def _cause(items: list[Inbound]) -> Cause:
    last = items[-1].cause
    # The change reflects every event of the batch: it occurred with the oldest of them
    # (so latency measured from occurred_at is the worst case of the batch).
    oldest: datetime = min(i.body["envelope"]["occurred_at"] for i in items)
    return replace(last, occurred_at=oldest)


async def _one_sku(runtime: Runtime, table: Any, holds: Any, sku: str,
                   items: list[Inbound], cause: Cause, resend: bool = False) -> None:
    """Apply one batch's events of one SKU (none: re-evaluate it); write its rows once;
    publish if the availability changed (with ``resend``: publish every store's value).
    The caller has set the partition to write to."""
    settings = runtime.settings
    before = SkuState.from_json(sku, table_rows.read(table, sku.encode()))
    read: dict[str, Hold | None] = {}

    def hold_of(key: str) -> Hold | None:
        """Each hold row read once per batch (the guard and the rules both ask)."""
        if key not in read:
            read[key] = Hold.from_json(table_rows.read(holds, hold_row(sku, key)))
        return read[key]

    items = _remembered(runtime, holds, items, hold_of)
    for item in items:
        if item.name == "HoldSet":  # the order's own hold: its provisional one ends
            runtime.provisional.settle(sku, item.body["order_id"])
    arrivals: list[Arrival] = []
    state, changed = apply_events(before, [(i.name, i.body) for i in items], hold_of,
                                  arrivals)
    now = utcnow()
    rules, stores = policy(settings, sku), channels(settings, sku)
    if arrivals:
        state, oversold = with_arrivals(state, arrivals, stores, rules)
        for store, units in oversold.items():
            runtime.metrics.oversold_units.labels(
                store if store in settings.stores else UNKNOWN).inc(float(units))
    feed_row = feed_key(partition_of(sku.encode(), settings.partitions))
    feed = table.get(feed_row)
    stale = feed_stale(settings, feed, now)
    if feed and feed.get("judged_stale") is not None and feed["judged_stale"] != stale:
        # This SKU is judged against the feed as it is now, the partition's other SKUs
        # were not: the staleness timer's next run re-evaluates them all (a blip shorter
        # than its interval would otherwise leave this one on the blip's value).
        table[feed_row] = {**feed, "judged_stale": None}
    state, out = publish(state, stores, rules, stale, now)
    if resend and state.read_at is not None:
        out = availability(state, stores, rules, stale)
    if out:
        await _announce(runtime, state, out, stores, rules, cause)
        if items:  # caused by events, not by a timer's re-evaluation
            runtime.metrics.sync_latency.labels("availability").observe(
                max(0.0, (utcnow() - cause.occurred_at).total_seconds()))
    # Written only once the announcement is out: a row saying "published" for a value
    # that never left would keep the store on the old one.
    await runtime.write_rows(holds, {hold_row(sku, key): hold.to_json()
                                     for key, hold in changed.items()})
    if state != before:
        await runtime.write_rows(table, {sku.encode(): state.to_json()})
        runtime.touch(INVENTORY, sku)


async def _announce(runtime: Runtime, state: SkuState, out: list[StoreAvailability],
                    stores: list[Channel], rules: Policy, cause: Cause) -> None:
    sku = state.sku
    await runtime.emit(topics.INVENTORY_AVAILABILITY, sku, "woosync.AvailabilityChanged",
                       availability_changed(state, out, stores, rules), cause, sku)
    for item in out:
        command_id = cause.id_for("woosync.SetAvailability", sku, item.store)
        await runtime.emit(topics.STORE_COMMANDS, item.store_sku, "woosync.SetAvailability",
                           {"command_id": command_id, "store": item.store,
                            "sku": item.store_sku, "quantity": item.quantity,
                            "stock_status": item.status},
                           cause, sku, item.store)


AGENT = AgentSpec("availability", register, reads=(INVENTORY, HOLD_LINES, STOCK_WINDOWS))

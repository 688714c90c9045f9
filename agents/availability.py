"""compute_availability: reads ``erp.stock`` (StockLevelObserved, and the ErpFeedPolled
heartbeat each partition receives) and ``inventory.holds`` (HoldSet, HoldReleased,
HoldConverted), both keyed by SKU, applies tables.inventory, and when a store's
availability of the SKU changes writes AvailabilityChanged to ``inventory.availability``
and one SetAvailability per changed store to ``store.commands``.

Table ``inventory`` (key: SKU; raw bytes so that web requests route by the same
partitioner as the topics): the SKU's state, and under ``__feed__`` the last heartbeat
this partition received (the ERP feed's freshness).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from streams import topics
from streams.envelope import deterministic_id, envelope, trace_for, utcnow
from streams.runtime import Runtime
from streams.settings import Settings
from tables.inventory import (
    Channel,
    Policy,
    SkuState,
    StoreAvailability,
    apply_hold_converted,
    apply_hold_released,
    apply_hold_set,
    apply_stock,
    atp,
    is_stale,
    publish,
)


def feed_key(partition: int) -> bytes:
    """Where a partition keeps its last ERP heartbeat (each partition gets its own)."""
    return f"__feed__:{partition}".encode()

RULES = {"StockLevelObserved": apply_stock, "HoldSet": apply_hold_set,
         "HoldReleased": apply_hold_released, "HoldConverted": apply_hold_converted}


def channels(settings: Settings, sku: str) -> list[Channel]:
    """Every store's view of one ERP product: its warehouses and its own SKU."""
    out = []
    for store_id, store in sorted(settings.stores.items()):
        store_sku = next((s for s, code in store.sku_map.items() if code == sku), sku)
        out.append(Channel(store_id, store.warehouses, store_sku))
    return out


def policy(settings: Settings, sku: str) -> Policy:
    from datetime import timedelta

    return Policy(safety_stock=settings.safety_stock.get(sku, settings.default_safety_stock),
                  stale_after=timedelta(seconds=settings.erp_stale_seconds),
                  stale_buffer=settings.stale_buffer)


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    app = runtime.app
    table = app.Table("inventory", default=dict, partitions=settings.partitions,
                      # bytes keys are sent raw: the web router then hashes them exactly as
                      # the producers of the source topics do (a str key would go as JSON).
                      key_type=bytes)
    source = app.topic(topics.ERP_STOCK.name, topics.INVENTORY_HOLDS.name,
                       key_serializer="raw", value_serializer="raw")

    @app.agent(source, name="compute_availability")
    async def compute_availability(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "availability"):
            message = inbound.message
            partition = inbound.event.message.partition
            if message.short_name == "ErpFeedPolled":
                table[feed_key(partition)] = {"polled_at": message.body["polled_at"].isoformat()}
                continue
            rule = RULES.get(message.short_name)
            if rule is None:
                continue
            sku = inbound.key
            state = SkuState.from_json(sku, table.get(sku.encode()))
            new = rule(state, message.body)
            now = utcnow()
            feed = table.get(feed_key(partition)) or {}
            polled = datetime.fromisoformat(feed["polled_at"]) if feed else None
            rules = policy(settings, sku)
            new, changed = publish(new, channels(settings, sku), rules,
                                   is_stale(polled, now, rules), now)
            if new != state:
                table[sku.encode()] = new.to_json()
            if changed:
                await _publish(runtime, new, changed, message.body["envelope"], rules)

    runtime.tables["inventory"] = table


async def _publish(runtime: Runtime, state: SkuState, changed: list[StoreAvailability],
                   cause: dict[str, Any], rules: Policy) -> None:
    now = utcnow()
    settings = runtime.settings
    stamp = now.isoformat()
    event_id = deterministic_id(cause["event_id"], "availability", state.sku)
    every = [{"store": c.store, "quantity": c.quantity, "stock_status": c.status,
              "stale": c.stale} for c in changed]
    for store_id, published in sorted(state.published.items()):
        if store_id not in {c.store for c in changed}:
            every.append({"store": store_id, "quantity": published.quantity,
                          "stock_status": published.status, "stale": published.stale})
    atp_value = atp(state, channels(settings, state.sku)[0], rules) if settings.stores else \
        Decimal(0)
    await runtime.send(topics.INVENTORY_AVAILABILITY, state.sku, "woosync.AvailabilityChanged", {
        "envelope": envelope(event_id=event_id, occurred_at=cause["occurred_at"],
                             observed_at=now, source="woosync", source_version=stamp,
                             trace_id=cause.get("trace_id") or trace_for(f"sku:{state.sku}")),
        "sku": state.sku, "atp": atp_value.quantize(Decimal("0.0001")),
        "stores": sorted(every, key=lambda s: str(s["store"]))})
    for item in changed:
        command_id = deterministic_id(event_id, item.store)
        await runtime.send(topics.STORE_COMMANDS, item.store_sku, "woosync.SetAvailability", {
            "envelope": envelope(event_id=command_id, occurred_at=cause["occurred_at"],
                                 observed_at=now, source="woosync", source_version=stamp,
                                 trace_id=cause.get("trace_id") or trace_for(state.sku)),
            "command_id": command_id, "store": item.store, "sku": item.store_sku,
            "quantity": item.quantity, "stock_status": item.status})

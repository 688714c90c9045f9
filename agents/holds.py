"""track_holds: reads ``commerce.orders`` (OrderObserved, RefundObserved) and
``erp.documents`` (SalesOrderObserved), both keyed by order id, and writes the hold
events of each order line to ``inventory.holds``, keyed by the ERP product code:
HoldSet / HoldReleased from the store's order states and refunds, HoldConverted when
the ERP has confirmed the sale. A variation whose stock the parent manages holds against
the parent's SKU (tables.stock, from the global table STOCK_OWNERS). Table ORDER_HOLDS
(key: order id): per order, the state of tables.holds. A line whose SKU maps to no ERP
product holds nothing and goes to ``dlq``, counted.

Timer ``prune_order_holds``: an order row that has held nothing for longer than the
replay horizon is removed; a snapshot of an order created before what its partition
removed, with no row, is dropped (streams.retention).
"""

from __future__ import annotations

from typing import Any

from streams import retention, topics
from streams.runtime import AgentSpec, Inbound, Runtime
from tables.holds import (
    OrderHolds,
    apply_order,
    apply_refund,
    apply_sale,
    hold_fields,
    settled_since,
)
from tables.registry import ORDER_HOLDS, STOCK_OWNERS, owner_key
from tables.stock import StockOwner, stock_sku

WANTED = ("OrderObserved", "RefundObserved", "SalesOrderObserved")


def register(runtime: Runtime) -> None:
    table, owners = runtime.table(ORDER_HOLDS), runtime.table(STOCK_OWNERS)
    source = runtime.app.topic(topics.COMMERCE_ORDERS.name, topics.ERP_DOCUMENTS.name,
                               key_serializer="raw", value_serializer="raw")

    async def handle(inbound: Inbound) -> None:
        key = inbound.key.encode()
        row = table.get(key)
        body = inbound.body
        if inbound.name == "OrderObserved" and retention.forgotten(
                table, inbound.partition, bool(row), body["created_at"].isoformat()):
            # An order settled and pruned long ago, seen again: its stock is the ERP's.
            runtime.metrics.replays_dropped.labels("holds").inc()
            return
        state = OrderHolds.from_json(inbound.key, row)
        if inbound.name == "OrderObserved":
            new, events = apply_order(state, body, _erp_skus(runtime, owners, body))
        elif inbound.name == "RefundObserved":
            new, events = apply_refund(state, body)
        else:
            new, events = apply_sale(state, body)
        if new.unmapped != state.unmapped and new.unmapped:
            await runtime.dead_letter(inbound.event, "holds",
                                      f"order lines {', '.join(new.unmapped)} of"
                                      f" {inbound.key}: SKU maps to no ERP product")
        occurred = body["envelope"]["occurred_at"]
        for event in events:
            await runtime.emit(topics.INVENTORY_HOLDS, event.sku, f"woosync.{event.kind}",
                               hold_fields(new, event, occurred), inbound.cause,
                               event.sku, event.line_id)
        if new != state:
            table[key] = new.to_json()

    @runtime.app.agent(source, name="track_holds")
    async def track_holds(stream: Any) -> None:
        await runtime.each(stream, "holds", handle, WANTED)

    if runtime.settings.prune_interval_seconds > 0:
        @runtime.timer(runtime.settings.prune_interval_seconds, "prune_order_holds")
        async def prune_order_holds() -> None:
            await retention.prune(runtime, table, ORDER_HOLDS.name, "holds",
                                  topics.COMMERCE_ORDERS.name, _settled_before)


def _settled_before(key: bytes, value: Any, cutoff: str) -> bool:
    since = settled_since(OrderHolds.from_json(key.decode(), value))
    return since is not None and since < cutoff


def _erp_skus(runtime: Runtime, owners: Any, order: dict[str, Any]) -> dict[str, str]:
    """Each line's store SKU -> the ERP product code its stock is held against."""
    store = runtime.settings.stores.get(order["store"])
    if store is None:
        return {}
    known: dict[int, StockOwner] = {}
    for line in order["lines"]:
        for product_id in (line["variation_id"], line["product_id"]):
            row = StockOwner.from_json(owners.get(owner_key(order["store"], product_id))
                                       if product_id else None)
            if row is not None:
                known[product_id] = row
    out = {}
    for line in order["lines"]:
        uses = stock_sku(line, known)
        if line["sku"] and uses:
            out[line["sku"]] = store.erp_code(uses)
    return out


AGENT = AgentSpec("holds", register, reads=(ORDER_HOLDS, STOCK_OWNERS))

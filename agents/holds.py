"""track_holds: reads ``commerce.orders`` (OrderObserved, RefundObserved) and
``erp.documents`` (SalesOrderObserved), both keyed by order id, and writes the hold
events of each order line to ``inventory.holds``, keyed by the ERP product code:
HoldSet / HoldReleased from the store's order states and refunds, HoldConverted when
the ERP has confirmed the sale. A variation whose stock the parent manages holds against
the parent's SKU (read from the global table ``stock_owners``). Table ``order_holds``
(key: order id): per order, the state of tables.holds. A line whose SKU maps to no ERP
product holds nothing and goes to ``dlq``, counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.stock_owners import owner_key
from streams import topics
from streams.envelope import deterministic_id, envelope, trace_for, utcnow
from streams.runtime import Inbound, Runtime
from tables.holds import (
    HoldEvent,
    OrderHolds,
    apply_order,
    apply_refund,
    apply_sale,
    stock_sku,
)


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    app = runtime.app
    table = app.Table("order_holds", default=dict, partitions=settings.partitions,
                      # bytes keys are sent raw: the web router then hashes them exactly as
                      # the producers of the source topics do (a str key would go as JSON).
                      key_type=bytes)
    source = app.topic(topics.COMMERCE_ORDERS.name, topics.ERP_DOCUMENTS.name,
                       key_serializer="raw", value_serializer="raw")
    wanted = {"OrderObserved", "RefundObserved", "SalesOrderObserved"}

    @app.agent(source, name="track_holds")
    async def track_holds(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "holds"):
            if inbound.message.short_name not in wanted:
                continue
            key = inbound.key.encode()
            state = OrderHolds.from_json(inbound.key, table.get(key))
            new, events = _apply(runtime, state, inbound)
            if new.unmapped != state.unmapped and new.unmapped:
                await runtime.dead_letter(inbound.event, "holds",
                                          f"order lines {', '.join(new.unmapped)} of"
                                          f" {inbound.key}: SKU maps to no ERP product")
            for event in events:
                await _send(runtime, new, event, inbound)
            if new != state:
                table[key] = new.to_json()


def _apply(runtime: Runtime, state: OrderHolds, inbound: Inbound
           ) -> tuple[OrderHolds, list[HoldEvent]]:
    body = inbound.message.body
    name = inbound.message.short_name
    if name == "OrderObserved":
        store = runtime.settings.stores.get(body["store"])
        owners = _owners(runtime, body)
        skus = {}
        for line in body["lines"]:
            uses = stock_sku(line, owners)
            if line["sku"] and uses and store:
                skus[line["sku"]] = store.erp_code(uses)
        return apply_order(state, body, skus)
    if name == "RefundObserved":
        return apply_refund(state, body)
    return apply_sale(state, body)


def _owners(runtime: Runtime, order: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """The order's variations and their parents, as the stock_owners table knows them."""
    table = runtime.tables.get("stock_owners")
    if table is None:
        return {}
    out: dict[int, tuple[str, int]] = {}
    for line in order["lines"]:
        for product_id in (line["variation_id"], line["product_id"]):
            row = table.get(owner_key(order["store"], product_id)) if product_id else None
            if row:
                out[product_id] = (row["sku"], row["managed_by"])
    return out


async def _send(runtime: Runtime, state: OrderHolds, event: HoldEvent,
                inbound: Inbound) -> None:
    parent = inbound.message.body["envelope"]
    now = utcnow()
    version = datetime.fromisoformat(state.version) if state.version else parent["occurred_at"]
    common = {
        "envelope": envelope(
            event_id=deterministic_id(parent["event_id"], event.kind, event.sku, event.line_id),
            occurred_at=parent["occurred_at"], observed_at=now, source="woosync",
            source_version=parent["source_version"],
            trace_id=parent.get("trace_id") or trace_for(state.order_id)),
        "sku": event.sku, "order_id": state.order_id, "line_id": event.line_id}
    if event.kind == "HoldSet":
        body = {**common, "store": state.store, "quantity": event.quantity,
                "order_version": version}
    elif event.kind == "HoldReleased":
        body = {**common, "store": state.store, "order_version": version,
                "reason": event.reason}
    else:
        assert event.confirmed_at is not None
        body = {**common, "confirmed_at": datetime.fromisoformat(event.confirmed_at)}
    await runtime.send(topics.INVENTORY_HOLDS, event.sku, f"woosync.{event.kind}", body)

"""track_stock_owners: reads ``commerce.products`` (StorefrontProductObserved) and keeps
in the global table STOCK_OWNERS (every worker holds all of it, so that the order
agents, partitioned by order id, can read any product) each store product's SKU and the
product id whose stock it uses (tables.stock). Key ``<store>|<product id>``; an older
snapshot than the one kept changes nothing.
"""

from __future__ import annotations

from typing import Any

from streams import topics
from streams.runtime import AgentSpec, Inbound, Runtime
from tables.registry import STOCK_OWNERS, owner_key
from tables.stock import StockOwner, observe_owner


def register(runtime: Runtime) -> None:
    table = runtime.table(STOCK_OWNERS)
    source = runtime.app.topic(topics.COMMERCE_PRODUCTS.name, key_serializer="raw",
                               value_serializer="raw")

    async def handle(inbound: Inbound) -> None:
        key = owner_key(inbound.body["store"], inbound.body["product_id"])
        row = observe_owner(StockOwner.from_json(table.get(key)), inbound.body)
        if row is not None:
            table[key] = row.to_json()

    @runtime.app.agent(source, name="track_stock_owners")
    async def track_stock_owners(stream: Any) -> None:
        await runtime.each(stream, "stock-owners", handle)


AGENT = AgentSpec("stock_owners", register, reads=(STOCK_OWNERS,))

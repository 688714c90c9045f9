"""track_stock_owners: reads ``commerce.products`` (StorefrontProductObserved) and keeps
in the global table ``stock_owners`` (every worker holds all of it, so that the order
agents, partitioned by order id, can read any product) each store product's SKU and the
product id whose stock it uses: its own, or its parent's for a variation whose stock the
parent manages (WooCommerce ``manage_stock: "parent"``). Key ``<store>|<product id>``;
an older snapshot than the one kept changes nothing.
"""

from __future__ import annotations

from typing import Any

from streams import topics
from streams.runtime import Runtime


def owner_key(store: str, product_id: int) -> str:
    return f"{store}|{product_id}"


def register(runtime: Runtime) -> None:
    app = runtime.app
    table = app.GlobalTable("stock_owners", default=dict,
                            partitions=runtime.settings.partitions)
    source = app.topic(topics.COMMERCE_PRODUCTS.name, key_serializer="raw",
                       value_serializer="raw")

    @app.agent(source, name="track_stock_owners")
    async def track_stock_owners(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "stock-owners"):
            body = inbound.message.body
            key = owner_key(body["store"], body["product_id"])
            row = {"sku": body["sku"], "managed_by": body["stock_managed_by"],
                   "modified_at": body["modified_at"].isoformat()}
            kept = table.get(key) or {}
            if row["modified_at"] >= kept.get("modified_at", "") and row != kept:
                table[key] = row

    runtime.tables["stock_owners"] = table

"""What a person does in the ERP during the tests: look up a warehouse, count stock."""

from __future__ import annotations

from typing import Any

from devstack.flash_sale import ship as ship_shipment
from streams.erp.tryton_rpc import TrytonClient


async def warehouse_id(client: TrytonClient, code: str) -> int:
    found = await client.model("stock.location", "search", [("code", "=", code)], 0, 1, None)
    return int(found[0])


async def count_stock(client: TrytonClient, sku: str, warehouse: str, quantity: int) -> None:
    """A stock count in the ERP: an inventory of the warehouse's storage, confirmed."""
    storage = (await client.model("stock.location", "read", [await warehouse_id(client, warehouse)],
                                  ["storage_location"]))[0]["storage_location"]
    product = (await client.model("product.product", "search", [("code", "=", sku)],
                                  0, 1, None))[0]
    inventory, = await client.model("stock.inventory", "create", [{
        "location": storage, "lines": [["create", [{"product": product,
                                                     "quantity": float(quantity)}]]]}])
    await client.model("stock.inventory", "confirm", [inventory])


async def sale_of(client: TrytonClient, order_id: str) -> list[dict[str, Any]]:
    """The ERP sales made for a store order (exactly one is expected)."""
    return list(await client.model(
        "sale.sale", "search_read", [("woosync_reference", "=", order_id)], 0, None, None,
        ["state", "shipments", "invoices", "untaxed_amount", "tax_amount", "total_amount",
         "lines.product.code", "lines.quantity", "lines.unit_price"]))


async def ship(client: TrytonClient, order_id: str, tracking: str) -> None:
    """The warehouse ships the order's sale with a tracking number."""
    sale, = await sale_of(client, order_id)
    for shipment in sale["shipments"]:
        await ship_shipment(client, shipment, tracking)

"""A store's stock of a SKU against what woosync last published to it. Pure.

Consumes a SKU's row (tables.inventory.SkuState: what was published to each store) and
one StorefrontProductObserved of that SKU (the store's own stock, from a webhook or the
sweep's read-back); produces the ``stock`` fact for tables.divergence, subject
``<ERP SKU>|<store>``. Nothing to judge (None) when the store does not manage this
product's stock itself (a parent holds it: the parent's snapshot is judged), when it is
deleted, or before anything was published to that store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tables.divergence import Fact, Sides
from tables.inventory import SkuState


def stock_fact(state: SkuState, product: dict[str, Any]) -> Fact | None:
    store = product["store"]
    published = state.published.get(store)
    managed_here = product["manage_stock"] and product["stock_managed_by"] == product[
        "product_id"]
    if published is None or not managed_here or product["deleted"]:
        return None
    shown = Decimal(product["stock_quantity"] or 0)
    return Fact("stock", f"{state.sku}|{store}", True,
                Sides(f"store shows {shown}", f"woosync published {published.quantity}",
                      "the stock was edited in the store, or an availability command was"
                      " lost"), shown, Decimal(published.quantity))

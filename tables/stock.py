"""Where a store product's stock lives, decided once (DESIGN.md section 5).

WooCommerce lets a variation leave its stock to its parent (``manage_stock: "parent"``):
then orders of the variation take the parent's stock, the store's stock number to write
is the parent's, and woosync holds against the parent's SKU. The normalizer, the hold
agent and the store sink all ask this module. Pure; standard library only.

Consumes store product facts (type, ids, manage_stock) and the rows of the global table
``stock_owners`` (key ``<store>|<product id>``); produces the id of the product holding
the stock, a row, and the SKU an order line holds against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def stock_holder(product_id: int, parent_id: int, manage_stock: object) -> int:
    """The id of the product whose stock a product uses: its parent's for a variation
    whose stock the parent manages, its own otherwise."""
    return parent_id if manage_stock == "parent" and parent_id else product_id


@dataclass(frozen=True)
class StockOwner:
    """A row of ``stock_owners``: a store product's SKU and the product holding its stock."""

    sku: str
    managed_by: int
    modified_at: str  # ISO-8601 of the product snapshot it comes from

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "managed_by": self.managed_by,
                "modified_at": self.modified_at}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> StockOwner | None:
        if not data:
            return None
        return cls(data["sku"], int(data["managed_by"]), data["modified_at"])


def observe_owner(kept: StockOwner | None, product: dict[str, Any]) -> StockOwner | None:
    """The row after a StorefrontProductObserved, or None when nothing changes (an older
    snapshot than the one kept never wins)."""
    row = StockOwner(product["sku"], product["stock_managed_by"],
                     product["modified_at"].isoformat())
    if kept is not None and (row.modified_at < kept.modified_at or row == kept):
        return None
    return row


def stock_sku(line: dict[str, Any], owners: Mapping[int, StockOwner]) -> str | None:
    """The store SKU whose stock an order line uses: its own, or for a variation whose
    stock the parent manages (``owners``: product id -> row), the parent's. Unknown
    products and parents without a SKU keep the line's own SKU (a later snapshot of the
    order moves the hold once the products are known)."""
    variation = line.get("variation_id") or 0
    owner = owners.get(variation) if variation else None
    if owner is None or owner.managed_by in (0, variation):
        return line["sku"]  # type: ignore[no-any-return]
    parent = owners.get(owner.managed_by)
    return parent.sku if parent and parent.sku else line["sku"]

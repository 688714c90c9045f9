"""The retail data a woosync ERP is seeded with for the demo and tests: two warehouses,
a variable product's variants, a few dozen promotion SKUs, a shipping service, stock.
Plain data: the Tryton seed script, the emulator's catalogue and the tests read it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from woo_emulator.runner import CatalogueItem

WAREHOUSES = ("WH", "WH2")
TAX_RATE = Decimal("0.20")
SHIPPING_SKU = "SHIPPING"
INTEGRATION_LOGIN = "woosync"
INTEGRATION_PASSWORD = "woosync-erp-pass"
DATABASE = "woosync"
# The emulator's REST keys (woo_emulator's defaults), for local stacks only.
EMULATOR_KEYS = {"consumer_key": "ck_demo", "consumer_secret": "cs_demo"}


@dataclass(frozen=True)
class SeedProduct:
    template: str
    sku: str
    list_price: Decimal
    stock: dict[str, int]


def products() -> list[SeedProduct]:
    items = [
        # A variable product: one template, three variants (as WooCommerce variations).
        SeedProduct("T-Shirt", "TSHIRT-S", Decimal("19.90"), {"WH": 100, "WH2": 10}),
        SeedProduct("T-Shirt", "TSHIRT-M", Decimal("19.90"), {"WH": 120, "WH2": 10}),
        SeedProduct("T-Shirt", "TSHIRT-L", Decimal("19.90"), {"WH": 80, "WH2": 0}),
        SeedProduct("Mug", "MUG", Decimal("9.50"), {"WH": 200, "WH2": 20}),
        SeedProduct("Cap", "CAP", Decimal("14.00"), {"WH": 60, "WH2": 5}),
    ]
    # Promotion-day SKUs: modest stock so that a flash sale can sell them out.
    for n in range(1, 25):
        items.append(SeedProduct(f"Promo item {n:02d}", f"HOT-{n:02d}",
                                 Decimal("5.00") + n, {"WH": 30 + n, "WH2": n % 4}))
    return items


def store_catalogue() -> list[CatalogueItem]:
    """The store's side of the same catalogue, for the WooCommerce emulator: every SKU
    with the stock of both warehouses, the T-shirt as a variable product."""
    out = []
    for item in products():
        stock = sum(item.stock.values())
        if item.sku.startswith("TSHIRT-"):
            out.append(CatalogueItem(f"{item.template} {item.sku[-1]}", item.sku,
                                     item.list_price, stock, variation_of=item.template,
                                     parent_sku="TSHIRT"))
        else:
            out.append(CatalogueItem(item.template, item.sku, item.list_price, stock))
    return out

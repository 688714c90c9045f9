"""Plausible canonical messages, built from a seed: the foundation demo's sample feed
and test data. Pure: the caller passes ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from streams.envelope import deterministic_id, envelope

CENT = Decimal("0.01")


def _address(n: int) -> dict[str, str]:
    return {"first_name": f"Shopper{n}", "last_name": "Example", "company": "",
            "address_1": f"{n} Market Street", "address_2": "", "city": "Springfield",
            "state": "", "postcode": "12345", "country": "US",
            "email": f"shopper{n}@example.com", "phone": ""}


def order_observed(store: str, number: int, now: datetime, sku: str = "TSHIRT-M",
                   quantity: int = 1, status: str = "processing") -> dict[str, Any]:
    order_id = f"woo:{store}:{number}"
    price = Decimal("19.90")
    total = (price * quantity).quantize(CENT)
    tax = (total * Decimal("0.2")).quantize(CENT)
    modified = now.replace(microsecond=0)
    return {
        "envelope": envelope(
            event_id=deterministic_id(order_id, modified.isoformat()), occurred_at=modified,
            observed_at=now, source=f"woocommerce:{store}", source_version=modified.isoformat(),
            trace_id=deterministic_id("trace", order_id)),
        "order_id": order_id, "store": store, "number": str(number), "status": status,
        "currency": "EUR", "created_at": modified - timedelta(seconds=5),
        "modified_at": modified, "paid_at": modified, "customer_id": 0,
        "billing": _address(number), "shipping": _address(number),
        "prices_include_tax": False,
        "lines": [{"line_id": str(number * 10), "sku": sku, "product_id": 100,
                   "variation_id": 0, "name": sku, "quantity": quantity,
                   "unit_price": price, "subtotal": total, "total": total,
                   "total_tax": tax}],
        "shipping_total": Decimal("4.90"), "shipping_tax": Decimal("0.98"),
        "discount_total": Decimal(0), "total_tax": tax + Decimal("0.98"),
        "total": total + tax + Decimal("4.90") + Decimal("0.98"),
        "payment_method": "cod", "refund_ids": [],
    }


def stock_level_observed(sku: str, now: datetime, on_hand: Decimal,
                         allocated: Decimal = Decimal(0)) -> dict[str, Any]:
    return {
        "envelope": envelope(
            event_id=deterministic_id("stock", sku, now.isoformat()), occurred_at=now,
            observed_at=now, source="erp:tryton", source_version=now.isoformat(),
            trace_id=deterministic_id("trace", "stock", sku, now.isoformat())),
        "sku": sku, "read_at": now,
        "warehouses": [{"warehouse": "WH", "on_hand": on_hand,
                        "forecast": on_hand - allocated}],
    }

"""Plausible canonical messages, built from a seed: the foundation demo's sample feed
and test data. Pure: the caller passes ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from streams.envelope import deterministic_id, envelope, trace_for

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
            trace_id=trace_for(order_id)),
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


def create_sales_order(order_id: str, now: datetime, lines: list[tuple[str, int]],
                       warehouse: str = "WH", unit_price: Decimal = Decimal("19.90"),
                       shipping: Decimal = Decimal("4.90")) -> dict[str, Any]:
    store = order_id.split(":")[1]
    number = int(order_id.rsplit(":", 1)[-1]) if order_id.rsplit(":", 1)[-1].isdigit() else 1
    total = sum((unit_price * q for _, q in lines), Decimal(0)) + shipping
    return {
        "envelope": envelope(
            event_id=deterministic_id("cmd", order_id), occurred_at=now, observed_at=now,
            source="woosync", source_version=now.isoformat(), trace_id=trace_for(order_id)),
        "command_id": deterministic_id("CreateSalesOrder", order_id),
        "order_id": order_id, "store": store, "warehouse": warehouse, "currency": "EUR",
        "billing": _address(number), "shipping": _address(number),
        "lines": [{"line_id": str(i), "sku": sku, "quantity": Decimal(q),
                   "unit_price": unit_price, "description": sku}
                  for i, (sku, q) in enumerate(lines, 1)],
        "shipping_total": shipping, "total": (total * Decimal("1.2")).quantize(CENT),
    }


def create_credit_note(order_id: str, refund_number: int, now: datetime,
                       lines: list[tuple[str, int]], amount: Decimal,
                       restock: bool = True) -> dict[str, Any]:
    store = order_id.split(":")[1]
    refund_id = f"woo:{store}:refund:{refund_number}"
    return {
        "envelope": envelope(
            event_id=deterministic_id("cmd", refund_id), occurred_at=now, observed_at=now,
            source="woosync", source_version=now.isoformat(), trace_id=trace_for(order_id)),
        "command_id": deterministic_id("CreateCreditNote", refund_id),
        "order_id": order_id, "refund_id": refund_id, "store": store, "amount": amount,
        "restock": restock,
        "lines": [{"line_id": str(i), "sku": sku, "quantity": Decimal(q), "amount": Decimal(0)}
                  for i, (sku, q) in enumerate(lines, 1)],
        "reason": "customer return",
    }

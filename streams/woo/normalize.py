"""WooCommerce JSON to canonical events. Pure: the caller passes ``observed_at``.

Consumes one store's order, refund, product or customer JSON (validated by
``streams.woo.models``) and produces the canonical body (OrderObserved, RefundObserved,
StorefrontProductObserved, CustomerObserved) with its envelope: the event id is derived from the
resource and its ``date_modified_gmt``, so the same snapshot always gets the same id;
the trace id is the order's (or SKU's), shared with the ERP's events about it. Ids
carry the store (streams.woo.ids).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams.envelope import deterministic_id, envelope, trace_for
from streams.woo import models
from streams.woo.ids import customer_id, order_id, refund_id
from tables.stock import stock_holder

FOUR = Decimal("0.0001")


def _money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(FOUR)


def _env(store: str, subject: str, version: datetime, observed_at: datetime,
         trace_subject: str) -> dict[str, Any]:
    stamp = version.isoformat()
    return envelope(event_id=deterministic_id(f"woocommerce:{store}", subject, stamp),
                    occurred_at=version, observed_at=observed_at,
                    source=f"woocommerce:{store}", source_version=stamp,
                    trace_id=trace_for(trace_subject))


def digest(body: dict[str, Any]) -> str:
    """A digest of a canonical body's content (the envelope left out)."""
    content = {k: v for k, v in body.items() if k != "envelope"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def order_observed(store: str, order: models.Order, observed_at: datetime) -> dict[str, Any]:
    oid = order_id(store, order.id)
    return {
        "envelope": _env(store, oid, order.date_modified_gmt, observed_at, oid),
        "order_id": oid, "store": store, "number": order.number, "status": order.status,
        "currency": order.currency, "created_at": order.date_created_gmt,
        "modified_at": order.date_modified_gmt, "paid_at": order.date_paid_gmt,
        "customer_id": order.customer_id, "billing": order.billing.model_dump(),
        "shipping": order.shipping.model_dump(), "prices_include_tax": order.prices_include_tax,
        "lines": [{"line_id": str(line.id), "sku": line.sku or None,
                   "product_id": line.product_id, "variation_id": line.variation_id,
                   "name": line.name, "quantity": line.quantity,
                   "unit_price": _money(line.price), "subtotal": _money(line.subtotal),
                   "total": _money(line.total), "total_tax": _money(line.total_tax)}
                  for line in order.line_items],
        "shipping_total": _money(order.shipping_total), "shipping_tax": _money(order.shipping_tax),
        "discount_total": _money(order.discount_total), "total_tax": _money(order.total_tax),
        "total": _money(order.total), "payment_method": order.payment_method,
        "refund_ids": [refund_id(store, r.id) for r in order.refunds],
    }


def refund_observed(store: str, woo_order_id: int, refund: models.Refund,
                    observed_at: datetime) -> dict[str, Any]:
    oid = order_id(store, woo_order_id)
    rid = refund_id(store, refund.id)
    return {
        "envelope": _env(store, rid, refund.date_created_gmt, observed_at, oid),
        "refund_id": rid, "order_id": oid, "store": store, "amount": _money(refund.amount),
        "reason": refund.reason, "created_at": refund.date_created_gmt,
        # Refund lines carry negative quantities and totals; canonical ones are positive.
        "lines": [{"line_id": refund.refunded_item(line), "sku": line.sku or None,
                   "quantity": abs(line.quantity),
                   "amount": _money(abs(line.total) + abs(line.total_tax))}
                  for line in refund.line_items if line.quantity],
        # Not visible in WooCommerce's REST output: treated as restocked (DESIGN.md 8).
        "restocked": True,
    }


def product_observed(store: str, product: models.Product, observed_at: datetime,
                     deleted: bool = False) -> dict[str, Any]:
    managed_by = stock_holder(product.id, product.parent_id, product.manage_stock)
    return {
        "envelope": _env(store, f"product:{product.id}", product.date_modified_gmt,
                         observed_at, f"sku:{product.sku}"),
        "store": store, "sku": product.sku, "product_id": product.id,
        "parent_id": product.parent_id, "product_type": product.type,
        "status": product.status, "manage_stock": product.manage_stock is True,
        "stock_managed_by": managed_by, "stock_quantity": product.stock_quantity,
        "stock_status": product.stock_status, "backorders": product.backorders,
        "price": _optional(product.price), "regular_price": _optional(product.regular_price),
        "sale_price": _optional(product.sale_price),
        "modified_at": product.date_modified_gmt, "deleted": deleted, "name": product.name,
    }


def _optional(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(FOUR)


def customer_observed(store: str, customer: models.Customer, observed_at: datetime
                      ) -> dict[str, Any]:
    cid = customer_id(store, customer.id)
    return {"envelope": _env(store, cid, customer.date_modified_gmt, observed_at, cid),
            "customer_id": cid, "store": store, "woo_id": customer.id,
            "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "billing": customer.billing.model_dump(),
            "shipping": customer.shipping.model_dump(),
            "modified_at": customer.date_modified_gmt}

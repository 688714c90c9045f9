"""The REST v3 JSON of the emulated store's objects (woocommerce-facts.md 2.2, 2.5, 2.6):
money as strings, ``price`` of an order line as a number, refund totals negative in the
order and positive in the refund object, dates in site time and in GMT."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from woo_emulator.store import CENT, Order, Product, Refund, Store


def _dates(name: str, moment: datetime | None, offset_hours: int) -> dict[str, str | None]:
    if moment is None:
        return {name: None, f"{name}_gmt": None}
    local = moment + timedelta(hours=offset_hours)
    return {name: local.strftime("%Y-%m-%dT%H:%M:%S"),
            f"{name}_gmt": moment.strftime("%Y-%m-%dT%H:%M:%S")}


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def product_json(store: Store, product: Product, offset: int) -> dict[str, Any]:
    return {
        "id": product.id, "name": product.name, "slug": product.name.lower().replace(" ", "-"),
        "type": product.type, "status": product.status, "sku": product.sku,
        "parent_id": product.parent_id,
        "price": _money(product.price_at(store.clock())),
        "regular_price": _money(product.regular_price),
        "sale_price": _money(product.sale_price) if product.sale_price is not None else "",
        **_dates("date_on_sale_from", product.sale_from, offset),
        **_dates("date_on_sale_to", product.sale_to, offset),
        "on_sale": product.on_sale(store.clock()), "purchasable": product.status == "publish",
        "description": product.description, "tax_status": "taxable",
        "tax_class": product.tax_class,
        "manage_stock": product.manage_stock, "stock_quantity": product.stock_quantity,
        "stock_status": store.stock_status(product), "backorders": product.backorders,
        "backorders_allowed": product.backorders != "no",
        "backordered": False, "low_stock_amount": None,
        "variations": list(product.variations),
        "meta_data": [{"id": n, "key": k, "value": v}
                      for n, (k, v) in enumerate(sorted(product.meta.items()), 1)],
        **_dates("date_created", product.date_created, offset),
        **_dates("date_modified", product.date_modified, offset),
    }


def _line_json(order: Order, line_id: int, quantity: int, price: Decimal, sku: str | None,
               name: str, product_id: int, variation_id: int) -> dict[str, Any]:
    total = (price * quantity).quantize(CENT)
    tax = (total * order.tax_rate).quantize(CENT)
    return {"id": line_id, "name": name, "product_id": product_id,
            "variation_id": variation_id, "quantity": quantity, "tax_class": "",
            "subtotal": _money(total), "subtotal_tax": _money(tax), "total": _money(total),
            "total_tax": _money(tax), "taxes": [], "meta_data": [], "sku": sku,
            "price": float(price), "image": {"id": 0, "src": ""}, "parent_name": None}


def order_json(order: Order, offset: int) -> dict[str, Any]:
    shipping_tax = (order.shipping_total * order.tax_rate).quantize(CENT)
    address = {k: order.billing.get(k, "") for k in (
        "first_name", "last_name", "company", "address_1", "address_2", "city", "state",
        "postcode", "country")}
    return {
        "id": order.id, "parent_id": 0, "number": str(order.id),
        "order_key": f"wc_order_{order.id:08x}", "created_via": order.created_via,
        "version": "9.9.0", "status": order.status, "currency": "EUR",
        **_dates("date_created", order.date_created, offset),
        **_dates("date_modified", order.date_modified, offset),
        "discount_total": "0.00", "discount_tax": "0.00",
        "shipping_total": _money(order.shipping_total), "shipping_tax": _money(shipping_tax),
        "cart_tax": _money(order.total_tax - shipping_tax), "total": _money(order.total),
        "total_tax": _money(order.total_tax), "prices_include_tax": False,
        "customer_id": 0, "customer_note": "",
        "billing": {**address, "email": order.billing.get("email", ""),
                    "phone": order.billing.get("phone", "")},
        "shipping": {**address, "phone": ""},
        "payment_method": "cod", "payment_method_title": "Cash on delivery",
        "transaction_id": "",
        **_dates("date_paid", order.date_paid, offset),
        **_dates("date_completed", None, offset),
        "meta_data": [dict(m) for m in order.meta],
        "line_items": [_line_json(order, li.id, li.quantity, li.price, li.sku, li.name,
                                  li.product_id, li.variation_id) for li in order.lines],
        "tax_lines": [], "shipping_lines": [], "fee_lines": [], "coupon_lines": [],
        "refunds": [{"id": r.id, "reason": r.reason, "total": f"-{_money(r.amount)}"}
                    for r in order.refunds],
    }


def refund_json(order: Order, refund: Refund, offset: int) -> dict[str, Any]:
    lines = []
    for item_id, quantity in refund.lines:
        line = next(li for li in order.lines if li.id == item_id)
        item = _line_json(order, refund.id * 1000 + item_id, -quantity, line.price, line.sku,
                          line.name, line.product_id, line.variation_id)
        # Quantity and totals are negative; the refunded order item is in the meta.
        item["meta_data"] = [{"id": 1, "key": "_refunded_item_id", "value": str(item_id),
                              "display_key": "_refunded_item_id",
                              "display_value": str(item_id)}]
        lines.append(item)
    return {"id": refund.id, **_dates("date_created", refund.date_created, offset),
            "amount": _money(refund.amount), "reason": refund.reason, "refunded_by": 1,
            "refunded_payment": False, "meta_data": [], "line_items": lines}


def note_json(note: dict[str, Any], offset: int) -> dict[str, Any]:
    return {"id": note["id"], "author": note["author"],
            **_dates("date_created", note["date_created"], offset),
            "note": note["note"], "customer_note": note["customer_note"]}

"""WooCommerce JSON (as the emulator writes it, and hand-made edge cases) to canonical
events that fit the schemas; invalid JSON is refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from streams.codec import Codec
from streams.woo import models, normalize
from woo_emulator import phpjson, rest
from woo_emulator.store import Store

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def _store() -> Store:
    return Store(lambda: NOW)


def _wire(data: dict[str, Any]) -> Any:
    return json.loads(phpjson.encode(data))


def test_order_with_refund_normalizes_and_fits_the_schema() -> None:
    store = _store()
    tee = store.add_product(name="Tee", sku="TEE", regular_price=Decimal("19.90"),
                            stock_quantity=10)
    order = store.create_order([(tee.id, 3)], {"email": "a@example.com"}, status="processing",
                               shipping_total=Decimal("4.90"))
    refund = store.refund(order, Decimal("23.88"), [(order.lines[0].id, 1)], "broken")
    parsed = models.Order.model_validate(_wire(rest.order_json(order, 2)))
    body = normalize.order_observed("eu", parsed, NOW)
    assert body["order_id"] == f"woo:eu:{order.id}"
    assert body["lines"][0]["unit_price"] == Decimal("19.9000")
    assert body["total"] == Decimal("77.52")
    assert body["refund_ids"] == [f"woo:eu:refund:{refund.id}"]
    assert body["modified_at"] == NOW
    Codec().encode("woosync.OrderObserved", body)

    parsed_refund = models.Refund.model_validate(_wire(rest.refund_json(order, refund, 2)))
    refund_body = normalize.refund_observed("eu", order.id, parsed_refund, NOW)
    assert refund_body["amount"] == Decimal("23.88")
    assert refund_body["lines"] == [{"line_id": str(order.lines[0].id), "sku": "TEE",
                                     "quantity": 1, "amount": Decimal("23.8800")}]
    Codec().encode("woosync.RefundObserved", refund_body)


def test_parent_managed_variation_holds_against_its_parent() -> None:
    store = _store()
    parent = store.add_product(name="Tee", sku="TEE", type="variable", manage_stock=True,
                               stock_quantity=30)
    small = store.add_product(name="Tee S", sku="TEE-S", type="variation",
                              parent_id=parent.id, manage_stock="parent", stock_quantity=None)
    parsed = models.Product.model_validate(_wire(rest.product_json(store, small, 2)))
    body = normalize.product_observed("eu", parsed, NOW)
    assert body["stock_managed_by"] == parent.id
    assert body["manage_stock"] is False
    Codec().encode("woosync.StorefrontProductObserved", body)


def test_same_snapshot_same_event_id_and_digest() -> None:
    store = _store()
    tee = store.add_product(name="Tee", sku="TEE", stock_quantity=1)
    parsed = models.Product.model_validate(_wire(rest.product_json(store, tee, 2)))
    first = normalize.product_observed("eu", parsed, NOW)
    again = normalize.product_observed("eu", parsed, datetime(2026, 11, 29, tzinfo=UTC))
    assert first["envelope"]["event_id"] == again["envelope"]["event_id"]
    assert normalize.digest(first) == normalize.digest(again)


@pytest.mark.parametrize("broken", [
    {"id": 1},  # an order needs more than an id (a deleted body is handled before)
    {"id": "x", "number": "1"},
])
def test_invalid_order_json_is_refused_with_a_reason(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        models.Order.model_validate(broken)


def test_price_as_number_and_money_as_strings() -> None:
    line = models.LineItem.model_validate({"id": 1, "product_id": 2, "quantity": 3,
                                           "subtotal": "59.70", "total": "59.70",
                                           "total_tax": "11.94", "price": 19.9})
    assert line.price == Decimal("19.9") and line.total == Decimal("59.70")

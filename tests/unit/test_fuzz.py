"""Fuzzing the normalizers with hypothesis: WooCommerce orders, refunds and products as
the REST API and webhooks send them, and Tryton's raw records as the feed reads them,
each mutated (a field removed, or replaced by any JSON value, at any depth). Every
input either becomes messages that fit their schemas or is refused with a clean error:
a ValueError (pydantic's ValidationError, the Tryton normalizer's UnreadableRecord) or
an EncodeError, which the agents' boundary dead-letters with its reason. A KeyError or
TypeError escaping would be a bug in the normalizer."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.codec import Codec
from streams.erp.tryton_normalize import normalize as tryton_normalize
from streams.erp.tryton_rpc import dumps
from streams.errors import EncodeError
from streams.woo import models, normalize
from tests.unit.test_tryton_normalize import CHANGED, READ, SALE
from woo_emulator import phpjson, rest
from woo_emulator.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CODEC = Codec()
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["", "2026-13-40T99:00:00", "1e400", "-1", "NaN", "processing"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12)


def _woo_samples() -> dict[str, Any]:
    store = Store(lambda: NOW)
    mug = store.add_product(name="Mug", sku="MUG", regular_price=Decimal("9.50"),
                            stock_quantity=5)
    order = store.create_order([(mug.id, 2)], {"email": "ann@example.com"},
                               status="processing", shipping_total=Decimal("4.90"))
    refund = store.refund(order, Decimal("9.50"), [(order.lines[0].id, 1)], "broken")

    def wire(data: Any) -> Any:
        return json.loads(phpjson.encode(data))

    return {"order": wire(rest.order_json(order, 2)),
            "refund": wire(rest.refund_json(order, refund, 2)),
            "product": wire(rest.product_json(store, mug, 2))}


WOO = _woo_samples()
TRYTON = {
    "sale.sale": SALE,
    "stock.shipment.out": {
        "id": 3, "number": "S3", "reference": "TRACK-9", "state": "done",
        "warehouse.": {"code": "WH", "id": 4}, "order_id": "woo:demo:1001",
        "outgoing_moves.": [{"id": 9, "quantity": 2.0, "unit_price": None,
                             "product.": {"code": "HOT-01", "id": 6}}],
        "last_modified_at": CHANGED},
    "account.invoice": {
        "id": 1, "number": "INV1", "state": "posted", "woosync_reference": None,
        "reference": None, "untaxed_amount": Decimal("39.80"), "tax_amount": Decimal("7.96"),
        "total_amount": Decimal("47.76"), "sales.": [
            {"id": 7, "woosync_reference": "woo:demo:1001", "reference": "woo:demo:1001"}],
        "last_modified_at": CHANGED},
    "product.product": {
        "id": 6, "code": "HOT-01", "active": True,
        "template.": {"id": 5, "name": "Promo 01", "list_price": Decimal("6.0000")},
        "last_modified_at": CHANGED},
    "woosync.stock_level": {"sku": "HOT-01", "read_at": READ.replace(tzinfo=None),
                            "warehouses": {"WH": [31.0, 28.0]}},
}


@st.composite
def mutated(draw: st.DrawFn, sample: Any) -> Any:
    """``sample`` with one to three places changed: a key removed, or a value replaced
    by any JSON value, at any depth."""
    value = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, 3))):
        node, path = value, []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            step = draw(st.sampled_from(keys))
            path.append((node, step))
            node = node[step]
        if not path:
            continue
        parent, step = path[-1]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[step]
        else:
            parent[step] = draw(JSON)
    return value


def _woo(kind: str, payload: Any) -> None:
    try:
        if kind == "order":
            body = normalize.order_observed("demo", models.Order.model_validate(payload), NOW)
            CODEC.encode("woosync.OrderObserved", body)
        elif kind == "refund":
            body = normalize.refund_observed("demo", 7, models.Refund.model_validate(payload),
                                             NOW)
            CODEC.encode("woosync.RefundObserved", body)
        else:
            body = normalize.product_observed("demo", models.Product.model_validate(payload),
                                              NOW)
            CODEC.encode("woosync.StorefrontProductObserved", body)
    except (ValueError, EncodeError):
        pass  # refused with a reason: what the dead-letter topic gets


@FUZZ
@given(st.sampled_from(sorted(WOO)), st.data())
def test_woocommerce_payloads_normalize_or_are_refused_cleanly(kind: str,
                                                              data: st.DataObject) -> None:
    _woo(kind, data.draw(mutated(WOO[kind])))


@FUZZ
@given(JSON)
def test_any_json_is_refused_cleanly_as_any_woocommerce_resource(payload: Any) -> None:
    for kind in WOO:
        _woo(kind, payload)


@FUZZ
@given(st.sampled_from(sorted(TRYTON)), st.data())
def test_tryton_records_normalize_or_are_refused_cleanly(model: str,
                                                          data: st.DataObject) -> None:
    row = data.draw(mutated(json.loads(dumps(TRYTON[model]))))
    try:
        outputs = tryton_normalize(model, "1", json.dumps(row).encode(), READ)
    except ValueError:
        return
    for out in outputs:
        with contextlib.suppress(EncodeError):  # refused by the schema: dead-lettered
            CODEC.encode(out.name, out.body)

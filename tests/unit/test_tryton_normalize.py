"""The Tryton normalizer: raw records as the feed reads them -> canonical events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from streams import topics
from streams.codec import Codec
from streams.erp.tryton_normalize import normalize
from streams.erp.tryton_rpc import dumps

READ = dt.datetime(2026, 11, 28, 7, 0, 1, tzinfo=dt.UTC)
CHANGED = dt.datetime(2026, 11, 28, 7, 0, 0, 250000)


def _body(row: dict[str, Any]) -> bytes:
    return dumps(row).encode()


SALE = {"id": 7, "woosync_reference": "woo:demo:1001", "reference": "woo:demo:1001",
        "number": "7", "state": "processing", "currency.": {"code": "EUR", "id": 1},
        "lines.": [{"id": 1, "quantity": 2.0, "unit_price": Decimal("19.9000"),
                    "product.": {"code": "HOT-01", "id": 6}}],
        "untaxed_amount": Decimal("39.80"), "tax_amount": Decimal("7.96"),
        "total_amount": Decimal("47.76"), "last_modified_at": CHANGED}


def test_sale_becomes_sales_order_observed_keyed_by_the_store_order() -> None:
    out, = normalize("sale.sale", "7", _body(SALE), READ)
    assert out.topic is topics.ERP_DOCUMENTS and out.key == "woo:demo:1001"
    assert out.body["state"] == "processing"
    assert out.body["lines"] == [{"sku": "HOT-01", "quantity": Decimal("2.0000"),
                                  "unit_price": Decimal("19.9000")}]
    assert out.body["modified_at"] == CHANGED.replace(tzinfo=dt.UTC)
    Codec().encode(out.name, out.body)  # fits the schema


def test_the_same_record_read_twice_gives_the_same_event_id() -> None:
    first, = normalize("sale.sale", "7", _body(SALE), READ)
    again, = normalize("sale.sale", "7", _body(SALE), READ + dt.timedelta(seconds=30))
    assert first.body["envelope"]["event_id"] == again.body["envelope"]["event_id"]


def test_return_sale_produces_nothing_its_credit_note_speaks_for_it() -> None:
    row = {**SALE, "woosync_reference": "woo:demo:refund:5"}
    assert normalize("sale.sale", "8", _body(row), READ) == []


def test_shipment_reference_is_the_tracking_number() -> None:
    row = {"id": 3, "number": "S3", "reference": "TRACK-9", "state": "done",
           "warehouse.": {"code": "WH", "id": 4}, "order_id": "woo:demo:1001",
           "outgoing_moves.": [{"id": 9, "quantity": 2.0, "unit_price": None,
                                "product.": {"code": "HOT-01", "id": 6}}],
           "last_modified_at": CHANGED}
    out, = normalize("stock.shipment.out", "3", _body(row), READ)
    assert out.body["tracking_reference"] == "TRACK-9"
    assert out.body["warehouse"] == "WH" and out.key == "woo:demo:1001"
    Codec().encode(out.name, out.body)


def test_shipment_of_no_store_order_produces_nothing() -> None:
    row = {"id": 4, "state": "done", "reference": None, "order_id": None,
           "warehouse.": {"code": "WH"}, "outgoing_moves.": [], "last_modified_at": CHANGED}
    assert normalize("stock.shipment.out", "4", _body(row), READ) == []


def test_invoice_and_credit_note() -> None:
    invoice = {"id": 1, "number": "INV1", "state": "posted", "woosync_reference": None,
               "reference": None, "untaxed_amount": Decimal("39.80"),
               "tax_amount": Decimal("7.96"), "total_amount": Decimal("47.76"),
               "sales.": [{"id": 7, "woosync_reference": "woo:demo:1001",
                           "reference": "woo:demo:1001"}], "last_modified_at": CHANGED}
    out, = normalize("account.invoice", "1", _body(invoice), READ)
    assert out.name == "woosync.InvoiceObserved" and out.body["total"] == Decimal("47.76")
    # A credit note made from a return sale: refund id from the return sale, order id from
    # its reference.
    credit = {**invoice, "id": 2, "total_amount": Decimal("-23.88"),
              "untaxed_amount": Decimal("-19.90"), "tax_amount": Decimal("-3.98"),
              "sales.": [{"id": 8, "woosync_reference": "woo:demo:refund:5",
                          "reference": "woo:demo:1001"}]}
    out, = normalize("account.invoice", "2", _body(credit), READ)
    assert out.name == "woosync.CreditNoteObserved"
    assert (out.body["refund_id"], out.key) == ("woo:demo:refund:5", "woo:demo:1001")
    Codec().encode(out.name, out.body)


def test_stock_level_keeps_every_warehouse_and_the_read_time() -> None:
    row = {"sku": "HOT-01", "read_at": READ.replace(tzinfo=None),
           "warehouses": {"WH": [31.0, 28.0], "WH2": [1.0, 1.0]}}
    out, = normalize("woosync.stock_level", "HOT-01", _body(row), READ)
    assert out.topic is topics.ERP_STOCK
    assert out.body["warehouses"] == [
        {"warehouse": "WH", "on_hand": Decimal("31"), "forecast": Decimal("28")},
        {"warehouse": "WH2", "on_hand": Decimal("1"), "forecast": Decimal("1")}]
    assert out.body["read_at"] == READ
    Codec().encode(out.name, out.body)


def test_product_price_comes_from_its_template() -> None:
    row = {"id": 6, "code": "HOT-01", "active": True,
           "template.": {"id": 5, "name": "Promo item 01", "list_price": Decimal("6.0000")},
           "last_modified_at": CHANGED}
    out, = normalize("product.product", "6", _body(row), READ)
    assert out.topic is topics.ERP_CATALOG and out.key == "HOT-01"
    assert out.body["list_price"] == Decimal("6.0000")
    Codec().encode(out.name, out.body)


def test_unknown_model_is_an_error_for_the_dead_letter_topic() -> None:
    import pytest

    with pytest.raises(ValueError, match="no canonical meaning"):
        normalize("res.user", "1", _body({"id": 1, "last_modified_at": CHANGED}), READ)

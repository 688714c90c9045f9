"""Tryton raw records (``erp.raw``) to canonical events. Pure: no I/O, no clock.

Consumes one ``ErpRecord`` body as the feed read it (Tryton's JSON, with its Decimal and
datetime encoding) and produces the canonical messages it means: SalesOrderObserved,
ShipmentObserved (the shipment's ``reference`` is its tracking number),
ReturnShipmentObserved (a refund's goods coming back), InvoiceObserved,
CreditNoteObserved, ProductObserved, StockLevelObserved. A record that
means nothing canonical (a return sale, a shipment of no store order) produces nothing.
Every event's version is the record's ``last_modified_at`` (server clock, UTC), so a
replayed record produces the same event id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from streams import topics
from streams.envelope import deterministic_id, envelope, trace_for
from streams.erp.adapter import CanonicalOutput
from streams.erp.tryton_rpc import loads

SOURCE = "erp:tryton"
FOUR = Decimal("0.0001")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(FOUR)


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


def _env(model: str, record_id: str, changed_at: datetime, read_at: datetime,
         subject: str) -> dict[str, Any]:
    return envelope(event_id=deterministic_id(SOURCE, model, record_id, changed_at.isoformat()),
                    occurred_at=changed_at, observed_at=read_at, source=SOURCE,
                    source_version=changed_at.isoformat(), trace_id=trace_for(subject))


def _is_refund(reference: str | None) -> bool:
    return bool(reference) and ":refund:" in str(reference)


class UnreadableRecord(ValueError):
    """A raw record that is not what the feed reads from Tryton (a field missing or of
    another type): refused with the field, never half normalized."""


def normalize(model: str, record_id: str, body: bytes, read_at: datetime
              ) -> list[CanonicalOutput]:
    """The canonical messages ``body`` means; UnreadableRecord when it is not a record
    of ``model`` as the feed reads it."""
    try:
        return _normalize(model, record_id, body, read_at)
    except (KeyError, TypeError, AttributeError, IndexError, ArithmeticError,
            UnicodeDecodeError, RecursionError) as exc:
        # ArithmeticError: decimal.InvalidOperation for a money field that is no number.
        raise UnreadableRecord(f"{model}:{record_id} is not a record the feed reads:"
                               f" {type(exc).__name__} {exc}") from exc


def _normalize(model: str, record_id: str, body: bytes, read_at: datetime
               ) -> list[CanonicalOutput]:
    row = loads(body.decode())
    if not isinstance(row, dict):
        raise TypeError(f"a JSON object, not {type(row).__name__}")
    read_at = _utc(read_at)
    if model == "woosync.stock_level":
        return [_stock_level(row, read_at)]
    changed_at = _utc(row["last_modified_at"])
    if model == "sale.sale":
        return _sale(row, record_id, changed_at, read_at)
    if model == "stock.shipment.out":
        return _shipment(row, record_id, changed_at, read_at)
    if model == "account.invoice":
        return _invoice(row, record_id, changed_at, read_at)
    if model == "stock.shipment.out.return":
        return _return_shipment(row, record_id, changed_at, read_at)
    if model == "product.product":
        return [_product(row, record_id, changed_at, read_at)]
    raise ValueError(f"no canonical meaning known for Tryton model {model!r}")


def _lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"sku": (line.get("product.") or {}).get("code") or "",
             "quantity": _money(line["quantity"]), "unit_price": _money(line.get("unit_price"))}
            for line in rows]


def _sale(row: dict[str, Any], record_id: str, changed_at: datetime, read_at: datetime
          ) -> list[CanonicalOutput]:
    order_id = row["woosync_reference"]
    if _is_refund(order_id):
        return []  # a return sale: its credit note is the canonical document
    body = {
        "envelope": _env("sale.sale", record_id, changed_at, read_at, order_id),
        "order_id": order_id, "erp_id": record_id, "number": row.get("number"),
        "state": row["state"], "currency": (row.get("currency.") or {}).get("code", ""),
        "lines": _lines(row.get("lines.") or []),
        "untaxed": _money(row["untaxed_amount"]), "tax": _money(row["tax_amount"]),
        "total": _money(row["total_amount"]), "modified_at": changed_at,
    }
    return [CanonicalOutput(topics.ERP_DOCUMENTS, order_id, "woosync.SalesOrderObserved",
                            body)]


def _shipment(row: dict[str, Any], record_id: str, changed_at: datetime, read_at: datetime
              ) -> list[CanonicalOutput]:
    order_id = row.get("order_id")
    if not order_id or _is_refund(order_id):
        return []
    body = {
        "envelope": _env("stock.shipment.out", record_id, changed_at, read_at, order_id),
        "order_id": order_id, "shipment_id": record_id,
        "warehouse": (row.get("warehouse.") or {}).get("code", ""), "state": row["state"],
        "tracking_reference": row.get("reference") or None,
        "lines": _lines(row.get("outgoing_moves.") or []), "modified_at": changed_at,
    }
    return [CanonicalOutput(topics.ERP_DOCUMENTS, order_id, "woosync.ShipmentObserved", body)]


def _return_shipment(row: dict[str, Any], record_id: str, changed_at: datetime,
                     read_at: datetime) -> list[CanonicalOutput]:
    order_id = row["order_id"]
    body = {
        "envelope": _env("stock.shipment.out.return", record_id, changed_at, read_at,
                         order_id),
        "order_id": order_id, "refund_id": row["refund_id"], "shipment_id": record_id,
        "warehouse": (row.get("warehouse.") or {}).get("code", ""), "state": row["state"],
        "lines": _lines(row.get("incoming_moves.") or []), "modified_at": changed_at,
    }
    return [CanonicalOutput(topics.ERP_DOCUMENTS, order_id, "woosync.ReturnShipmentObserved",
                            body)]


def _invoice(row: dict[str, Any], record_id: str, changed_at: datetime, read_at: datetime
             ) -> list[CanonicalOutput]:
    sales = row.get("sales.") or []
    refs = [s.get("woosync_reference") for s in sales if s.get("woosync_reference")]
    amounts = {"untaxed": _money(row["untaxed_amount"]), "tax": _money(row["tax_amount"]),
               "total": _money(row["total_amount"])}
    refund_id = row.get("woosync_reference") or next((r for r in refs if _is_refund(r)), None)
    if refund_id:
        # A credit note: made by crediting the invoice, or by a return sale; either way
        # the order's id is kept in the document's (or the return sale's) reference.
        order_id = row.get("reference") or next(
            (s.get("reference") for s in sales if _is_refund(s.get("woosync_reference"))), "")
        body = {"envelope": _env("account.invoice", record_id, changed_at, read_at, order_id),
                "order_id": order_id, "refund_id": refund_id, "credit_note_id": record_id,
                "number": row.get("number"), "state": row["state"], **amounts,
                "modified_at": changed_at}
        return [CanonicalOutput(topics.ERP_DOCUMENTS, order_id, "woosync.CreditNoteObserved",
                                body)]
    if not refs:
        return []  # not an invoice of a store order
    order_id = refs[0]
    body = {"envelope": _env("account.invoice", record_id, changed_at, read_at, order_id),
            "order_id": order_id, "invoice_id": record_id, "number": row.get("number"),
            "state": row["state"], **amounts, "modified_at": changed_at}
    return [CanonicalOutput(topics.ERP_DOCUMENTS, order_id, "woosync.InvoiceObserved", body)]


def _product(row: dict[str, Any], record_id: str, changed_at: datetime, read_at: datetime
             ) -> CanonicalOutput:
    template = row.get("template.") or {}
    sku = row["code"]
    category = template.get("account_category.") or {}
    discountable = template.get("woosync_discountable")
    body = {"envelope": _env("product.product", record_id, changed_at, read_at, sku),
            "sku": sku, "erp_id": record_id, "name": template.get("name", ""),
            "active": bool(row.get("active", True)),
            "list_price": _money(template.get("list_price")), "sale_price": None,
            "sale_from": None, "sale_to": None,
            # The ERP's tax class is the product's accounting category (its taxes).
            "tax_class": category.get("name"), "modified_at": changed_at,
            "description": row.get("description") or None,
            "discountable": True if discountable is None else bool(discountable),
            "sales": [{"price_list": str(name), "price": _money(price),
                       "starts": _date(starts), "ends": _date(ends)}
                      for name, price, starts, ends in row.get("sales") or []],
            # Several variants of one template: a variable product in the store.
            "template": (template.get("code") or None)
            if len(template.get("products") or []) > 1 else None,
            "attributes": {}}
    return CanonicalOutput(topics.ERP_CATALOG, sku, "woosync.ProductObserved", body)


def _stock_level(row: dict[str, Any], read_at: datetime) -> CanonicalOutput:
    sku = row["sku"]
    warehouses = [{"warehouse": code, "on_hand": _money(on_hand), "forecast": _money(forecast)}
                  for code, (on_hand, forecast) in sorted(row["warehouses"].items())]
    body = {"envelope": envelope(
                event_id=deterministic_id(SOURCE, "stock", sku, read_at.isoformat()),
                occurred_at=read_at, observed_at=read_at, source=SOURCE,
                source_version=read_at.isoformat(), trace_id=trace_for(f"stock:{sku}")),
            "sku": sku, "read_at": read_at, "warehouses": warehouses}
    return CanonicalOutput(topics.ERP_STOCK, sku, "woosync.StockLevelObserved", body)

"""Tryton's change feed: what changed since the cursors, read over JSON-RPC.

Polls ``last_modified_at`` per model (sales, outgoing shipments, customer invoices and
credit notes, stock moves, products and templates), each with an overlap window:
Tryton stamps a row with its transaction's start time, so a long transaction can
commit a change older than a cursor already passed (tryton-facts.md section 4b).
Records seen in the overlap are remembered by (model, id, last_modified_at) and not
emitted twice. Changed stock moves are not emitted themselves: the products they touch
are re-read per warehouse (on hand and forecast up to today) in one call that carries
the server time of the read. Cursors are the server's own timestamps, never this
process's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.erp.adapter import ChangeBatch, RawRecord
from streams.erp.tryton_rpc import TrytonClient, dumps

PAGE = 500

# model -> (domain, fields read). Dotted fields come back nested ("lines.": [...]).
READS: dict[str, tuple[list[Any], list[str]]] = {
    "sale.sale": ([("woosync_reference", "!=", None)], [
        "woosync_reference", "reference", "number", "state", "currency.code",
        "lines.product.code", "lines.quantity", "lines.unit_price",
        "untaxed_amount", "tax_amount", "total_amount", "last_modified_at"]),
    "stock.shipment.out": ([], [
        "number", "reference", "state", "warehouse.code", "outgoing_moves.product.code",
        "outgoing_moves.quantity", "outgoing_moves.unit_price", "last_modified_at"]),
    "account.invoice": ([("type", "=", "out")], [
        "number", "state", "woosync_reference", "reference", "untaxed_amount",
        "tax_amount", "total_amount", "sales.woosync_reference", "sales.reference",
        "last_modified_at"]),
    "stock.move": ([], ["product.code", "last_modified_at"]),
    "product.product": ([("code", "!=", None)], [
        "code", "active", "template.name", "template.list_price", "last_modified_at"]),
    "product.template": ([], ["last_modified_at"]),
}


def _to_utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


class TrytonFeed:
    def __init__(self, client: TrytonClient, warehouses: tuple[str, ...],
                 overlap: timedelta = timedelta(seconds=90)) -> None:
        self.client = client
        self.warehouses = warehouses
        self.overlap = overlap
        self._seen: dict[tuple[str, int], datetime] = {}

    async def read_changes(self, cursors: Mapping[str, str]) -> ChangeBatch:
        polled_at = _to_utc(await self.client.model("woosync.feed", "clock"))
        new_cursors = dict(cursors)
        records: list[RawRecord] = []
        changed: dict[str, list[dict[str, Any]]] = {}
        for model in READS:
            rows, cursor = await self._changed(model, cursors.get(model))
            changed[model] = rows
            if cursor is not None:
                new_cursors[model] = cursor
        records += self._records("sale.sale", changed["sale.sale"], polled_at)
        records += await self._shipments(changed["stock.shipment.out"], polled_at)
        records += self._records("account.invoice", changed["account.invoice"], polled_at)
        records += await self._products(changed["product.product"],
                                        changed["product.template"], polled_at)
        skus = {(row.get("product.") or {}).get("code") for row in changed["stock.move"]}
        records += await self.stock_levels(sorted(s for s in skus if s))
        stats = {model: len(rows) for model, rows in changed.items()}
        return ChangeBatch(records, new_cursors, polled_at, stats)

    async def stock_levels(self, skus: list[str]) -> list[RawRecord]:
        """One raw record per SKU: every warehouse's on hand and forecast, read at once."""
        if not skus:
            return []
        result = await self.client.model("woosync.feed", "stock_levels", skus,
                                         list(self.warehouses))
        read_at = _to_utc(result["read_at"])
        return [RawRecord("woosync.stock_level", sku, dumps({
                    "sku": sku, "read_at": result["read_at"], "warehouses": levels}).encode(),
                          read_at)
                for sku, levels in sorted(result["levels"].items())]

    async def _changed(self, model: str, cursor: str | None
                       ) -> tuple[list[dict[str, Any]], str | None]:
        domain, fields = READS[model]
        if cursor is not None:
            since = datetime.fromisoformat(cursor) - self.overlap
            domain = [*domain, ("last_modified_at", ">=", since)]
        order = [("last_modified_at", "ASC"), ("id", "ASC")]
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.client.model(model, "search_read", domain, offset, PAGE,
                                           order, fields)
            rows += page
            if len(page) < PAGE:
                break
            offset += PAGE
        newest = max((r["last_modified_at"] for r in rows), default=None)
        fresh = [r for r in rows if self._seen.get((model, r["id"])) != r["last_modified_at"]]
        for row in fresh:
            self._seen[(model, row["id"])] = row["last_modified_at"]
        next_cursor = newest.isoformat() if newest is not None else cursor
        if next_cursor is not None:
            self._forget_older(model, datetime.fromisoformat(next_cursor) - self.overlap)
        return fresh, next_cursor

    def _forget_older(self, model: str, since: datetime) -> None:
        """Drop what no query from ``since`` on can return again."""
        self._seen = {k: v for k, v in self._seen.items() if k[0] != model or v >= since}

    @staticmethod
    def _records(model: str, rows: list[dict[str, Any]], read_at: datetime
                 ) -> list[RawRecord]:
        return [RawRecord(model, str(row["id"]), dumps(row).encode(), read_at) for row in rows]

    async def _shipments(self, rows: list[dict[str, Any]], read_at: datetime
                         ) -> list[RawRecord]:
        if not rows:
            return []
        # A shipment names no order: find the sales whose shipments these are.
        sales = await self.client.model(
            "sale.sale", "search_read",
            [("shipments", "in", [r["id"] for r in rows]), ("woosync_reference", "!=", None)],
            0, None, None, ["woosync_reference", "shipments"])
        order_of = {sid: s["woosync_reference"] for s in sales for sid in s["shipments"]}
        return [RawRecord("stock.shipment.out", str(row["id"]),
                          dumps({**row, "order_id": order_of.get(row["id"])}).encode(), read_at)
                for row in rows]

    async def _products(self, products: list[dict[str, Any]], templates: list[dict[str, Any]],
                        read_at: datetime) -> list[RawRecord]:
        by_id = {p["id"]: p for p in products}
        if templates:
            # A price or name change is on the template: re-read its variants.
            variants = await self.client.model(
                "product.product", "search_read",
                [("template", "in", [t["id"] for t in templates]), ("code", "!=", None)],
                0, None, None, READS["product.product"][1])
            template_time = {t["id"]: t["last_modified_at"] for t in templates}
            for variant in variants:
                changed_at = template_time.get((variant.get("template.") or {}).get("id"))
                if changed_at and changed_at > variant["last_modified_at"]:
                    variant["last_modified_at"] = changed_at
                by_id[variant["id"]] = variant
        return self._records("product.product", list(by_id.values()), read_at)

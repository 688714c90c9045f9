"""The Tryton change feed against an in-memory Tryton that answers ``search_read`` over
its domains the way the server does: keyset paging that survives rows modified between
pages, bounded polls that catch up, and nothing remembered as seen until acknowledged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from streams.erp.tryton_feed import PAGE, TrytonFeed, cursor_position
from streams.erp.tryton_rpc import TrytonUnavailable

T0 = datetime(2026, 12, 1, 12, 0, 0)


def _matches(row: dict[str, Any], clause: Any) -> bool:
    if isinstance(clause, tuple):
        field, op, value = clause
        have = row.get(field)
        if op == "!=":
            return bool(have != value)
        if have is None:
            return False
        if op == "in":
            return have in value
        return bool({"=": have == value, ">": have > value, ">=": have >= value}[op])
    if clause and clause[0] == "OR":
        return any(_matches(row, c) for c in clause[1:])
    return all(_matches(row, c) for c in clause)


class MemoryTryton:
    """Rows per model; ``search_read`` filters, orders by (last_modified_at, id) and
    slices; a hook may change rows between calls or make a method fail."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {
            m: [] for m in ("sale.sale", "stock.shipment.out", "account.invoice",
                            "stock.move", "product.product", "product.template",
                            "product.price_list.line", "stock.shipment.out.return")}
        self.sales: dict[str, list[Any]] = {}
        self.before_call: Any = None
        self.fail_stock_levels = False
        self.calls = 0
        self.reads: list[tuple[str, Any, list[str]]] = []  # (model, domain, fields)

    async def model(self, model: str, method: str, *args: Any, **_: Any) -> Any:
        self.calls += 1
        if self.before_call:
            self.before_call(self)
        if method == "clock":
            return T0 + timedelta(minutes=10)
        if method == "stock_levels":
            if self.fail_stock_levels:
                raise TrytonUnavailable("connection refused")
            return {"read_at": T0 + timedelta(minutes=10), "levels": {s: {} for s in args[0]}}
        if method == "sale_prices":
            return {"prices": {code: self.sales.get(code, []) for code in args[0]},
                    "errors": []}
        domain, offset, limit = args[0], args[1], args[2]
        self.reads.append((model, domain, args[4]))
        rows = sorted((r for r in self.rows[model] if _matches(r, domain)),
                      key=lambda r: (r["last_modified_at"], r["id"]))
        rows = rows[offset:]
        return [dict(r) for r in (rows if limit is None else rows[:limit])]


def _sales(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "woosync_reference": f"woo:demo:{i}",
             "last_modified_at": T0 + timedelta(seconds=i // 10)} for i in range(1, n + 1)]


async def _ids(feed: TrytonFeed, cursors: dict[str, str]) -> tuple[list[int], dict[str, str]]:
    batch = await feed.read_changes(cursors)
    feed.acknowledge(batch)
    return ([int(r.record_id) for r in batch.records if r.model == "sale.sale"],
            dict(batch.cursors))


async def test_a_row_modified_between_pages_is_not_skipped() -> None:
    erp = MemoryTryton()
    erp.rows["sale.sale"] = _sales(PAGE + 100)
    pages = []

    def touch_first_row(db: MemoryTryton) -> None:
        pages.append(db.calls)
        if len(pages) == 3:  # after the first sale page: row 1 moves to the end
            db.rows["sale.sale"][0]["last_modified_at"] = T0 + timedelta(hours=1)

    erp.before_call = touch_first_row
    feed = TrytonFeed(erp, ("WH",))  # type: ignore[arg-type]
    ids, _ = await _ids(feed, {})
    # Offset paging would lose row PAGE + 1 (it shifts into the page already read).
    assert set(ids) == set(range(1, PAGE + 101))


async def test_a_large_first_poll_is_caught_up_over_bounded_polls() -> None:
    erp = MemoryTryton()
    erp.rows["sale.sale"] = _sales(2 * PAGE + 50)
    feed = TrytonFeed(erp, ("WH",), max_rows=PAGE)  # type: ignore[arg-type]
    first, cursors = await _ids(feed, {})
    assert len(first) == PAGE
    assert cursor_position(cursors["sale.sale"])[1] == PAGE  # caught up to row PAGE
    second, cursors = await _ids(feed, cursors)
    third, cursors = await _ids(feed, cursors)
    assert first + second + third == list(range(1, 2 * PAGE + 51))
    assert cursor_position(cursors["sale.sale"])[1] is None  # back to a plain time
    again, _ = await _ids(feed, cursors)
    assert again == []  # the overlap re-reads rows already emitted, which stay unsent


async def test_a_poll_that_fails_half_way_marks_nothing_seen() -> None:
    erp = MemoryTryton()
    erp.rows["sale.sale"] = _sales(3)
    erp.rows["stock.move"] = [{"id": 1, "product.": {"code": "MUG"},
                               "last_modified_at": T0}]
    feed = TrytonFeed(erp, ("WH",))  # type: ignore[arg-type]
    erp.fail_stock_levels = True
    with pytest.raises(TrytonUnavailable):
        await feed.read_changes({})
    erp.fail_stock_levels = False
    batch = await feed.read_changes({})
    assert sorted(r.record_id for r in batch.records if r.model == "sale.sale") == ["1", "2", "3"]
    assert [r.record_id for r in batch.records if r.model == "woosync.stock_level"] == ["MUG"]


async def test_records_read_but_never_acknowledged_are_read_again() -> None:
    erp = MemoryTryton()
    erp.rows["sale.sale"] = _sales(2)
    feed = TrytonFeed(erp, ("WH",))  # type: ignore[arg-type]
    unpublished = await feed.read_changes({})  # the publish failed: no acknowledge
    batch = await feed.read_changes({})
    assert [r.record_id for r in batch.records] == [r.record_id for r in unpublished.records]
    feed.acknowledge(batch)
    cursor = batch.cursors["sale.sale"]
    assert cursor == T0.isoformat()
    assert (await feed.read_changes(batch.cursors)).records == []


async def test_a_changed_price_list_line_republishes_its_product_with_its_sales() -> None:
    """A sale price is on a price list line, not on the product: the line's change
    re-reads the product, carrying its sale prices, with the line's time as version."""
    erp = MemoryTryton()
    erp.rows["product.product"] = [
        {"id": 1, "code": "MUG", "last_modified_at": T0},
        {"id": 2, "code": "CAP", "last_modified_at": T0}]
    feed = TrytonFeed(erp, ("WH",))  # type: ignore[arg-type]
    batch = await feed.read_changes({})
    feed.acknowledge(batch)
    cursors = dict(batch.cursors)
    erp.sales["MUG"] = [["Summer", "7.50", None, None]]
    erp.rows["product.price_list.line"] = [
        {"id": 9, "product": 1, "last_modified_at": T0 + timedelta(minutes=5)}]
    batch = await feed.read_changes(cursors)
    products = [r for r in batch.records if r.model == "product.product"]
    assert [r.record_id for r in products] == ["1"]
    body = json.loads(products[0].body)
    assert body["sales"] == [["Summer", "7.50", None, None]]
    assert body["last_modified_at"]["minute"] == 5  # the line's change is its version


async def test_the_overlap_is_re_read_by_id_and_time_only() -> None:
    erp = MemoryTryton()
    erp.rows["sale.sale"] = _sales(30)
    feed = TrytonFeed(erp, ("WH",))  # type: ignore[arg-type]
    _, cursors = await _ids(feed, {})
    erp.reads.clear()
    erp.rows["sale.sale"][4]["last_modified_at"] = T0 + timedelta(seconds=30)
    ids, _ = await _ids(feed, cursors)
    assert ids == [5]
    whole = [(domain, fields) for model, domain, fields in erp.reads
             if model == "sale.sale" and fields != ["last_modified_at"]]
    # The 30 rows in the overlap were named again; only the changed one was read whole.
    assert [domain for domain, _ in whole] == [
        [("woosync_reference", "!=", None), ("id", "in", [5])]], whole
    assert "total_amount" in whole[0][1]

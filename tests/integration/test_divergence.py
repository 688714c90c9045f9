"""Divergence windows through a real broker, Tryton and the store emulator: an order
whose product the ERP does not know is refused there, and opens a window for the refused
command at once and one for the missing sale after its SLA; orders whose sales are made
open none. The windows are listed (JSON and CSV) to the admin token only."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import urllib.request
from decimal import Decimal
from typing import Any

import pytest

from streams.erp.tryton_rpc import TrytonClient
from tests.integration.conftest import TEST_ADMIN_TOKEN, Stack
from tests.integration.erp_actions import sale_of
from tests.integration.test_order_to_cash import _control, _oid, _until

pytestmark = [pytest.mark.integration, pytest.mark.fresh, pytest.mark.orders,
              # A sale SLA the ERP meets here (about a sale a second), short enough to
              # see a missing one open its window within the test.
              pytest.mark.env(WOOSYNC_DIVERGENCE_SLA_SECONDS='{"sale": 20, "sale-total": 5,'
                              ' "status": 5, "refund": 5, "command": 0}',
                              WOOSYNC_DIVERGENCE_TICK_SECONDS="1")]


def _csv(stack: Stack) -> list[dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.settings.web_port}/divergences?format=csv",
        headers={"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(csv.DictReader(io.StringIO(response.read().decode())))


async def test_a_refused_order_opens_its_windows_and_good_orders_open_none(
        stack: Stack, erp_admin: TrytonClient) -> None:
    store = stack.emulator.emulator.store
    mug = store.by_sku("MUG")
    assert mug is not None
    unknown = stack.emulator.run(lambda: store.add_product(
        name="Not in the ERP", sku="NOT-IN-ERP", regular_price=Decimal("5.00"),
        stock_quantity=10))
    good = [_control(stack, "checkout", {"items": [{"product_id": mug.id, "quantity": 1}]})
            for _ in range(3)]
    bad = _control(stack, "checkout", {"items": [{"product_id": unknown.id,
                                                  "quantity": 1}]})
    began = time.monotonic()

    async def sales_made() -> bool | None:
        for order in good:
            if len(await sale_of(erp_admin, _oid(stack, order))) != 1:
                return None
        return True

    await _until(sales_made, "the good orders' sales")

    async def bad_windows() -> list[Any] | None:
        status, page = stack.get("/divergences?open=1")
        assert status == 200, page
        mine = [w for w in page["items"] if w["subject"].startswith(_oid(stack, bad))]
        return mine if {w["kind"] for w in mine} >= {"command", "sale"} else None

    windows = await _until(bad_windows, "the refused order's windows", within=90)
    opened_after = time.monotonic() - began
    sale_window = next(w for w in windows if w["kind"] == "sale")
    assert sale_window["erp_value"] == "no sale" and "refused" in sale_window["cause"]
    # Past their SLA: the good orders have no window, open or closed.
    await asyncio.sleep(6)
    rows = await asyncio.to_thread(_csv, stack)
    good_ids = {_oid(stack, order) for order in good}
    assert not [r for r in rows if r["subject"].split("|")[0] in good_ids]
    assert {r["kind"] for r in rows if r["subject"].startswith(_oid(stack, bad))} >= {
        "command", "sale"}
    assert stack.get("/divergences", token=None)[0] == 401

    # The day's ledger: the good orders agree on both sides (totals and tax as Tryton
    # computed them); the refused one's difference is linked to its open window.
    status, day = stack.get("/ledger/today")
    assert status == 200, day
    lines = {ln["order_id"]: ln for ln in day["lines"]}
    for oid in good_ids:
        assert lines[oid]["erp_total"] == lines[oid]["store_total"] != "0.00", lines[oid]
        assert lines[oid]["differences"] == 0
    items = [i for i in day["items"] if i["order_id"] == _oid(stack, bad)]
    assert [(i["kind"], i["status"]) for i in items] == [("sale", "linked")], items
    assert stack.get("/ledger/2026-13-01")[0] == 404  # no such day
    assert stack.get("/ledger/yesterday")[0] == 400
    print(f"divergence: refused order's windows open {opened_after:.1f} s after checkout;"
          f" 0 windows for {len(good)} good orders")

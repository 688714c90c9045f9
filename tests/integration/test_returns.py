"""Returns with a policy, end to end (a real broker, the shared Tryton, the emulator, one
worker with a return window of about 20 seconds): a return asked for inside the window
becomes an ERP return sale, and once the warehouse receives it the order's page shows
the return shipment beside the credit note; one asked for after the window is credited
without taking the goods back, and the order's page says which and why."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from streams.erp.tryton_rpc import TrytonClient
from tests.integration.conftest import Stack
from tests.integration.erp_actions import sale_of

pytestmark = pytest.mark.integration
WINDOW = 20.0  # seconds


def _checkout(stack: Stack, product: int) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{stack.emulator.url}/__emulator/checkout",
        data=json.dumps({"items": [{"product_id": product, "quantity": 2}],
                         "billing": {"first_name": "Rita", "email": "rita@example.com"}}
                        ).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


async def _until(check: Callable[[], Awaitable[Any]], what: str, within: float = 120) -> Any:
    deadline = time.monotonic() + within
    while (found := await check()) is None:
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        await asyncio.sleep(0.5)
    return found


@pytest.mark.fresh
@pytest.mark.orders
@pytest.mark.env(WOOSYNC_RETURN_WINDOW_DAYS=str(WINDOW / 86400))
async def test_a_return_inside_the_window_comes_back_and_one_after_it_does_not(
        stack: Stack, erp_admin: TrytonClient) -> None:
    store = stack.emulator.emulator.store
    mug = store.by_sku("MUG")
    assert mug is not None
    early, late = (_checkout(stack, mug.id) for _ in range(2))
    oids = {name: f"woo:{stack.store}:{o['id']}" for name, o in (("early", early),
                                                                  ("late", late))}

    async def sales() -> dict[str, Any] | None:
        found = {n: await sale_of(erp_admin, oid) for n, oid in oids.items()}
        ok = all(len(s) == 1 and s[0]["state"] == "processing" for s in found.values())
        return found if ok else None

    await _until(sales, "both orders have their confirmed ERP sale")
    refunds = {}
    for name, order in (("early", early), ("late", late)):
        if name == "late":
            await asyncio.sleep(WINDOW + 2)  # now past the window
        woo = store.orders[order["id"]]
        line = woo.lines[0]
        refunds[name] = stack.emulator.run(
            store.refund, woo, (line.price * Decimal("1.2")).quantize(Decimal("0.01")),
            [(line.id, 1)], "does not fit", True)

    async def documents() -> dict[str, Any] | None:
        out = {}
        for name, refund in refunds.items():
            reference = f"woo:{stack.store}:refund:{refund.id}"
            out[name] = (
                await erp_admin.model("sale.sale", "search_read",
                                      [("woosync_reference", "=", reference)], 0, None,
                                      None, ["lines.quantity", "shipment_returns"]),
                await erp_admin.model("account.invoice", "search_read",
                                      [("woosync_reference", "=", reference)], 0, None,
                                      None, ["state", "total_amount"]))
        return out if all(notes and notes[0]["state"] == "posted"
                           for _, notes in out.values()) else None

    found = await _until(documents, "both refunds have their posted credit note")
    early_return, _ = found["early"]
    late_return, late_notes = found["late"]
    assert [ln["quantity"] for ln in early_return[0]["lines."]] == [-1.0]  # goods back
    assert late_return == []  # no return sale: the goods stay with the customer
    assert late_notes[0]["total_amount"] == -refunds["late"].amount
    # The warehouse receives the accepted return: the order's page shows its return
    # shipment received, beside the refund's credit note.
    await erp_admin.model("stock.shipment.out.return", "receive",
                          early_return[0]["shipment_returns"])
    early_id = f"woo:{stack.store}:refund:{refunds['early'].id}"

    async def received() -> dict[str, Any] | None:
        status, page = stack.get(f"/orders/{stack.store}/{early['id']}")
        back = page.get("returns", {}).get(early_id) if status == 200 else None
        return page if back and back["state"] == "received" else None

    page = await _until(received, "the received return on the order's page", 60)
    assert page["credit_notes"][early_id]["state"] == "posted"
    assert [ln["sku"] for ln in page["returns"][early_id]["lines"]] == ["MUG"]
    for name, verdict in (("early", "return accepted"), ("late", "return refused")):
        status, page = stack.get(f"/orders/{stack.store}/{oids[name].rsplit(':', 1)[-1]}")
        assert status == 200, page
        note = page["notes"][f"return:woo:{stack.store}:refund:{refunds[name].id}"]
        assert note.startswith(verdict), note
    assert "return window" in note

"""The inventory workflow end to end: a real broker, a real Tryton, the WooCommerce
emulator, one worker. A flash sale with concurrent ERP stock counts and faulty webhooks;
afterwards every SKU's stock in the store equals the ERP's available minus the open
holds minus safety stock (floored at 0), and /reservations agrees."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack import samples, seed_data
from devstack.flash_sale import SaleStats, shoppers, stock_counts
from devstack.tryton_server import TrytonServer
from streams import topics as t
from streams.codec import Message
from streams.erp.tryton import TrytonAdapter
from streams.erp.tryton_rpc import TrytonClient
from streams.inventory_web import MAX_LISTED
from tables.registry import owner_key
from tables.risk import rank
from tests.integration.conftest import SAFETY, Stack, erp_settings
from tests.integration.erp_actions import count_stock
from tests.integration.kafka_io import read_until, wait_for_key
from woo_emulator.config import Faults
from woo_emulator.runner import EmulatorThread

pytestmark = pytest.mark.integration

ORDERS = 3000  # the flash sale's size


async def _erp_available(admin: TrytonClient, skus: list[str]) -> dict[str, Decimal]:
    levels = await admin.model("woosync.feed", "stock_levels", skus, ["WH", "WH2"])
    return {sku: Decimal(str(sum(v[1] for v in wh.values())))
            for sku, wh in levels["levels"].items()}


def _open_holds(emulator: EmulatorThread) -> dict[str, int]:
    held: dict[str, int] = {}
    for order in list(emulator.emulator.store.orders.values()):
        if order.stock_reduced:
            for line in order.lines:
                if line.sku:
                    held[line.sku] = held.get(line.sku, 0) + line.reduced_stock
    return held


def _expected(available: dict[str, Decimal], held: dict[str, int]) -> dict[str, int]:
    return {sku: max(0, int(available[sku]) - held.get(sku, 0) - SAFETY) for sku in available}


def _store_stock(emulator: EmulatorThread, skus: list[str]) -> dict[str, int | None]:
    store = emulator.emulator.store
    out = {}
    for sku in skus:
        product = store.by_sku(sku)
        assert product is not None
        out[sku] = store.stock_owner(product).stock_quantity
    return out


async def _converged(stack: Stack, admin: TrytonClient, skus: list[str],
                     within: float) -> tuple[dict[str, int], dict[str, int | None]]:
    deadline = time.monotonic() + within
    expected: dict[str, int] = {}
    actual: dict[str, int | None] = {}
    while time.monotonic() < deadline:
        expected = _expected(await _erp_available(admin, skus), _open_holds(stack.emulator))
        actual = _store_stock(stack.emulator, skus)
        if actual == expected:
            return expected, actual
        await asyncio.sleep(1.0)
    return expected, actual


async def test_flash_sale_store_stock_equals_erp_available_minus_holds(
    stack: Stack, erp_admin: TrytonClient
) -> None:
    skus = [item.sku for item in seed_data.products()]
    # Before the sale: the store shows what the ERP has, less safety stock.
    expected, actual = await _converged(stack, erp_admin, skus, within=90)
    assert actual == expected

    await asyncio.to_thread(stack.emulator.run, setattr, stack.emulator.emulator.config,
                            "faults", Faults(duplicate=0.2, reorder=0.2, delay_seconds=1.0))
    stats = SaleStats()
    products = {sku: stack.emulator.emulator.store.by_sku(sku).id  # type: ignore[union-attr]
                for sku in skus}
    # Three crowds of shoppers at once until 3,000 orders are placed (the load is a
    # number of orders; a busy machine takes longer), and stock counts that keep
    # finding more for as long as they shop.
    sold = asyncio.Event()

    async def crowds() -> None:
        await asyncio.gather(*(shoppers(stack.emulator.url, products, 150, 150, stats,
                                        random.Random(seed), orders=ORDERS)
                               for seed in (5, 6, 7)))
        sold.set()

    started = time.monotonic()
    await asyncio.gather(crowds(), stock_counts(erp_admin, skus, 150, 0.25, stats,
                                                random.Random(9), counted=(100, 300),
                                                until=sold))
    print(f"flash sale: {stats.placed} orders placed, {stats.refused} refused,"
          f" {stats.counts} ERP stock counts in {time.monotonic() - started:.0f} s")
    assert stats.placed >= ORDERS and stats.counts >= 24 and not stats.errors

    expected, actual = await _converged(stack, erp_admin, skus, within=180)
    assert actual == expected
    held = _open_holds(stack.emulator)
    for sku in skus:
        status, body = stack.get(f"/reservations/{sku}")
        assert status == 200, body
        assert body["stores"][stack.store]["published"]["quantity"] == expected[sku], sku
        # The page lists at most MAX_LISTED holds (a fast run places over 1,000 on one
        # SKU); "held" sums all of them. No sale reaches the ERP here: none converted.
        assert Decimal(body["held"]) == held.get(sku, 0), sku
        assert body["holds_listed"] == min(body["holds_total"], MAX_LISTED), sku
        if body["holds_total"] <= MAX_LISTED:
            assert sum(Decimal(h["quantity"]) for h in body["holds"]
                       if h["store"] == stack.store) == held.get(sku, 0), sku
    assert stack.get("/reservations/NO-SUCH-SKU")[0] == 404
    assert stack.get("/reservations/bad%20sku!")[0] == 400
    status, page = stack.get("/availability?per_page=10")
    assert status == 200 and page["total"] >= len(skus) and len(page["items"]) == 10
    await _risk_and_metrics_follow_the_sale(stack, skus)


async def _risk_and_metrics_follow_the_sale(stack: Stack, skus: list[str]) -> None:
    """After the sale: every SKU sold is judged at some risk, most at risk first, the
    oversold units the metric counted are on the risk pages, and the latency, lag and
    feed freshness metrics are served."""
    deadline = time.monotonic() + 30
    while True:
        status, page = stack.get("/risk?per_page=500")
        assert status == 200, page
        judged = {r["sku"]: r for r in page["items"]}
        if (page["caught_up"] and set(skus) <= set(judged)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert set(skus) <= set(judged), sorted(judged)
    sold = [sku for sku in skus if Decimal(judged[sku]["velocity_15m"]) > 0]
    assert sold and all(judged[sku]["level"] != "none" for sku in sold)
    assert [r["sku"] for r in page["items"]] == [r["sku"] for r in sorted(page["items"],
                                                                          key=rank)]
    status, one = stack.get(f"/risk/{sold[0]}")
    assert status == 200 and one["sku"] == sold[0] and len(one["per_minute"]) == 15
    assert sum(Decimal(u) for u in one["per_minute"]) > 0
    assert stack.get("/risk?level=nope")[0] == 400
    scrape = await asyncio.to_thread(lambda: urllib.request.urlopen(
        f"http://127.0.0.1:{stack.settings.web_port}/metrics", timeout=10).read().decode())
    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    # The records also carry what earlier workers on this shared broker counted.
    oversold_here = sum(s.value for s in families["woosync_oversold_units"].samples
                        if s.name.endswith("_total") and s.labels["store"] == stack.store)
    assert oversold_here <= sum(Decimal(r["oversold_units"]) for r in page["items"])
    latency = {s.labels["workflow"]: s.value for s in
               families["woosync_sync_latency_seconds"].samples if s.name.endswith("_count")}
    assert latency["availability"] > 0 and latency["store_command"] > 0
    lag = {(s.labels["topic"], s.labels["partition"])
           for s in families["woosync_consumer_lag"].samples}
    assert ("inventory.holds", "0") in lag
    assert families["woosync_erp_feed_age_seconds"].samples


@pytest.mark.fresh
async def test_hold_conversion_against_tryton_opens_no_gap(
    stack: Stack, tryton: TrytonServer, erp_admin: TrytonClient
) -> None:
    skus = ["MUG"]  # this worker starts at the end of the topics: MUG is counted now
    await count_stock(erp_admin, "MUG", "WH", 100)  # whatever earlier tests left
    await _converged(stack, erp_admin, skus, within=90)
    mug = stack.emulator.emulator.store.by_sku("MUG")
    assert mug is not None
    orders = [await asyncio.to_thread(_checkout, stack, mug.id) for _ in range(4)]
    expected, actual = await _converged(stack, erp_admin, skus, within=60)
    assert actual == expected
    before = actual["MUG"]
    assert before is not None
    published_before = len(_mug_commands(stack))

    # The ERP books the orders: each sale confirmed lowers its forecast by the order.
    adapter = TrytonAdapter(erp_settings(tryton))
    try:
        for order in orders:
            await adapter.execute(Message("woosync.CreateSalesOrder", samples.create_sales_order(
                f"woo:{stack.store}:{order['id']}", datetime.now(UTC), [("MUG", 1)],
                shipping=Decimal(0))))
    finally:
        await adapter.close()
    # Every hold converts and stops counting once a stock read after the confirmation is
    # in; the store's figure is the same as before: the orders are counted once.
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, body = stack.get("/reservations/MUG")
        mine = [h for h in body["holds"] if h["store"] == stack.store]
        if len(mine) == 4 and not any(h["counts"] for h in mine):
            break
        await asyncio.sleep(1)
    mine = [h for h in body["holds"] if h["store"] == stack.store]
    assert len(mine) == 4 and all(h["converted_at"] for h in mine)
    assert not any(h["counts"] for h in mine)
    for _ in range(60):  # the last push may still be on its way through the sink
        if _store_stock(stack.emulator, ["MUG"])["MUG"] == before:
            break
        await asyncio.sleep(0.5)
    assert _store_stock(stack.emulator, ["MUG"])["MUG"] == before
    # And at no moment since did woosync publish more than that (no oversell gap).
    assert all(quantity <= before for quantity in _mug_commands(stack)[published_before:])


def _mug_commands(stack: Stack) -> list[int]:
    return [m.body["quantity"] for _, m in read_until(
        stack.settings, t.STORE_COMMANDS.name, lambda got: False,
        keep=lambda key, m: key == "MUG" and m.short_name == "SetAvailability"
        and m.body["store"] == stack.store, timeout=3)]


def _checkout(stack: Stack, product_id: int) -> Any:
    request = urllib.request.Request(
        f"{stack.emulator.url}/__emulator/checkout",
        data=json.dumps({"items": [{"product_id": product_id, "quantity": 1}]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.fresh
async def test_a_parent_managed_variation_holds_against_its_parent(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    parent_sku, small_sku = f"HD{tag}", f"HD{tag}-S"
    store = stack.emulator.emulator.store

    def add() -> tuple[int, int]:
        parent = store.add_product(name="Hoodie", sku=parent_sku, type="variable",
                                   stock_quantity=50)
        small = store.add_product(name="Hoodie S", sku=small_sku, type="variation",
                                  parent_id=parent.id, manage_stock="parent",
                                  stock_quantity=None)
        return parent.id, small.id

    _, small_id = await asyncio.to_thread(stack.emulator.run, add)
    # The store sweep reads the new products; then an order for the variation.
    seen = await asyncio.to_thread(
        read_until, stack.settings, t.COMMERCE_PRODUCTS.name, lambda got: bool(got),
        keep=lambda key, m: key == small_sku, timeout=60)
    assert seen and seen[-1][1].body["stock_managed_by"] != small_id
    # The owners table is written by another agent: wait for the variation's row.
    await asyncio.to_thread(
        wait_for_key, stack.settings, f"{stack.settings.app_id}-stock_owners-changelog",
        json.dumps(owner_key(stack.store, small_id)).encode())
    order = await asyncio.to_thread(_checkout, stack, small_id)
    deadline = time.monotonic() + 60
    status, body = 0, dict[str, Any]()
    while time.monotonic() < deadline:
        status, body = stack.get(f"/reservations/{parent_sku}")
        if status == 200 and body["holds"]:
            break
        await asyncio.sleep(1)
    assert status == 200, body
    assert [(h["order_id"], Decimal(h["quantity"])) for h in body["holds"]] == [
        (f"woo:{stack.store}:{order['id']}", Decimal(1))]
    # Nothing was held against the variation's own SKU.
    assert stack.get(f"/reservations/{small_sku}")[0] == 404

"""The store sink's glue against the emulator (no broker): what it reports per command."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agents import store_sink
from devstack import seed_data
from streams.envelope import envelope
from tests.agents.conftest import Harness
from woo_emulator.runner import EmulatorThread

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _set(h: Harness, n: int, sku: str, quantity: int) -> bytes:
    return h.encode("woosync.SetAvailability", {
        "envelope": envelope(event_id=f"a{n}", occurred_at=NOW, observed_at=NOW,
                             source="woosync", source_version="v", trace_id="t"),
        "command_id": f"cmd-{n}", "store": "demo", "sku": sku, "quantity": quantity,
        "stock_status": "instock"})


async def test_a_sku_the_store_does_not_sell_is_no_error(make_harness: Any,
                                                         emulator: EmulatorThread) -> None:
    h: Harness = await make_harness(
        [store_sink.AGENT], sink_coalesce_seconds=0.01,
        stores={"demo": {**seed_data.EMULATOR_KEYS, "rest_url": emulator.api}})
    async with h.agent("push_to_stores").test_context() as agent:
        await agent.put(_set(h, 1, "NOT-IN-STORE", 5), key=b"NOT-IN-STORE")
        await agent.put(_set(h, 2, "MUG", 7), key=b"MUG")
        await h.until(lambda: len(h.out("delivery.results")) == 2)
    results = {m.body["command_id"]: (m.short_name, m.body.get("result_ref"))
               for _, m in h.out("delivery.results")}
    assert results["cmd-1"] == ("CommandDelivered", "not sold in store demo")
    assert results["cmd-2"][0] == "CommandDelivered"
    assert h.dead_letters() == []
    mug = emulator.emulator.store.by_sku("MUG")
    assert mug is not None and mug.stock_quantity == 7


def _price(h: Harness, n: int, sku: str, price: str) -> bytes:
    return h.encode("woosync.SetPrice", {
        "envelope": envelope(event_id=f"p{n}", occurred_at=NOW, observed_at=NOW,
                             source="woosync", source_version="v", trace_id="t"),
        "command_id": f"price-{n}", "store": "demo", "sku": sku,
        "regular_price": Decimal(price), "sale_price": None, "sale_from": None,
        "sale_to": None})


async def test_set_price_writes_the_product_and_refuses_an_unknown_sku(
        make_harness: Any, emulator: EmulatorThread) -> None:
    h: Harness = await make_harness(
        [store_sink.AGENT], sink_coalesce_seconds=0.01,
        stores={"demo": {**seed_data.EMULATOR_KEYS, "rest_url": emulator.api}})
    async with h.agent("push_to_stores").test_context() as agent:
        await agent.put(_price(h, 1, "MUG", "11.90"), key=b"MUG")
        await agent.put(_price(h, 2, "NOT-IN-STORE", "1.00"), key=b"NOT-IN-STORE")
        await h.until(lambda: len(h.out("delivery.results")) == 2)
    results = {m.body["command_id"]: m.short_name for _, m in h.out("delivery.results")}
    assert results == {"price-1": "CommandDelivered", "price-2": "CommandFailed"}
    mug = emulator.emulator.store.by_sku("MUG")
    assert mug is not None and mug.regular_price == Decimal("11.90")
    assert ["woosync_no_product" in letter.body["error"] for letter in h.dead_letters()] == [
        True]


def _product(h: Harness, n: int, sku: str, fields: dict[str, str], create: bool = False
             ) -> bytes:
    return h.encode("woosync.SetProduct", {
        "envelope": envelope(event_id=f"sp{n}", occurred_at=NOW, observed_at=NOW,
                             source="woosync", source_version="v", trace_id="t"),
        "command_id": f"product-{n}", "store": "demo", "sku": sku, "erp_sku": sku,
        "version": "v", "create": create, "fields": fields})


async def test_set_product_writes_changed_fields_and_creates_only_when_told(
        make_harness: Any, emulator: EmulatorThread) -> None:
    h: Harness = await make_harness(
        [store_sink.AGENT], sink_coalesce_seconds=0.01,
        stores={"demo": {**seed_data.EMULATOR_KEYS, "rest_url": emulator.api}})
    store = emulator.emulator.store
    mug = store.by_sku("MUG")
    assert mug is not None
    mug.meta["other"] = "kept"
    async with h.agent("push_to_stores").test_context() as agent:
        await agent.put(_product(h, 1, "MUG", {
            "sale_price": "7.00", "date_on_sale_from_gmt": "2026-12-10T00:00:00",
            "date_on_sale_to_gmt": "2026-12-12T23:59:59", "description": "Stoneware",
            "meta:_woosync_discountable": "no"}), key=b"MUG")
        await agent.put(_product(h, 2, "NEW-1", {"name": "New", "regular_price": "3.00",
                                                 "status": "publish"}), key=b"NEW-1")
        await agent.put(_product(h, 3, "NEW-2", {"name": "Newer", "regular_price": "4.00",
                                                 "status": "publish"}, create=True),
                        key=b"NEW-2")
        await h.until(lambda: len(h.out("delivery.results")) == 3)
    results = {m.body["command_id"]: (m.short_name, m.body.get("result_ref"))
               for _, m in h.out("delivery.results")}
    assert results["product-2"] == ("CommandDelivered", "not sold in store demo")
    assert results["product-1"][0] == results["product-3"][0] == "CommandDelivered"
    assert h.dead_letters() == []
    assert mug.sale_price == Decimal("7.00") and mug.description == "Stoneware"
    assert mug.sale_from == datetime(2026, 12, 10, tzinfo=UTC)
    assert mug.meta == {"other": "kept", "_woosync_discountable": "no"}
    assert mug.regular_price == Decimal("9.50")  # not in the command: untouched
    created = store.by_sku("NEW-2")
    assert created is not None and created.name == "Newer"
    assert created.regular_price == Decimal("4.00") and store.by_sku("NEW-1") is None

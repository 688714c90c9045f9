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

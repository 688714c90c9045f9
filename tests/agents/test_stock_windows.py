"""Store stock against what woosync published: a store that keeps showing another number
past the SLA opens a stock window, which woosync heals by sending the published value
again (recorded on the window); the store showing the published number closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents import availability
from devstack import samples
from streams import divergence
from streams.envelope import envelope, utcnow
from tables.registry import INVENTORY, STOCK_WINDOWS
from tests.agents.conftest import Harness

NOW = datetime.now(UTC).replace(microsecond=0)


def _product(quantity: int, n: int) -> dict[str, Any]:
    return {"envelope": envelope(event_id=f"p{n}", occurred_at=NOW, observed_at=NOW,
                                 source="woocommerce:demo", source_version=str(n),
                                 trace_id="t"),
            "store": "demo", "sku": "MUG", "product_id": 5, "parent_id": 0,
            "product_type": "simple", "status": "publish", "manage_stock": True,
            "stock_managed_by": 5, "stock_quantity": quantity, "stock_status": "instock",
            "backorders": "no", "price": None, "regular_price": None, "sale_price": None,
            "modified_at": NOW + timedelta(seconds=n), "deleted": False}


async def test_a_store_edit_opens_a_window_that_woosync_heals(make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], partitions=1,
                                    inventory_batch_seconds=0.01)
    windows = h.runtime.table(STOCK_WINDOWS)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW, Decimal(40))), key=b"MUG")
        await h.until(lambda: h.out("store.commands", "SetAvailability"))
        published = h.out("store.commands", "SetAvailability")[-1][1].body["quantity"]
        # Someone sets the stock in the store admin; the sweep reads it back.
        await agent.put(h.encode("woosync.StorefrontProductObserved",
                                 _product(published + 7, 1)), key=b"MUG")
        await h.until(lambda: windows.get(b"MUG|demo|stock"))
        assert h.out("divergence.windows") == []  # suspect only, within its SLA

        await divergence.tick_all(h.runtime, windows, "availability", "inventory.holds",
                                  utcnow() + timedelta(seconds=181), partitions={0},
                                  heal=availability._healer(h.runtime,
                                                            h.runtime.table(INVENTORY)))
        events = [m.short_name for _, m in h.out("divergence.windows")]
        assert events == ["DivergenceOpened", "DivergenceUpdated"]
        healed = h.out("divergence.windows", "DivergenceUpdated")[0][1].body["window"]
        assert healed["action"].startswith(f"sent the published availability ({published})")
        resent = h.out("store.commands", "SetAvailability")[-1][1].body
        assert (resent["store"], resent["quantity"]) == ("demo", published)

        await agent.put(h.encode("woosync.StorefrontProductObserved",
                                 _product(published, 2)), key=b"MUG")
        await h.until(lambda: h.out("divergence.windows", "DivergenceClosed"))
    assert not windows.get(b"MUG|demo|stock")


def _erp_product(price: str, n: int) -> dict[str, Any]:
    return {"envelope": envelope(event_id=f"e{n}", occurred_at=NOW, observed_at=NOW,
                                 source="tryton", source_version=str(n), trace_id="t"),
            "sku": "MUG", "erp_id": "5", "name": "Mug", "active": True,
            "list_price": Decimal(price), "sale_price": None, "sale_from": None,
            "sale_to": None, "tax_class": None, "modified_at": NOW + timedelta(seconds=n)}


async def test_a_store_price_edit_opens_a_price_window_and_the_erp_price_is_set_again(
        make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], partitions=1,
                                    inventory_batch_seconds=0.01)
    windows = h.runtime.table(STOCK_WINDOWS)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.ProductObserved", _erp_product("12.50", 2)),
                        key=b"MUG")
        # An older ERP version arriving late does not put back an old price.
        await agent.put(h.encode("woosync.ProductObserved", _erp_product("9.00", 1)),
                        key=b"MUG")
        edited = {**_product(5, 1), "regular_price": Decimal("15.00")}
        await agent.put(h.encode("woosync.StorefrontProductObserved", edited), key=b"MUG")
        await h.until(lambda: windows.get(b"MUG|demo|price"))
        await divergence.tick_all(h.runtime, windows, "availability", "inventory.holds",
                                  utcnow() + timedelta(seconds=301), partitions={0},
                                  heal=availability._healer(h.runtime,
                                                            h.runtime.table(INVENTORY)))
        opened = h.out("divergence.windows", "DivergenceOpened")[0][1].body["window"]
        assert (opened["kind"], opened["store_value"], opened["erp_value"]) == (
            "price", "store price 15.0000", "ERP list price 12.5000")
        [(_, command)] = h.out("store.commands", "SetPrice")
        assert (command.body["sku"], command.body["regular_price"]) == ("MUG",
                                                                        Decimal("12.50"))
        fixed = {**_product(5, 2), "regular_price": Decimal("12.50")}
        await agent.put(h.encode("woosync.StorefrontProductObserved", fixed), key=b"MUG")
        await h.until(lambda: h.out("divergence.windows", "DivergenceClosed"))


async def test_the_audit_finds_a_sum_that_drifted_from_the_holds(make_harness: Any) -> None:
    from dataclasses import replace

    from tables.inventory import SkuState
    from tables.registry import HOLD_LINES
    from tests.agents.test_retention import _hold

    h: Harness = await make_harness([availability.AGENT], partitions=1,
                                    inventory_batch_seconds=0.01)
    table, holds = h.runtime.table(INVENTORY), h.runtime.table(HOLD_LINES)
    windows = h.runtime.table(STOCK_WINDOWS)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW, Decimal(40))), key=b"MUG")
        await agent.put(h.encode("woosync.HoldSet", _hold("HoldSet", "woo:demo:1", 3, NOW)),
                        key=b"MUG")
        await h.until(lambda: SkuState.from_json("MUG", table.get(b"MUG")).open == {"demo": 3})
        # In agreement: the audit finds nothing to remember.
        await availability._audit(h.runtime, table, holds, windows, partitions={0})
        assert not windows.get(b"MUG|demo|atp")

        # The row's sum drifts (a hold counted twice, say) and the next stock read
        # publishes from it: the audit sees the publication disagree with the holds.
        state = SkuState.from_json("MUG", table.get(b"MUG"))
        table[b"MUG"] = replace(state, open={"demo": Decimal(6)}).to_json()
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW + timedelta(seconds=1), Decimal(41))), key=b"MUG")
        await h.until(lambda: SkuState.from_json("MUG", table.get(b"MUG")).read_at != (
            state.read_at))
        await availability._audit(h.runtime, table, holds, windows, partitions={0})
        assert windows.get(b"MUG|demo|atp")
        await divergence.tick_all(h.runtime, windows, "availability", "inventory.holds",
                                  utcnow() + timedelta(seconds=301), partitions={0})
        opened = h.out("divergence.windows", "DivergenceOpened")[0][1].body["window"]
        assert opened["kind"] == "atp"
        assert "recomputed from the ERP's levels and the holds" in opened["erp_value"]


async def test_a_sku_judged_in_a_staleness_blip_makes_the_timer_re_judge_its_partition(
        make_harness: Any) -> None:
    from streams.runtime import writing_as
    from tables.registry import feed_key

    h: Harness = await make_harness([availability.AGENT], partitions=1,
                                    inventory_batch_seconds=0.01, erp_stale_seconds=60.0)
    table = h.runtime.table(INVENTORY)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "CAP", NOW, Decimal(5))), key=b"CAP")
        await h.until(lambda: table.get(b"CAP"))
        # The partition was judged fresh, but its last heartbeat is older than the stale
        # age when this read is applied: the SKU is published stale.
        writing_as(h.runtime.handles["availability"][0])
        table[feed_key(0)] = {"polled_at": (utcnow() - timedelta(seconds=90)).isoformat(),
                              "judged_stale": False}
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW, Decimal(40))), key=b"MUG")
        await h.until(lambda: [m for _, m in h.out("store.commands", "SetAvailability")
                               if m.body["sku"] == "MUG"])
    assert table.get(feed_key(0))["judged_stale"] is None  # the timer re-judges them all

"""The risk judge on the availability agent's rows: a SKU selling faster than its ATP
lasts is judged critical and published on inventory.risk, units taken beyond ATP are
counted as oversold (row, record and metric), an unchanged SKU is not published again,
and a store's shown stock is kept for the exposure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents import availability, risk
from devstack import samples
from streams.envelope import envelope
from tables.inventory import SkuState
from tables.registry import INVENTORY
from tests.agents.conftest import Harness
from tests.agents.test_stock_windows import _product

NOW = datetime.now(UTC).replace(microsecond=0)


def _hold(order: int, quantity: int, at: datetime = NOW) -> dict[str, Any]:
    return {"envelope": envelope(event_id=f"h{order}", occurred_at=at, observed_at=at,
                                 source="woosync", source_version=str(order), trace_id="t"),
            "sku": "MUG", "order_id": f"woo:demo:{order}", "line_id": "1", "store": "demo",
            "order_version": at + timedelta(seconds=order), "quantity": Decimal(quantity)}


async def test_a_sku_selling_out_is_critical_and_its_oversold_units_counted(
        make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT, risk.AGENT], partitions=1,
                                    inventory_batch_seconds=0.01, stale_buffer=0)
    table = h.runtime.table(INVENTORY)
    judge = risk.RiskJudge(h.runtime)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved", samples.stock_level_observed(
            "MUG", NOW, Decimal(4))), key=b"MUG")
        await h.until(lambda: h.out("store.commands", "SetAvailability"))
        first = SkuState.from_json("MUG", table.get(b"MUG"))
        atp = int(next(iter(first.published.values())).quantity)
        # Ordered now, not when the module was read: demand counts by the order's minute
        # and the judge's 1-minute velocity reads the current minute's.
        now = datetime.now(UTC)
        for order in range(1, atp + 3):  # two orders more than there is to promise
            await agent.put(h.encode("woosync.HoldSet", _hold(order, 1, now)), key=b"MUG")
        await agent.put(h.encode("woosync.StorefrontProductObserved", _product(3, 1)),
                        key=b"MUG")
        await h.until(lambda: SkuState.from_json("MUG", table.get(b"MUG")).shown)

        state = SkuState.from_json("MUG", table.get(b"MUG"))
        assert state.demand.oversold == 2
        assert [o.order_id for o in state.demand.orders] == [
            f"woo:demo:{atp + 1}", f"woo:demo:{atp + 2}"]
        assert h.runtime.metrics.oversold_units.labels("demo")._value.get() == 2
        latency = h.runtime.metrics.sync_latency.labels("availability")
        assert sum(b.get() for b in latency._buckets) >= 2  # the read, then each hold

        await judge.run(partitions={0})
        (key, message), = h.out("inventory.risk", "SkuRisk")
        record = message.body
        assert key == "MUG" and record["level"] == "critical"
        assert record["oversold_units"] == 2 and record["velocity_1m"] > 0
        assert record["minutes_to_stockout"] == 0  # ATP used up, still in demand
        store, = record["stores"]
        assert (store["shown"], store["exposure"]) == (3, 3)
        assert h.runtime.metrics.risk_skus.labels("critical")._value.get() == 1

        await judge.run(partitions={0})  # nothing changed: nothing sent again
        assert len(h.out("inventory.risk", "SkuRisk")) == 1

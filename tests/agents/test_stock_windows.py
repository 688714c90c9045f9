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

"""The catalog agent's glue: ProductObserved in, SetProduct per store out (keyed and
named by the store's own SKU), nothing for an older product, only changed fields
after; the refresh timer's walk sends a store what it has not been sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents import catalog
from streams.envelope import envelope
from tables.catalog import CatalogRow
from tables.registry import CATALOG, CATALOG_WINDOWS
from tests.agents.conftest import Harness

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
KEYS = {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "wh"}


def _product(n: int, price: str) -> dict[str, Any]:
    version = (NOW + timedelta(seconds=n)).isoformat()
    return {"envelope": envelope(event_id=f"e{n}", occurred_at=NOW, observed_at=NOW,
                                 source="erp:tryton", source_version=version, trace_id="t"),
            "sku": "MUG", "erp_id": "5", "name": "Mug", "active": True,
            "list_price": Decimal(price), "sale_price": None, "sale_from": None,
            "sale_to": None, "tax_class": None, "modified_at": NOW + timedelta(seconds=n),
            "description": None, "discountable": True, "sales": [], "template": None,
            "attributes": {}}


async def test_products_become_per_store_commands_with_only_changed_fields(
        make_harness: Any) -> None:
    h: Harness = await make_harness([catalog.AGENT], partitions=1, stores={
        "north": KEYS, "south": {**KEYS, "sku_map": {"S-MUG": "MUG"}}})
    async with h.agent("publish_catalog").test_context() as agent:
        await agent.put(h.encode("woosync.ProductObserved", _product(2, "9.50")), key=b"MUG")
        await agent.put(h.encode("woosync.ProductObserved", _product(1, "5.00")), key=b"MUG")
        await agent.put(h.encode("woosync.ProductObserved", _product(3, "9.90")), key=b"MUG")
        await h.until(lambda: len(h.out("store.commands")) == 4)
    commands = [(key, m.body["store"], m.body["fields"]) for key, m in h.out("store.commands")]
    assert [(k, s) for k, s, _ in commands] == [("MUG", "north"), ("S-MUG", "south")] * 2
    assert commands[0][2]["regular_price"] == "9.50" and commands[0][2]["name"] == "Mug"
    assert [f for _, _, f in commands[2:]] == [{"regular_price": "9.90"}] * 2
    assert h.dead_letters() == []

    # A store configured later gets the whole product from the refresh walk.
    h.runtime.settings = h.runtime.settings.model_copy(update={"stores": {
        **h.runtime.settings.stores, "west": h.runtime.settings.stores["north"]}})
    table = h.runtime.table(CATALOG)
    assert await catalog.refresh_all(h.runtime, table, NOW, partitions={0}) == 1
    _, west = h.out("store.commands")[-1]
    assert west.body["store"] == "west" and west.body["fields"]["regular_price"] == "9.90"
    assert "west" in CatalogRow.from_json("MUG", table.get(b"MUG")).sent


def _shown(n: int, name: str, sale: str | None) -> dict[str, Any]:
    at = NOW + timedelta(seconds=n)
    return {"envelope": envelope(event_id=f"s{n}", occurred_at=at, observed_at=at,
                                 source="woo:north", source_version=at.isoformat(),
                                 trace_id="t"),
            "store": "north", "sku": "MUG", "product_id": 3, "parent_id": 0,
            "product_type": "simple", "status": "publish", "manage_stock": True,
            "stock_managed_by": 3, "stock_quantity": 5, "stock_status": "instock",
            "backorders": "no", "price": Decimal("9.50"), "regular_price": Decimal("9.50"),
            "sale_price": None if sale is None else Decimal(sale), "modified_at": at,
            "deleted": False, "name": name}


async def test_a_store_edit_against_the_grain_opens_a_window_and_is_set_back(
        make_harness: Any) -> None:
    """A name and a sale price typed in the store admin: a product window, and healing
    sends the ERP's values of the fields settings say to overwrite."""
    h: Harness = await make_harness(
        [catalog.AGENT], partitions=1, stores={"north": KEYS},
        divergence_sla_seconds={"product": 0.0}, store_edits_overwrite=("name",))
    windows = h.runtime.table(CATALOG_WINDOWS)
    async with h.agent("publish_catalog").test_context() as agent:
        await agent.put(h.encode("woosync.ProductObserved", _product(1, "9.50")), key=b"MUG")
        await agent.put(h.encode("woosync.StorefrontProductObserved",
                                 _shown(5, "Mug", None)), key=b"MUG")
        await agent.put(h.encode("woosync.StorefrontProductObserved",
                                 _shown(6, "Best Mug Ever", "4.00")), key=b"MUG")
        await h.until(lambda: len(h.out("store.commands")) == 2)
    first, healed = (m for _, m in h.out("store.commands"))
    assert healed.body["fields"] == {"name": "Mug"}  # sale_price: recorded, not overwritten
    assert healed.body["command_id"] != first.body["command_id"]
    opened = [m.body["window"] for _, m in h.out("divergence.windows", "DivergenceOpened")]
    assert [w["kind"] for w in opened] == ["product"]
    assert "Best Mug Ever" in opened[0]["store_value"] and "'4.00'" in opened[0]["store_value"]
    assert windows.get(b"MUG|north|product")

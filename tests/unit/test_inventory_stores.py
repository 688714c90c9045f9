"""Several stores on one ERP: a store's ATP is its own warehouses' stock less the holds
of the stores that share a warehouse with it (their orders ship from stock it uses), and
every store's ATP travels in AvailabilityChanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from streams.inventory_config import channels
from streams.settings import Settings, StoreSettings
from tables.inventory import (
    Channel,
    Hold,
    Policy,
    SkuState,
    apply_hold,
    apply_stock,
    atp,
    availability_changed,
    held,
    hold_key,
    publish,
)

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = Policy()
# north ships from WH, south from WH2, web from both.
NORTH = Channel("north", ("WH",), "SKU", frozenset({"south"}))
SOUTH = Channel("south", ("WH2",), "SKU", frozenset({"north"}))
WEB = Channel("web", ("WH", "WH2"), "SKU", frozenset())


def _stock(second: int, wh: int, wh2: int) -> dict[str, Any]:
    return {"read_at": T0 + timedelta(seconds=second),
            "warehouses": [{"warehouse": "WH", "on_hand": Decimal(wh), "forecast": Decimal(wh)},
                           {"warehouse": "WH2", "on_hand": Decimal(wh2),
                            "forecast": Decimal(wh2)}]}


def _hold(store: str, order: int, quantity: int) -> dict[str, Any]:
    return {"order_id": f"woo:{store}:{order}", "line_id": "1", "store": store,
            "quantity": Decimal(quantity), "order_version": T0 + timedelta(seconds=order)}


def _apply(state: SkuState, holds: dict[str, Hold], kind: str, body: dict[str, Any]
           ) -> SkuState:
    key = hold_key(body)
    state, new = apply_hold(state, kind, holds.get(key), body)
    if new is not None:
        holds[key] = new
    return state


def _state() -> tuple[SkuState, dict[str, Hold]]:
    holds: dict[str, Hold] = {}
    state = apply_stock(SkuState("SKU"), _stock(0, 10, 20))
    state = _apply(state, holds, "HoldSet", _hold("north", 1, 3))
    state = _apply(state, holds, "HoldSet", _hold("south", 2, 5))
    state = _apply(state, holds, "HoldSet", _hold("web", 3, 1))
    return state, holds


def test_a_store_counts_only_holds_of_stores_sharing_its_warehouses() -> None:
    state, _ = _state()
    assert atp(state, NORTH, POLICY) == 10 - 3 - 1  # not south's 5
    assert atp(state, SOUTH, POLICY) == 20 - 5 - 1  # not north's 3
    assert atp(state, WEB, POLICY) == 30 - 3 - 5 - 1
    assert held(state) == 9 and held(state, NORTH) == 4


def test_releases_and_conversions_keep_the_per_store_sums() -> None:
    state, holds = _state()
    state = _apply(state, holds, "HoldReleased", _hold("north", 1, 0))
    assert atp(state, NORTH, POLICY) == 9 and atp(state, SOUTH, POLICY) == 14
    assert "north" not in state.open  # a store at zero is not kept
    # South's order is confirmed: it counts (for south only) until a later read.
    state = _apply(state, holds, "HoldConverted",
                   {"order_id": "woo:south:2", "line_id": "1",
                    "confirmed_at": T0 + timedelta(seconds=30)})
    assert atp(state, SOUTH, POLICY) == 14 and atp(state, NORTH, POLICY) == 9
    state = apply_stock(state, _stock(31, 10, 15))  # the ERP now counts the sale
    assert atp(state, SOUTH, POLICY) == 14 and atp(state, WEB, POLICY) == 24


def test_a_row_written_before_per_store_sums_counts_for_every_store() -> None:
    old = {"sku": "SKU", "read_at": "2026-12-02T09:00:00+00:00", "open": "4",
           "levels": {"WH": ["10", "10"], "WH2": ["20", "20"]},
           "converting": {"o|1": ["2", "2026-12-02T09:00:05+00:00"]}, "published": {}}
    state = SkuState.from_json("SKU", old)
    assert atp(state, NORTH, POLICY) == 10 - 6 and atp(state, SOUTH, POLICY) == 20 - 6
    again = SkuState.from_json("SKU", state.to_json())
    assert again == state


def test_availability_changed_carries_each_stores_atp() -> None:
    state, _ = _state()
    state, changed = publish(state, [NORTH, SOUTH, WEB], POLICY, False, T0)
    event = availability_changed(state, changed, [NORTH, SOUTH, WEB], POLICY)
    by_store = {s["store"]: s for s in event["stores"]}
    assert {s: (v["quantity"], v["atp"]) for s, v in by_store.items()} == {
        "north": (6, Decimal(6)), "south": (14, Decimal(14)), "web": (21, Decimal(21))}
    assert event["atp"] == Decimal(6)  # the first store's, as before


def test_settings_find_the_stores_apart() -> None:
    secret = SecretStr("x")
    store = {"consumer_key": secret, "consumer_secret": secret, "webhook_secret": secret}
    settings = Settings(stores={
        "north": StoreSettings(warehouses=("WH",), ship_from="WH", **store),
        "south": StoreSettings(warehouses=("WH2",), ship_from="WH2", **store),
        "web": StoreSettings(warehouses=("WH", "WH2"), ship_from="WH", **store)})
    assert {c.store: c.apart for c in channels(settings, "SKU")} == {
        "north": frozenset({"south"}), "south": frozenset({"north"}), "web": frozenset()}

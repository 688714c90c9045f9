"""Oversell risk: demand counted once per unit newly held (replays add nothing),
velocity over sliding windows, time to stock-out, levels, oversold units only beyond the
ATP the store had, exposure, and the top list's order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tables.demand import KEPT_MINUTES, KEPT_ORDERS, NO_DEMAND, Demand, ordered, oversold_by, series
from tables.inventory import Arrival, Channel, Hold, Policy, SkuState, apply_events, apply_stock
from tables.risk import assess, level_of, rank, time_to_stockout, velocities, with_arrivals

T0 = datetime(2026, 12, 2, 9, 0, 30, tzinfo=UTC)
CHANNEL = Channel("s", ("WH",), "HOT-01")
POLICY = Policy()
MINUTES = {"critical": 5.0, "high": 15.0, "medium": 60.0}


def _stock(forecast: int) -> dict[str, Any]:
    return {"read_at": T0 - timedelta(hours=1), "warehouses": [
        {"warehouse": "WH", "on_hand": Decimal(forecast), "forecast": Decimal(forecast)}]}


def _hold(order: int, quantity: int, second: int = 0) -> tuple[str, dict[str, Any]]:
    return "HoldSet", {"order_id": f"woo:s:{order}", "line_id": "1", "store": "s",
                       "quantity": Decimal(quantity),
                       "order_version": T0 + timedelta(seconds=second)}


def _run(state: SkuState, events: list[tuple[str, dict[str, Any]]],
         holds: dict[str, Hold]) -> tuple[SkuState, dict[str, Decimal]]:
    arrivals: list[Arrival] = []
    state, changed = apply_events(state, events, holds.get, arrivals)
    holds.update(changed)
    return with_arrivals(state, arrivals, [CHANNEL], POLICY)


def test_units_beyond_the_atp_the_store_had_are_oversold_and_replays_add_nothing() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(3))
    holds: dict[str, Hold] = {}
    state, oversold = _run(state, [_hold(1, 2), _hold(2, 2), _hold(3, 1)], holds)
    # ATP 3: the first order fits, the second has 1 of its 2 beyond, the third all of it.
    assert oversold == {"s": Decimal(2)}
    assert state.demand.oversold == 2
    assert [(o.order_id, o.units) for o in state.demand.orders] == [
        ("woo:s:2", Decimal(1)), ("woo:s:3", Decimal(1))]
    again, more = _run(state, [_hold(1, 2), _hold(2, 2), _hold(3, 1)], holds)
    assert more == {} and again.demand == state.demand
    # Raising a line counts only the units added.
    raised, _ = _run(state, [_hold(1, 3, second=5)], holds)
    assert sum(raised.demand.minutes.values()) == 6


def test_nothing_is_oversold_before_the_erp_was_read() -> None:
    state, oversold = _run(SkuState("HOT-01"), [_hold(1, 4)], {})
    assert oversold == {} and sum(state.demand.minutes.values()) == 4


def test_oversold_by() -> None:
    assert oversold_by(Decimal(5), Decimal(3)) == 0
    assert oversold_by(Decimal(2), Decimal(3)) == 1
    assert oversold_by(Decimal(-4), Decimal(3)) == 3


def test_velocity_windows_slide_and_old_minutes_are_dropped() -> None:
    demand = NO_DEMAND
    for minute in range(20):  # 2 units a minute for 20 minutes
        demand = ordered(demand, T0 + timedelta(minutes=minute), Decimal(2), Decimal(0),
                         "o", "s")
    now = T0 + timedelta(minutes=19)
    assert len(demand.minutes) == KEPT_MINUTES
    assert velocities(demand, now) == {1: 2, 5: 2, 15: 2}
    later = velocities(demand, now + timedelta(minutes=10))
    assert later[1] == 0 and later[5] == 0 and later[15] == Decimal(10) / 15
    assert series(demand, now) == [Decimal(2)] * KEPT_MINUTES
    assert series(demand, now + timedelta(minutes=3))[-3:] == [0, 0, 0]


def test_a_spike_shows_in_the_fastest_window() -> None:
    velocity = {1: Decimal(30), 5: Decimal(6), 15: Decimal(2)}
    assert time_to_stockout(Decimal(60), velocity) == 2
    assert time_to_stockout(Decimal(-3), velocity) == 0
    assert time_to_stockout(Decimal(60), {1: Decimal(0), 5: Decimal(0), 15: Decimal(0)}) is None


def test_levels_follow_the_thresholds() -> None:
    assert [level_of(m, MINUTES) for m in (None, Decimal(0), Decimal(5), Decimal("5.1"),
                                           Decimal(15), Decimal(60), Decimal(61))] == [
        "none", "critical", "critical", "high", "high", "medium", "low"]


def test_assess_a_hot_sku_with_a_store_showing_more_than_atp() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(10))
    state, _ = _run(state, [_hold(n, 1, second=n) for n in range(8)], {})
    state = replace(state, shown={"s": 6})
    risk = assess(state, [CHANNEL], POLICY, T0 + timedelta(seconds=20), MINUTES)
    assert risk.atp == 2 and risk.velocity[1] == 8
    assert risk.minutes_to_stockout == Decimal("0.25") and risk.level == "critical"
    view, = risk.stores
    assert (view.shown, view.exposure) == (6, 4)
    record = risk.to_record()
    assert record["level"] == "critical" and record["per_minute"][-1] == 8


def test_the_top_list_puts_the_most_urgent_first() -> None:
    def rec(sku: str, level: str, minutes: str | None, v: str) -> dict[str, Any]:
        return {"sku": sku, "level": level, "minutes_to_stockout": minutes,
                "velocity_1m": v, "velocity_5m": "0", "velocity_15m": "0"}
    rows = [rec("A", "low", "90", "1"), rec("B", "critical", "3", "2"),
            rec("C", "critical", "1", "1"), rec("D", "none", None, "0"),
            rec("E", "high", "10", "9")]
    assert [r["sku"] for r in sorted(rows, key=rank)] == ["C", "B", "E", "A", "D"]


def test_demand_round_trips_and_keeps_a_bounded_list_of_orders() -> None:
    demand = NO_DEMAND
    for n in range(KEPT_ORDERS + 5):
        demand = ordered(demand, T0, Decimal(1), Decimal(1), f"o{n}", "s")
    assert len(demand.orders) == KEPT_ORDERS and demand.oversold == KEPT_ORDERS + 5
    assert demand.orders[-1].order_id == f"o{KEPT_ORDERS + 4}"
    assert Demand.from_json(demand.to_json()) == demand
    state = SkuState("HOT-01", demand=demand, shown={"s": 3})
    assert SkuState.from_json("HOT-01", state.to_json()) == state

"""Reservations and availability, the SKU side: ATP, conversion without a gap, only
changes published, staleness; permutations, duplicates and replays of the same events
give the same state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tables.inventory import (
    Channel,
    Policy,
    SkuState,
    apply_hold_converted,
    apply_hold_released,
    apply_hold_set,
    apply_stock,
    atp,
    counts,
    held,
    is_stale,
    publish,
)

T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
CHANNEL = Channel("s", ("WH", "WH2"), "HOT-01")
POLICY = Policy(safety_stock=Decimal(2))


def _stock(second: int, wh: int, wh2: int, on_hand: int = 100) -> dict[str, Any]:
    return {"read_at": T0 + timedelta(seconds=second),
            "warehouses": [{"warehouse": "WH", "on_hand": Decimal(on_hand),
                            "forecast": Decimal(wh)},
                           {"warehouse": "WH2", "on_hand": Decimal(on_hand),
                            "forecast": Decimal(wh2)},
                           {"warehouse": "OTHER", "on_hand": Decimal(9),
                            "forecast": Decimal(9)}]}


def _hold(order: int, quantity: int, second: int) -> dict[str, Any]:
    return {"order_id": f"woo:s:{order}", "line_id": "1", "store": "s",
            "quantity": Decimal(quantity), "order_version": T0 + timedelta(seconds=second)}


def _converted(order: int, second: int) -> dict[str, Any]:
    return {"order_id": f"woo:s:{order}", "line_id": "1",
            "confirmed_at": T0 + timedelta(seconds=second)}


def test_atp_is_forecast_of_the_stores_warehouses_minus_holds_minus_safety() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 10, 3))
    state = apply_hold_set(state, _hold(1, 4, 1))
    assert atp(state, CHANNEL, POLICY) == 10 + 3 - 4 - 2


def test_holds_are_set_not_added_and_releases_stick() -> None:
    state = SkuState("HOT-01")
    for _ in range(3):
        state = apply_hold_set(state, _hold(1, 4, 1))
    assert held(state) == 4
    state = apply_hold_released(state, {**_hold(1, 0, 2)})
    assert held(state) == 0
    state = apply_hold_set(state, _hold(1, 4, 1))  # an older set replayed late
    assert held(state) == 0


def test_converted_hold_counts_until_a_read_after_the_confirmation() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 10, 0))
    state = apply_hold_set(state, _hold(1, 3, 1))
    state = apply_hold_converted(state, _converted(1, 5))
    assert held(state) == 3  # the ERP's figure does not count it yet
    state = apply_stock(state, _stock(4, 10, 0))  # read before the confirmation
    assert held(state) == 3
    state = apply_stock(state, _stock(6, 7, 0))  # read after: forecast now counts it
    assert held(state) == 0
    assert atp(state, CHANNEL, POLICY) == 7 - 2


def test_conversion_after_a_later_read_drops_the_hold_at_once() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(10, 7, 0))
    state = apply_hold_set(state, _hold(1, 3, 1))
    state = apply_hold_converted(state, _converted(1, 5))
    assert held(state) == 0


def test_only_changes_are_published_and_never_negative() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 3, 0))
    state, out = publish(state, [CHANNEL], POLICY, False, T0)
    assert [(o.quantity, o.status) for o in out] == [(1, "instock")]
    state, out = publish(state, [CHANNEL], POLICY, False, T0)
    assert out == []
    state = apply_hold_set(state, _hold(1, 5, 1))
    state, out = publish(state, [CHANNEL], POLICY, False, T0)
    assert [(o.quantity, o.status) for o in out] == [(0, "outofstock")]


def test_stale_feed_publishes_conservatively_and_marked() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 20, 0))
    assert is_stale(None, T0, POLICY)
    assert is_stale(T0, T0 + timedelta(seconds=61), POLICY)
    assert not is_stale(T0, T0 + timedelta(seconds=30), POLICY)
    _, out = publish(state, [CHANNEL], POLICY, True, T0)
    assert [(o.quantity, o.stale) for o in out] == [(20 - 2 - 5, True)]


def test_nothing_is_published_before_the_first_stock_read() -> None:
    state = apply_hold_set(SkuState("HOT-01"), _hold(1, 1, 1))
    assert publish(state, [CHANNEL], POLICY, False, T0) == (state, [])


def test_state_survives_its_json_form() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 20, 1))
    state = apply_hold_set(state, _hold(1, 2, 1))
    state = apply_hold_converted(state, _converted(1, 5))
    state, _ = publish(state, [CHANNEL], POLICY, False, T0)
    assert SkuState.from_json("HOT-01", state.to_json()) == state


EVENT = st.one_of(
    st.tuples(st.just("stock"), st.integers(0, 20), st.integers(0, 50), st.integers(0, 5)),
    st.tuples(st.just("set"), st.integers(1, 4), st.integers(1, 5), st.integers(0, 20)),
    st.tuples(st.just("release"), st.integers(1, 4), st.just(0), st.integers(0, 20)),
    st.tuples(st.just("convert"), st.integers(1, 4), st.just(0), st.integers(0, 20)),
)


def _apply(state: SkuState, event: Any) -> SkuState:
    kind, a, b, c = event
    if kind == "stock":
        return apply_stock(state, _stock(a, b, c))
    if kind == "set":
        return apply_hold_set(state, _hold(a, b, c))
    if kind == "release":
        return apply_hold_released(state, _hold(a, 0, c))
    return apply_hold_converted(state, _converted(a, c))


def _well_formed(events: list[Any]) -> list[Any]:
    """One truth per version: a (order, version) is either a set or a release, a stock
    read per second has one content, an order converts at one time."""
    seen: dict[Any, Any] = {}
    for event in events:
        kind, a, _, c = event
        key = ("stock", a) if kind == "stock" else ("convert", a) if kind == "convert" else (
            "hold", a, c)
        seen.setdefault(key, event)
    return list(seen.values())


@settings(max_examples=400)
@given(st.lists(EVENT, max_size=14), st.randoms())
def test_permutations_duplicates_and_replays_give_the_same_state(events: list[Any],
                                                                 rnd: Any) -> None:
    events = _well_formed(events)
    forward = SkuState("HOT-01")
    for event in events:
        forward = _apply(forward, event)
    shuffled = events * 2
    rnd.shuffle(shuffled)
    other = SkuState("HOT-01")
    for event in shuffled:
        other = _apply(other, event)
    assert other.holds == forward.holds and other.levels == forward.levels
    assert held(forward) >= 0
    # ATP equals the formula recomputed from scratch.
    expected = sum((forward.levels.get(w, (0, Decimal(0)))[1] for w in CHANNEL.warehouses),
                   Decimal(0)) - sum((h.quantity for h in forward.holds.values()
                                      if counts(h, forward.read_at)), Decimal(0)
                                     ) - POLICY.safety_stock
    assert atp(forward, CHANNEL, POLICY) == expected
    _, out = publish(forward, [CHANNEL], POLICY, False, T0)
    assert all(o.quantity >= 0 for o in out)


@settings(max_examples=300)
@given(st.lists(EVENT, max_size=14))
def test_conversions_never_go_negative_and_replay_is_a_no_op(events: list[Any]) -> None:
    state = SkuState("HOT-01")
    for event in _well_formed(events):
        state = _apply(state, event)
    again = state
    for event in _well_formed(events):
        again = _apply(again, event)
    assert held(state) >= 0
    assert again == state

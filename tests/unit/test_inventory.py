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
    Hold,
    Policy,
    SkuState,
    apply_hold,
    apply_stock,
    atp,
    counting,
    counts,
    held,
    hold_key,
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


class Sku:
    """The SKU's row and its hold rows, as the agent keeps them in two tables."""

    def __init__(self) -> None:
        self.state = SkuState("HOT-01")
        self.holds: dict[str, Hold] = {}

    def stock(self, body: dict[str, Any]) -> Sku:
        self.state = apply_stock(self.state, body)
        return self

    def hold(self, kind: str, body: dict[str, Any]) -> Sku:
        key = hold_key(body)
        self.state, new = apply_hold(self.state, kind, self.holds.get(key), body)
        if new is not None:
            self.holds[key] = new
        return self


def apply_hold_set(sku: Sku, body: dict[str, Any]) -> Sku:
    return sku.hold("HoldSet", body)


def apply_hold_released(sku: Sku, body: dict[str, Any]) -> Sku:
    return sku.hold("HoldReleased", body)


def apply_hold_converted(sku: Sku, body: dict[str, Any]) -> Sku:
    return sku.hold("HoldConverted", body)


def from_scratch(sku: Sku) -> Decimal:
    """What the SKU holds, summed over every hold row again."""
    return sum((h.quantity for h in sku.holds.values()
                if counts(h.converted_at, sku.state.read_at)), Decimal(0))


def test_atp_is_forecast_of_the_stores_warehouses_minus_holds_minus_safety() -> None:
    sku = apply_hold_set(Sku().stock(_stock(0, 10, 3)), _hold(1, 4, 1))
    assert atp(sku.state, CHANNEL, POLICY) == 10 + 3 - 4 - 2


def test_holds_are_set_not_added_and_releases_stick() -> None:
    sku = Sku()
    for _ in range(3):
        apply_hold_set(sku, _hold(1, 4, 1))
    assert held(sku.state) == 4
    apply_hold_released(sku, _hold(1, 0, 2))
    assert held(sku.state) == 0
    apply_hold_set(sku, _hold(1, 4, 1))  # an older set replayed late
    assert held(sku.state) == 0


def test_converted_hold_counts_until_a_read_after_the_confirmation() -> None:
    sku = apply_hold_set(Sku().stock(_stock(0, 10, 0)), _hold(1, 3, 1))
    apply_hold_converted(sku, _converted(1, 5))
    key = next(iter(sku.holds))
    assert held(sku.state) == 3  # the ERP's figure does not count it yet
    assert counting(sku.state, key, sku.holds[key])
    sku.stock(_stock(4, 10, 0))  # read before the confirmation
    assert held(sku.state) == 3
    sku.stock(_stock(6, 7, 0))  # read after: forecast now counts it
    assert held(sku.state) == 0 and sku.state.converting == {}
    assert not counting(sku.state, key, sku.holds[key])
    assert atp(sku.state, CHANNEL, POLICY) == 7 - 2
    apply_hold_set(sku, _hold(1, 2, 3))  # a later change of the line: the ERP's business
    assert held(sku.state) == 0


def test_conversion_after_a_later_read_drops_the_hold_at_once() -> None:
    sku = apply_hold_set(Sku().stock(_stock(10, 7, 0)), _hold(1, 3, 1))
    apply_hold_converted(sku, _converted(1, 5))
    assert held(sku.state) == 0


def test_conversion_seen_before_its_hold_applies_to_it() -> None:
    sku = apply_hold_converted(Sku().stock(_stock(0, 10, 0)), _converted(1, 5))
    apply_hold_set(sku, _hold(1, 3, 1))
    assert held(sku.state) == 3
    sku.stock(_stock(6, 7, 0))
    assert held(sku.state) == 0


def test_the_sku_row_does_not_grow_with_its_holds() -> None:
    sku = Sku().stock(_stock(0, 5000, 0))
    for order in range(2000):
        apply_hold_set(sku, _hold(order, 1, 1))
    assert held(sku.state) == 2000
    assert len(str(sku.state.to_json())) < 500


def test_only_changes_are_published_and_never_negative() -> None:
    state = apply_stock(SkuState("HOT-01"), _stock(0, 3, 0))
    state, out = publish(state, [CHANNEL], POLICY, False, T0)
    assert [(o.quantity, o.status) for o in out] == [(1, "instock")]
    state, out = publish(state, [CHANNEL], POLICY, False, T0)
    assert out == []
    state, _ = apply_hold(state, "HoldSet", None, _hold(1, 5, 1))
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
    state, _ = apply_hold(SkuState("HOT-01"), "HoldSet", None, _hold(1, 1, 1))
    assert publish(state, [CHANNEL], POLICY, False, T0) == (state, [])


def test_rows_survive_their_json_form() -> None:
    sku = apply_hold_set(Sku().stock(_stock(0, 20, 1)), _hold(1, 2, 1))
    apply_hold_converted(sku, _converted(1, 5))
    state, _ = publish(sku.state, [CHANNEL], POLICY, False, T0)
    assert SkuState.from_json("HOT-01", state.to_json()) == state
    assert state.converting
    for hold in sku.holds.values():
        assert Hold.from_json(hold.to_json()) == hold


EVENT = st.one_of(
    st.tuples(st.just("stock"), st.integers(0, 20), st.integers(0, 50), st.integers(0, 5)),
    st.tuples(st.just("set"), st.integers(1, 4), st.integers(1, 5), st.integers(0, 20)),
    st.tuples(st.just("release"), st.integers(1, 4), st.just(0), st.integers(0, 20)),
    st.tuples(st.just("convert"), st.integers(1, 4), st.just(0), st.integers(0, 20)),
)


def _apply(sku: Sku, event: Any) -> Sku:
    kind, a, b, c = event
    if kind == "stock":
        return sku.stock(_stock(a, b, c))
    if kind == "set":
        return apply_hold_set(sku, _hold(a, b, c))
    if kind == "release":
        return apply_hold_released(sku, _hold(a, 0, c))
    return apply_hold_converted(sku, _converted(a, c))


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
    forward = Sku()
    for event in events:
        _apply(forward, event)
    shuffled = events * 2
    rnd.shuffle(shuffled)
    other = Sku()
    for event in shuffled:
        _apply(other, event)
    assert other.holds == forward.holds and other.state.levels == forward.state.levels
    assert held(other.state) == held(forward.state)
    assert held(forward.state) >= 0
    # The running sums equal the holds summed again, and ATP the formula.
    assert held(forward.state) == from_scratch(forward)
    expected = sum((forward.state.levels.get(w, (0, Decimal(0)))[1]
                    for w in CHANNEL.warehouses), Decimal(0)) - from_scratch(forward
                                                                   ) - POLICY.safety_stock
    assert atp(forward.state, CHANNEL, POLICY) == expected
    _, out = publish(forward.state, [CHANNEL], POLICY, False, T0)
    assert all(o.quantity >= 0 for o in out)


@settings(max_examples=300)
@given(st.lists(EVENT, max_size=14))
def test_conversions_never_go_negative_and_replay_is_a_no_op(events: list[Any]) -> None:
    sku = Sku()
    for event in _well_formed(events):
        _apply(sku, event)
    state, holds = sku.state, dict(sku.holds)
    for event in _well_formed(events):
        _apply(sku, event)
    assert held(state) >= 0
    assert sku.state == state and sku.holds == holds

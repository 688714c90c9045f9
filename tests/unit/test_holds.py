"""Holds, the order side: WooCommerce's reduce/restore rules, refunds as restock,
conversion on the ERP's confirmation; replays and reordering send nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tables.holds import (
    OrderHolds,
    apply_order,
    apply_refund,
    apply_sale,
    desired,
)
from tables.stock import StockOwner, observe_owner, stock_holder, stock_sku

T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
SKUS = {"TEE": "TEE", "MUG": "MUG"}


def _order(status: str, second: int, lines: list[tuple[str, str, int]] | None = None
           ) -> dict[str, Any]:
    return {"order_id": "woo:s:1", "store": "s", "status": status,
            "modified_at": T0 + timedelta(seconds=second),
            "lines": [{"line_id": lid, "sku": sku, "quantity": q}
                      for lid, sku, q in (lines or [("1", "TEE", 2), ("2", "MUG", 1)])]}


def _refund(refund: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
    return {"refund_id": refund, "order_id": "woo:s:1", "restocked": True,
            "lines": [{"line_id": lid, "quantity": q} for lid, q in lines]}


def _sale(state: str, second: int) -> dict[str, Any]:
    return {"order_id": "woo:s:1", "state": state, "modified_at": T0 + timedelta(seconds=second)}


def test_pending_holds_nothing_processing_holds_the_lines() -> None:
    state, events = apply_order(OrderHolds("woo:s:1"), _order("pending", 0), SKUS)
    assert events == []
    state, events = apply_order(state, _order("processing", 1), SKUS)
    assert [(e.kind, e.sku, e.quantity) for e in events] == [
        ("HoldSet", "TEE", Decimal(2)), ("HoldSet", "MUG", Decimal(1))]


def test_first_seen_completed_holds() -> None:
    _, events = apply_order(OrderHolds("woo:s:1"), _order("completed", 0), SKUS)
    assert {e.sku for e in events if e.kind == "HoldSet"} == {"TEE", "MUG"}


def test_cancel_releases_and_back_to_pending_releases() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("on-hold", 0), SKUS)
    _, events = apply_order(state, _order("cancelled", 1), SKUS)
    assert [e.kind for e in events] == ["HoldReleased", "HoldReleased"]
    _, events = apply_order(state, _order("pending", 1), SKUS)
    assert [e.kind for e in events] == ["HoldReleased", "HoldReleased"]


def test_refund_gives_back_refunded_quantities_once() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("processing", 0), SKUS)
    state, events = apply_refund(state, _refund("r1", [("1", 1)]))
    assert [(e.kind, e.sku, e.quantity) for e in events] == [("HoldSet", "TEE", Decimal(1))]
    again, events = apply_refund(state, _refund("r1", [("1", 1)]))
    assert events == [] and again == state
    _, events = apply_refund(state, _refund("r2", [("1", 1), ("2", 1)]))
    assert [e.kind for e in events] == ["HoldReleased", "HoldReleased"]


def test_stale_snapshot_changes_nothing() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("processing", 5), SKUS)
    after, events = apply_order(state, _order("pending", 3), SKUS)
    assert events == [] and after == state


def test_confirmation_converts_each_held_line_once() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("processing", 0), SKUS)
    state, events = apply_sale(state, _sale("processing", 9))
    assert [(e.kind, e.confirmed_at) for e in events] == [
        ("HoldConverted", (T0 + timedelta(seconds=9)).isoformat())] * 2
    _, events = apply_sale(state, _sale("done", 20))
    assert events == []


def test_unknown_sku_holds_nothing_and_is_reported() -> None:
    state, events = apply_order(OrderHolds("woo:s:1"),
                                _order("processing", 0, [("1", "NOPE", 1)]), SKUS)
    assert events == [] and state.unmapped == ("1",)


def test_state_survives_its_json_form() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("processing", 0), SKUS)
    state, _ = apply_refund(state, _refund("r1", [("1", 1)]))
    state, _ = apply_sale(state, _sale("processing", 4))
    assert OrderHolds.from_json("woo:s:1", state.to_json()) == state


STATUSES = st.sampled_from(["pending", "processing", "on-hold", "completed", "cancelled",
                            "refunded", "failed"])
EVENTS = st.one_of(
    st.tuples(st.just("order"), STATUSES, st.integers(0, 30)),
    st.tuples(st.just("refund"), st.sampled_from(["r1", "r2"]),
              st.lists(st.tuples(st.sampled_from(["1", "2"]), st.integers(0, 3)),
                       max_size=2)),
    st.tuples(st.just("sale"), st.sampled_from(["draft", "processing"]), st.integers(0, 30)),
)


def _run(events: list[Any]) -> OrderHolds:
    state = OrderHolds("woo:s:1")
    for event in events:
        if event[0] == "order":
            state, _ = apply_order(state, _order(event[1], event[2]), SKUS)
        elif event[0] == "refund":
            state, _ = apply_refund(state, _refund(event[1], event[2]))
        else:
            state, _ = apply_sale(state, _sale(event[1], event[2]))
    return state


@settings(max_examples=300)
@given(st.lists(EVENTS, max_size=12), st.randoms())
def test_holds_never_negative_and_replays_change_nothing(events: list[Any], rnd: Any) -> None:
    state = _run(events)
    assert all(q >= 0 for _, q in desired(state).values())
    assert all(s.quantity >= 0 for s in state.sent.values())
    # Delivering everything again (duplicates) changes nothing.
    assert _run(events + events) .sent == _run(events + events + events).sent
    # What was last sent per line is what the state wants.
    wanted = {k: q for k, (_, q) in desired(state).items()}
    assert {k: s.quantity for k, s in state.sent.items() if k in wanted} == {
        k: q for k, q in wanted.items() if k in state.sent}


@settings(max_examples=300)
@given(st.lists(st.tuples(STATUSES, st.integers(0, 30)), min_size=1, max_size=10),
       st.randoms())
def test_order_snapshots_in_any_order_end_at_the_newest(snapshots: list[tuple[str, int]],
                                                        rnd: Any) -> None:
    # Distinct versions only: one version, one truth (equal seconds are re-read upstream).
    unique = list({second: (status, second) for status, second in snapshots}.values())
    shuffled = list(unique) * 2
    rnd.shuffle(shuffled)
    state = OrderHolds("woo:s:1")
    for status, second in shuffled:
        state, _ = apply_order(state, _order(status, second), SKUS)
    newest = max(unique, key=lambda s: s[1])
    assert state.version == (T0 + timedelta(seconds=newest[1])).isoformat()
    assert Decimal(0) <= sum(q for _, q in desired(state).values()) <= 3


def _owners(rows: dict[int, tuple[str, int]]) -> dict[int, StockOwner]:
    return {pid: StockOwner(sku, by, "2026-01-01T00:00:00+00:00")
            for pid, (sku, by) in rows.items()}


def test_a_parent_managed_variation_uses_the_parents_sku() -> None:
    owners = _owners({10: ("HOODIE", 10), 11: ("HOODIE-S", 10), 12: ("HOODIE-M", 12),
                      20: ("", 20), 21: ("BAG-S", 20)})
    line = {"sku": "HOODIE-S", "product_id": 10, "variation_id": 11}
    assert stock_sku(line, owners) == "HOODIE"
    # A variation managing its own stock, a simple product, an unknown variation.
    assert stock_sku({**line, "sku": "HOODIE-M", "variation_id": 12}, owners) == "HOODIE-M"
    assert stock_sku({"sku": "MUG", "product_id": 5, "variation_id": 0}, owners) == "MUG"
    assert stock_sku({**line, "variation_id": 99}, owners) == "HOODIE-S"
    # A parent without a SKU cannot be held against: the line keeps its own.
    assert stock_sku({"sku": "BAG-S", "product_id": 20, "variation_id": 21},
                     {**owners, **_owners({21: ("BAG-S", 20)})}) == "BAG-S"


def test_the_parent_holds_the_stock_only_of_a_variation_it_manages() -> None:
    assert stock_holder(11, 10, "parent") == 10
    assert stock_holder(11, 10, True) == 11
    assert stock_holder(5, 0, "parent") == 5  # no parent: its own, whatever it says


def test_an_older_product_snapshot_does_not_move_the_stock_owner() -> None:
    def seen(at: int, by: int) -> dict[str, Any]:
        return {"sku": "H-S", "stock_managed_by": by,
                "modified_at": T0 + timedelta(seconds=at)}
    row = observe_owner(None, seen(5, 10))
    assert row == StockOwner("H-S", 10, (T0 + timedelta(seconds=5)).isoformat())
    assert observe_owner(row, seen(4, 11)) is None  # older
    assert observe_owner(row, seen(5, 10)) is None  # the same
    assert observe_owner(row, seen(6, 11)) == StockOwner(
        "H-S", 11, (T0 + timedelta(seconds=6)).isoformat())


def test_a_line_moving_to_its_parents_sku_releases_the_old_hold() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("processing", 1, [("1", "H-S", 2)]),
                           {"H-S": "H-S"})
    state, events = apply_order(state, _order("processing", 2, [("1", "H-S", 2)]),
                                {"H-S": "H"})
    assert [(e.kind, e.sku) for e in events] == [("HoldReleased", "H-S"), ("HoldSet", "H")]


def test_an_order_first_seen_refunded_holds_its_lines_less_the_refunded_ones() -> None:
    # WooCommerce took the stock when the order was paid; its processing snapshot was
    # overtaken by the refunded one, so it will arrive stale and be dropped.
    state, events = apply_order(OrderHolds("woo:s:1"), _order("refunded", 5), SKUS)
    assert [(e.kind, e.sku, e.quantity) for e in events] == [
        ("HoldSet", "TEE", Decimal(2)), ("HoldSet", "MUG", Decimal(1))]
    state, events = apply_refund(state, _refund("r1", [("1", 2), ("2", 1)]))
    assert [(e.kind, e.sku) for e in events] == [("HoldReleased", "TEE"),
                                                 ("HoldReleased", "MUG")]
    _, events = apply_order(state, _order("processing", 1), SKUS)
    assert events == []  # the older snapshot changes nothing


def test_failed_and_refunded_keep_what_the_order_held() -> None:
    state, _ = apply_order(OrderHolds("woo:s:1"), _order("pending", 0), SKUS)
    for status in ("failed", "refunded", "checkout-draft", "trash"):
        state, events = apply_order(state, _order(status, len(status)), SKUS)
        assert events == [], status
    state, _ = apply_order(state, _order("processing", 20), SKUS)
    _, events = apply_order(state, _order("failed", 21), SKUS)
    assert events == []  # still held: WooCommerce does not restore on failed


def test_an_order_is_settled_once_no_line_holds_unconverted_stock() -> None:
    from decimal import Decimal

    from tables.holds import OrderHolds, Sent, settled_since

    holding = OrderHolds("woo:demo:1", version="v2", sent={"1": Sent("MUG", Decimal(2))})
    assert settled_since(holding) is None
    converted = OrderHolds("woo:demo:1", version="v2", confirmed_at="v3",
                           sent={"1": Sent("MUG", Decimal(2), "v3")})
    assert settled_since(converted) == "v3"
    released = OrderHolds("woo:demo:1", version="v4", sent={"1": Sent("MUG", Decimal(0))})
    assert settled_since(released) == "v4"

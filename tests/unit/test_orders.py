"""Order to cash, the pure rule: whatever order the events of both systems arrive in,
duplicated or replayed, the row ends the same and each command is issued once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tables.order_status import DEFAULT_SEND_STATUSES
from tables.orders import Command, OrderPolicy, OrderState, apply, command_id

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OID = "woo:s:7"
POLICY = OrderPolicy(frozenset(DEFAULT_SEND_STATUSES), "WH", {"TEE": "TEE-ERP"})
ADDRESS = {k: "" for k in ("first_name", "last_name", "company", "address_1", "address_2",
                           "city", "state", "postcode", "country", "email", "phone")}


def _env(event_id: str, second: int) -> dict[str, Any]:
    at = T0 + timedelta(seconds=second)
    return {"event_id": event_id, "occurred_at": at, "observed_at": at, "source": "test",
            "source_version": str(second), "trace_id": "trace-7"}


def order(status: str, second: int) -> tuple[str, dict[str, Any]]:
    return "OrderObserved", {
        "envelope": _env(f"o{second}", second), "order_id": OID, "store": "s",
        "number": "7", "status": status, "currency": "EUR", "created_at": T0,
        "modified_at": T0 + timedelta(seconds=second), "paid_at": None, "customer_id": 0,
        "billing": ADDRESS, "shipping": ADDRESS, "prices_include_tax": False,
        "lines": [{"line_id": "1", "sku": "TEE", "product_id": 3, "variation_id": 0,
                   "name": "Tee", "quantity": 4, "unit_price": Decimal("20.91"),
                   "subtotal": Decimal("83.64"), "total": Decimal("83.64"),
                   "total_tax": Decimal("16.73")}],
        "shipping_total": Decimal("4.90"), "shipping_tax": Decimal("0.98"),
        "discount_total": Decimal(0), "total_tax": Decimal("17.71"),
        "total": Decimal("106.25"), "payment_method": "cod", "refund_ids": []}


def refund(refund_id: str, quantity: int, amount: str, restocked: bool = True
           ) -> tuple[str, dict[str, Any]]:
    return "RefundObserved", {
        "envelope": _env(f"r{refund_id}", 50), "refund_id": refund_id, "order_id": OID,
        "store": "s", "amount": Decimal(amount), "reason": "", "created_at": T0,
        "lines": [{"line_id": "1", "sku": "TEE", "quantity": -quantity,
                   "amount": Decimal(amount)}] if quantity else [],
        "restocked": restocked}


def erp(name: str, second: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    return name, {"envelope": _env(f"{name}{second}", second), "order_id": OID,
                  "modified_at": T0 + timedelta(seconds=second), **fields}


def sale(state: str, second: int) -> tuple[str, dict[str, Any]]:
    return erp("SalesOrderObserved", second, erp_id="9", number="S9", state=state,
               currency="EUR", lines=[], untaxed=Decimal("88.54"), tax=Decimal("17.71"),
               total=Decimal("106.25"))


def shipment(state: str, second: int, tracking: str | None = "TRK1"
             ) -> tuple[str, dict[str, Any]]:
    return erp("ShipmentObserved", second, shipment_id="11", warehouse="WH", state=state,
               tracking_reference=tracking, lines=[])


def invoice(second: int) -> tuple[str, dict[str, Any]]:
    return erp("InvoiceObserved", second, invoice_id="21", number="I21", state="posted",
               untaxed=Decimal("88.54"), tax=Decimal("17.71"), total=Decimal("106.25"))


def run(events: list[tuple[str, dict[str, Any]]], state: OrderState | None = None
        ) -> tuple[OrderState, list[Command]]:
    state = state or OrderState(OID)
    issued: list[Command] = []
    for name, body in events:
        state, out = apply(state, name, body, NOW, POLICY)
        issued += out
    return state, issued


def ids(commands: list[Command]) -> list[str]:
    return [c.fields["command_id"] for c in commands]


# A whole life: paid, sent, confirmed, invoiced, refunded twice, shipped with tracking.
LIFE = [order("pending", 1), order("processing", 2), sale("confirmed", 10),
        sale("processing", 11), invoice(12), refund("r1", 1, "20.91"),
        refund("r2", 0, "5.00", restocked=False), shipment("assigned", 20),
        shipment("done", 21)]


@settings(max_examples=150, deadline=None)
@given(st.permutations(LIFE), st.lists(st.sampled_from(LIFE), max_size=6))
def test_any_arrival_order_ends_the_same_with_each_command_once(
        events: list[tuple[str, dict[str, Any]]],
        replayed: list[tuple[str, dict[str, Any]]]) -> None:
    expected_state, expected = run(LIFE)
    state, issued = run([*events, *replayed])
    assert sorted(ids(issued)) == sorted(ids(expected))
    assert len(set(ids(issued))) == len(issued)  # at most once each
    assert state == expected_state


def test_the_whole_life_issues_what_each_side_needs() -> None:
    state, issued = run(LIFE)
    assert [(c.target, c.name) for c in issued] == [
        ("erp", "CreateSalesOrder"), ("erp", "CreateCreditNote"), ("erp", "CreateCreditNote"),
        ("store", "AddTracking"), ("store", "SetOrderStatus")]
    create = issued[0].fields
    assert create["command_id"] == command_id(OID, "sale")
    assert create["warehouse"] == "WH" and create["lines"][0]["sku"] == "TEE-ERP"
    assert create["lines"][0]["unit_price"] == Decimal("20.9100")
    assert create["shipping_total"] == Decimal("4.9000")
    credit = {c.fields["refund_id"]: c.fields for c in issued if c.name == "CreateCreditNote"}
    assert credit["r1"]["amount"] == Decimal("20.9100") and credit["r1"]["restock"]
    assert credit["r1"]["lines"][0]["quantity"] == Decimal(1)
    assert credit["r2"]["lines"] == [] and not credit["r2"]["restock"]
    assert issued[3].fields["tracking_number"] == "TRK1"
    assert issued[4].fields["status"] == "completed"
    assert state.sale is not None and state.sale["state"] == "processing"


def test_pending_draft_and_failed_orders_never_reach_the_erp() -> None:
    _, issued = run([order("checkout-draft", 1), order("pending", 2), order("failed", 3)])
    assert issued == []


def test_a_refund_seen_before_the_sale_waits_in_the_order() -> None:
    state, issued = run([refund("r1", 1, "20.91"), order("processing", 2)])
    assert [c.name for c in issued] == ["CreateSalesOrder"]
    _, issued = run([sale("processing", 10)], state)
    assert [c.name for c in issued] == ["CreateCreditNote"]


def test_an_amount_only_refund_waits_for_the_invoice() -> None:
    state, issued = run([order("processing", 2), sale("processing", 10),
                         refund("r2", 0, "5.00", restocked=False)])
    assert [c.name for c in issued] == ["CreateSalesOrder"]
    _, issued = run([invoice(12)], state)
    assert [c.name for c in issued] == ["CreateCreditNote"]


def test_cancelled_before_shipment_cancels_the_erp_sale() -> None:
    _, issued = run([order("processing", 2), sale("confirmed", 10), order("cancelled", 3)])
    assert [c.name for c in issued] == ["CreateSalesOrder", "CancelSalesOrder"]


def test_cancelled_after_shipment_is_refused_with_a_reason() -> None:
    state, issued = run([order("processing", 2), sale("processing", 10),
                         shipment("done", 20), order("cancelled", 30)])
    # Shipped while the store still said processing: tracking and completed went out;
    # the later cancel issues nothing.
    assert [c.name for c in issued] == ["CreateSalesOrder", "AddTracking", "SetOrderStatus"]
    assert "ERP shipped" in state.notes["cancel_refused"]


def test_the_store_status_is_never_moved_back_nor_overwritten() -> None:
    _, issued = run([order("processing", 2), order("completed", 3), sale("processing", 10),
                     shipment("done", 20)])
    assert "SetOrderStatus" not in [c.name for c in issued]
    _, issued = run([order("processing", 2), order("refunded", 3), sale("processing", 10),
                     shipment("done", 20)])
    assert "SetOrderStatus" not in [c.name for c in issued]


def test_an_order_never_sent_is_not_cancelled_in_the_erp() -> None:
    _, issued = run([order("pending", 1), order("cancelled", 2)])
    assert issued == []


def test_outcomes_are_recorded_and_delivered_wins() -> None:
    state, issued = run([order("processing", 2)])
    cid = issued[0].fields["command_id"]
    delivered = {"command_id": cid, "command_type": "CreateSalesOrder", "target": "erp:t",
                 "attempts": 2, "result_ref": "9", "duplicate": False}
    failed = {"command_id": cid, "command_type": "CreateSalesOrder", "target": "erp:t",
              "attempts": 1, "error": "ERP down", "retryable": True}
    for events in ([("CommandDelivered", delivered), ("CommandFailed", failed)],
                   [("CommandFailed", failed), ("CommandDelivered", delivered)]):
        after, out = run(events, state)
        assert out == []
        assert after.commands["sale"]["outcome"] == "delivered"
        assert after.commands["sale"]["result_ref"] == "9"


def test_store_edits_after_the_sale_are_noted() -> None:
    edited = order("processing", 5)
    edited[1]["lines"] = [{**edited[1]["lines"][0], "quantity": 5, "total": Decimal("104.55")}]
    state, issued = run([order("processing", 2), edited])
    assert [c.name for c in issued] == ["CreateSalesOrder"]
    assert any("changed the order's lines" in note for note in state.notes.values())


def test_the_trace_keeps_every_event_once_in_time_order() -> None:
    state, _ = run([*LIFE, LIFE[3], LIFE[0]])
    assert len(state.trace) == len(LIFE)
    assert [e["occurred_at"] for e in state.trace] == sorted(e["occurred_at"]
                                                            for e in state.trace)


def test_the_row_survives_its_json() -> None:
    state, _ = run(LIFE)
    import json
    assert OrderState.from_json(OID, json.loads(json.dumps(state.to_json()))) == state

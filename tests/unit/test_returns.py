"""Returns with a policy: a refund with restock inside the return window, of returnable
products, becomes an ERP return (restock); outside the window or of a product that is
not returnable it is credited without taking goods back, and the verdict is on the
order's row with its reason, whatever order the events come in."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tables.orders import OrderPolicy, OrderState, apply
from tests.unit.test_orders import NOW, POLICY, T0, erp, invoice, order, refund, sale

POLICY30 = replace(POLICY, return_days=30.0, not_returnable=("MUG*",))


def _run(events: list[tuple[str, dict[str, Any]]], policy: OrderPolicy
         ) -> tuple[OrderState, dict[str, dict[str, Any]]]:
    state, credits = OrderState("woo:s:7"), {}
    for name, body in events:
        state, out = apply(state, name, body, NOW, policy)
        credits.update({c.fields["refund_id"]: c.fields for c in out
                        if c.name == "CreateCreditNote"})
    return state, credits


def _paid(status: str, second: int) -> tuple[str, dict[str, Any]]:
    name, body = order(status, second)
    return name, {**body, "paid_at": T0}


def _late(refund_id: str, days: int) -> tuple[str, dict[str, Any]]:
    name, body = refund(refund_id, 1, "20.91")
    return name, {**body, "created_at": T0 + timedelta(days=days)}


def test_a_return_inside_the_window_restocks() -> None:
    state, credits = _run([_paid("processing", 2), sale("processing", 10),
                           _late("r1", 29)], POLICY30)
    assert credits["r1"]["restock"] is True
    assert state.notes["return:r1"].startswith("return accepted")


def test_a_return_outside_the_window_is_credited_without_goods_back() -> None:
    events = [_paid("processing", 2), sale("processing", 10), _late("r1", 31)]
    state, credits = _run(events, POLICY30)
    # Without goods back a refund waits for the invoice to credit it.
    assert "r1" not in credits
    assert "outside the 30-day return window" in state.notes["return:r1"]
    assert "refused" in state.notes["return:r1"]
    state, credits = _run([*events, invoice(12)], POLICY30)
    assert credits["r1"]["restock"] is False
    # Arrival order does not change the verdict.
    again, _ = _run([invoice(12), _late("r1", 31), sale("processing", 10),
                     _paid("processing", 2)], POLICY30)
    assert again.notes == state.notes


def test_a_product_not_returnable_is_refused_with_its_name() -> None:
    name, body = _late("r1", 1)
    body = {**body, "lines": [{**body["lines"][0], "sku": "MUG"}]}
    state, _ = _run([_paid("processing", 2), sale("processing", 10), (name, body),
                     invoice(12)], POLICY30)
    assert "MUG not returnable" in state.notes["return:r1"]


def test_no_policy_takes_every_return_and_money_only_refunds_get_no_verdict() -> None:
    state, credits = _run([_paid("processing", 2), sale("processing", 10), _late("r1", 400),
                           refund("r2", 0, "5.00", restocked=False), invoice(12)], POLICY)
    assert credits["r1"]["restock"] is True and credits["r2"]["restock"] is False
    assert "return:r2" not in state.notes


def _returned(state: str, second: int) -> tuple[str, dict[str, Any]]:
    return erp("ReturnShipmentObserved", second, refund_id="woo:s:refund:r1",
               shipment_id="31", warehouse="WH", state=state,
               lines=[{"sku": "TEE-ERP", "quantity": Decimal(-1), "unit_price": Decimal(0)}])


def test_the_return_shipment_is_kept_on_the_order_at_its_newest_state() -> None:
    state, _ = _run([_paid("processing", 2), sale("processing", 10), _late("r1", 1),
                     _returned("received", 40), _returned("draft", 30)], POLICY30)
    assert state.returns["woo:s:refund:r1"]["state"] == "received"  # the older is ignored
    assert OrderState.from_json(state.order_id, state.to_json()) == state

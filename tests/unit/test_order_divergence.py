"""An order's facts: what agrees and what does not, from its row."""

from __future__ import annotations

from datetime import datetime

from tables.order_divergence import facts
from tables.orders import OrderPolicy, OrderState, apply
from tests.unit.test_orders import OID, T0, order, refund, sale, shipment

SEND = frozenset({"processing", "on-hold", "completed"})
POLICY = OrderPolicy(SEND, "WH")


def _row(*events: tuple[str, dict[str, object]]) -> OrderState:
    state = OrderState(OID)
    for name, body in events:
        state, _ = apply(state, name, body, datetime.fromisoformat(T0.isoformat()), POLICY)
    return state


def _by_kind(state: OrderState) -> dict[str, bool]:
    return {f.kind if f.kind in ("sale", "sale-total", "status") else f.subject: f.agreeing
            for f in facts(state, SEND)}


def test_a_paid_order_without_a_sale_disagrees_until_the_sale_is_seen() -> None:
    paid = _row(order("processing", 1))
    sale_fact = next(f for f in facts(paid, SEND) if f.kind == "sale")
    assert not sale_fact.agreeing and sale_fact.sides.erp == "no sale"
    assert sale_fact.sides.cause == "sent, not confirmed yet"
    assert _by_kind(_row(order("processing", 1), sale("processing", 2)))["sale"]
    assert _by_kind(_row(order("pending", 1)))["sale"]  # never due: nothing to disagree


def test_totals_shipment_status_and_refunds() -> None:
    state = _row(order("processing", 1), sale("processing", 2), shipment("done", 3))
    total = next(f for f in facts(state, SEND) if f.kind == "sale-total")
    assert (total.store_amount, total.erp_amount) == (total.erp_amount, total.store_amount)
    assert not _by_kind(state)["status"]  # shipped in the ERP, still processing in store
    refunded = _row(order("processing", 1), sale("processing", 2), refund("5", 1, "20.91"))
    assert not _by_kind(refunded)[f"{OID}|5"]  # no credit note yet

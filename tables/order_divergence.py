"""What an order's row says about the two systems agreeing. Pure.

Consumes an order's row (tables.orders.OrderState) and the store's send statuses;
produces one Fact per (kind, subject) the row can judge, agreeing or not, for
tables.divergence to turn into windows:

- ``sale``: the order reached a send status in the store; the ERP has its sale;
- ``sale-total``: the ERP sale's total equals the store order's total;
- ``status``: every live ERP shipment of the order is done; the store says completed
  (or a later status);
- ``refund``: each store refund has its ERP credit note, for the same amount;
- ``command``: each command woosync issued for the order was not refused or given up
  (a dead-lettered command holds the window open until a replay delivers it).

A kind that does not apply yet (no sale to compare, no shipment) agrees: nothing
disagrees about it.
"""

from __future__ import annotations

from decimal import Decimal

from tables.divergence import Fact, Sides
from tables.order_status import SHIPPED_STORE_STATUS
from tables.orders import OrderState

KINDS = ("sale", "sale-total", "status", "refund", "command")
LATER_THAN_SHIPPED = frozenset({SHIPPED_STORE_STATUS, "refunded", "cancelled"})


def facts(state: OrderState, send_statuses: frozenset[str]) -> list[Fact]:
    if state.snapshot is None:
        return []
    order = state.order_id
    out = [_sale(state, send_statuses), _total(state), _status(state)]
    for refund_id, refund in sorted(state.refunds.items()):
        note = state.credit_notes.get(refund_id)
        amount = Decimal(refund["amount"])
        credited = abs(Decimal(note["total"])) if note else None
        out.append(Fact("refund", f"{order}|{refund_id}", credited is not None,
                        Sides(f"refund {amount}", f"credit note {credited}" if note else
                              "no credit note", "" if note else _cause(state, "credit:"
                                                                        + refund_id)),
                        amount, credited if credited is not None else Decimal(0)))
    for intent, record in sorted(state.commands.items()):
        failed = record.get("outcome") == "failed"
        out.append(Fact("command", f"{order}|{intent}", not failed,
                        Sides(record.get("error") or "", record.get("outcome") or "pending",
                              "refused or given up: replay it from the dead letters"
                              if failed else "")))
    return out


def _sale(state: OrderState, send_statuses: frozenset[str]) -> Fact:
    due = bool(send_statuses & set(state.seen_statuses))
    has = state.sale is not None
    return Fact("sale", state.order_id, has or not due,
                Sides(state.status, state.sale["state"] if has else "no sale",  # type: ignore[index]
                      "" if has or not due else _cause(state, "sale")))


def _total(state: OrderState) -> Fact:
    assert state.snapshot is not None
    store = Decimal(state.snapshot["total"])
    if state.sale is None or state.sale.get("total") is None:
        return Fact("sale-total", state.order_id, True, Sides(str(store), "no sale"))
    erp = Decimal(state.sale["total"])
    # Present on both sides: the amounts decide, within the kind's tolerance.
    return Fact("sale-total", state.order_id, True,
                Sides(str(store), str(erp), "the order was edited in the store after its"
                      " sale, or the ERP priced it otherwise"), store, erp)


def _status(state: OrderState) -> Fact:
    live = [s for s in state.shipments.values() if s["state"] != "cancelled"]
    shipped = bool(live) and all(s["state"] == "done" for s in live)
    behind = shipped and state.status not in LATER_THAN_SHIPPED
    return Fact("status", state.order_id, not behind,
                Sides(state.status, "shipped" if shipped else "not shipped",
                      _cause(state, f"status:{SHIPPED_STORE_STATUS}") if behind else ""))


def _cause(state: OrderState, intent: str) -> str:
    """Why the ERP (or the store) does not have it yet, from the command's record."""
    record = state.commands.get(intent)
    if record is None:
        return "not sent yet"
    if record.get("outcome") == "failed":
        return f"refused: {record.get('error') or 'no reason given'}"
    if record.get("outcome") is None:
        return "sent, not confirmed yet"
    return "delivered, not seen back yet"

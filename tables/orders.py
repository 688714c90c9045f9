"""Order to cash, the order's state and the commands it calls for. Pure; ``now`` is
passed in.

One row per store order (table ORDERS, key ``woo:<store>:<id>``): the store side (the
latest snapshot, every status it was seen in, refunds), the ERP side (the sale, its
shipments, invoices, credit notes and return shipments, each kept at its newest
version), every command woosync issued for the order with its outcome, notes
(mismatches, refusals) and the trace of every event. ``apply`` takes one event of
either system, or a delivery outcome, and returns the new row and the commands now due.

Decisions depend on what has been seen, not on the order it arrived in: a send status
seen in any snapshot (even one that arrived after a newer one) makes the order due for
the ERP, a refund is due for its credit note once the ERP sale is allocated (and, with
no goods back, invoiced), tracking once a shipment is done. Each command is issued at
most once: its intent (``sale``, ``cancel``, ``credit:<refund>``, ``status:<status>``,
``tracking:<shipment>``) is recorded when issued, and its id is derived from the order
and the intent, so a replay that issues it again sends the same id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from tables.order_status import (
    ERP_ALLOCATED,
    ERP_CANCELLABLE,
    SHIPPED_STORE_STATUS,
    may_write,
)

FOUR = Decimal("0.0001")
TRACE_LIMIT = 200
Body = dict[str, Any]


@dataclass(frozen=True)
class OrderPolicy:
    """What settings say about one store's orders."""

    send_statuses: frozenset[str]
    warehouse: str  # the ERP warehouse the store ships from
    sku_map: dict[str, str] = field(default_factory=dict)  # store SKU -> ERP code
    # Returns: goods come back within this many days of payment (None: any time), and
    # not for ERP codes matching these patterns (fnmatch).
    return_days: float | None = None
    not_returnable: tuple[str, ...] = ()

    def erp_code(self, store_sku: str) -> str:
        return self.sku_map.get(store_sku, store_sku)


@dataclass(frozen=True)
class Command:
    """A command now due: which topic (``erp`` or ``store``), its message type, and its
    fields (``command_id`` included)."""

    target: str
    name: str
    fields: Body


@dataclass(frozen=True)
class OrderState:
    order_id: str
    store: str = ""
    version: str = ""  # modified_at of the newest store snapshot
    snapshot: Body | None = None  # that snapshot, JSON-safe
    seen_statuses: tuple[str, ...] = ()  # every status any snapshot had
    refunds: dict[str, Body] = field(default_factory=dict)
    sale: Body | None = None
    shipments: dict[str, Body] = field(default_factory=dict)
    invoices: dict[str, Body] = field(default_factory=dict)
    credit_notes: dict[str, Body] = field(default_factory=dict)  # refund id -> note
    commands: dict[str, Body] = field(default_factory=dict)  # intent -> record
    notes: dict[str, str] = field(default_factory=dict)  # key -> text (set, never added)
    trace: tuple[Body, ...] = ()
    # refund id -> its return shipment in the ERP (received: the goods count again)
    returns: dict[str, Body] = field(default_factory=dict)

    def to_json(self) -> Body:
        return {"order_id": self.order_id, "store": self.store, "version": self.version,
                "snapshot": self.snapshot, "seen_statuses": list(self.seen_statuses),
                "refunds": self.refunds, "sale": self.sale, "shipments": self.shipments,
                "invoices": self.invoices, "credit_notes": self.credit_notes,
                "commands": self.commands, "notes": self.notes, "trace": list(self.trace),
                "returns": self.returns}

    @classmethod
    def from_json(cls, order_id: str, data: Body | None) -> OrderState:
        if not data:
            return cls(order_id)
        return cls(data["order_id"], data["store"], data["version"], data["snapshot"],
                   tuple(data["seen_statuses"]), data["refunds"], data["sale"],
                   data["shipments"], data["invoices"], data["credit_notes"],
                   data["commands"], data["notes"], tuple(data["trace"]),
                   data.get("returns") or {})

    @property
    def status(self) -> str:
        return str(self.snapshot["status"]) if self.snapshot else ""


def command_id(order_id: str, intent: str) -> str:
    """The id of the command an order's intent issues: the same on every replay."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"woosync:{order_id}:{intent}"))


def apply(state: OrderState, name: str, body: Body, now: datetime, policy: OrderPolicy
          ) -> tuple[OrderState, list[Command]]:
    """One event (OrderObserved, RefundObserved, SalesOrderObserved, ShipmentObserved,
    InvoiceObserved, CreditNoteObserved, CommandDelivered, CommandFailed): the row after
    it, and the commands it makes due."""
    observe = _OBSERVERS.get(name)
    if observe is None:
        return state, []
    new = observe(state, body)
    if "envelope" in body and name not in ("CommandDelivered", "CommandFailed"):
        new = _traced(new, name, body)
    new = _check_edits(new)
    new = _check_returns(new, policy)
    return _issue(new, now, policy)


# -- observing ------------------------------------------------------------------------


def _order(state: OrderState, body: Body) -> OrderState:
    version = _iso(body["modified_at"])
    statuses = tuple(sorted(set(state.seen_statuses) | {body["status"]}))
    # WooCommerce keeps modification times to the second: a different body of the same
    # second is a later save (the normalizer re-read it from the store), so it replaces.
    if state.version and (version < state.version or (
            version == state.version and _jsonable(body) == state.snapshot)):
        return replace(state, seen_statuses=statuses)
    return replace(state, store=body["store"], version=version, snapshot=_jsonable(body),
                   seen_statuses=statuses)


def _refund(state: OrderState, body: Body) -> OrderState:
    record = {"amount": _dec(body["amount"]), "restocked": bool(body["restocked"]),
              "reason": body["reason"], "created_at": _iso(body["created_at"]),
              "lines": [{"line_id": line["line_id"], "sku": line["sku"],
                         "quantity": abs(int(line["quantity"])),
                         "amount": _dec(abs(Decimal(line["amount"])))}
                        for line in body["lines"]]}
    if state.refunds.get(body["refund_id"]) == record:
        return state
    return replace(state, store=state.store or body["store"],
                   refunds={**state.refunds, body["refund_id"]: record})


def _versioned(kept: Body | None, body: Body, fields: dict[str, Any]) -> Body | None:
    """The newer of the kept record and the observed one (None: the kept one stays)."""
    version = _iso(body["modified_at"])
    if kept is not None and kept["version"] >= version:
        return None
    return {"version": version, **_jsonable(fields)}


def _sale(state: OrderState, body: Body) -> OrderState:
    record = _versioned(state.sale, body, {
        "erp_id": body["erp_id"], "number": body["number"], "state": body["state"],
        "lines": body["lines"], "untaxed": body["untaxed"], "tax": body["tax"],
        "total": body["total"]})
    return state if record is None else replace(state, sale=record)


def _shipment(state: OrderState, body: Body) -> OrderState:
    key = body["shipment_id"]
    record = _versioned(state.shipments.get(key), body, {
        "state": body["state"], "warehouse": body["warehouse"],
        "tracking": body["tracking_reference"], "lines": body["lines"]})
    return state if record is None else replace(state, shipments={**state.shipments,
                                                                  key: record})


def _invoice(state: OrderState, body: Body) -> OrderState:
    key = body["invoice_id"]
    record = _versioned(state.invoices.get(key), body, {
        "number": body["number"], "state": body["state"], "total": body["total"]})
    return state if record is None else replace(state, invoices={**state.invoices,
                                                                 key: record})


def _credit_note(state: OrderState, body: Body) -> OrderState:
    key = body["refund_id"]
    record = _versioned(state.credit_notes.get(key), body, {
        "credit_note_id": body["credit_note_id"], "number": body["number"],
        "state": body["state"], "total": body["total"]})
    return state if record is None else replace(state, credit_notes={**state.credit_notes,
                                                                     key: record})


def _return_shipment(state: OrderState, body: Body) -> OrderState:
    key = body["refund_id"]
    record = _versioned(state.returns.get(key), body, {
        "shipment_id": body["shipment_id"], "warehouse": body["warehouse"],
        "state": body["state"], "lines": body["lines"]})
    return state if record is None else replace(state, returns={**state.returns,
                                                                key: record})


def _outcome(state: OrderState, body: Body) -> OrderState:
    """A delivery outcome: delivered wins over failed, whatever arrives first."""
    for intent, record in state.commands.items():
        if record["command_id"] != body["command_id"]:
            continue
        if record.get("outcome") == "delivered":
            return state
        delivered = "error" not in body
        updated = {**record, "outcome": "delivered" if delivered else "failed",
                   "attempts": body["attempts"],
                   "result_ref": body.get("result_ref"),
                   "error": None if delivered else body["error"],
                   "retryable": None if delivered else bool(body.get("retryable"))}
        if updated == record:
            return state
        return replace(state, commands={**state.commands, intent: updated})
    return state


_OBSERVERS = {"OrderObserved": _order, "RefundObserved": _refund,
              "SalesOrderObserved": _sale, "ShipmentObserved": _shipment,
              "InvoiceObserved": _invoice, "CreditNoteObserved": _credit_note,
              "ReturnShipmentObserved": _return_shipment,
              "CommandDelivered": _outcome, "CommandFailed": _outcome}


def _traced(state: OrderState, name: str, body: Body) -> OrderState:
    env = body["envelope"]
    entry = {"event_id": env["event_id"], "type": name, "source": env["source"],
             "occurred_at": _iso(env["occurred_at"]), "observed_at": _iso(env["observed_at"]),
             "trace_id": env["trace_id"], "version": env["source_version"]}
    if any(e["event_id"] == entry["event_id"] for e in state.trace):
        return state
    trace = sorted([*state.trace, entry], key=lambda e: (e["occurred_at"], e["event_id"]))
    return replace(state, trace=tuple(trace[-TRACE_LIMIT:]))


# -- deciding -------------------------------------------------------------------------


def _shipped(state: OrderState) -> bool:
    return any(s["state"] == "done" for s in state.shipments.values())


def _fully_shipped(state: OrderState) -> bool:
    live = [s for s in state.shipments.values() if s["state"] != "cancelled"]
    return bool(live) and all(s["state"] == "done" for s in live)


def _allocated(state: OrderState) -> bool:
    return state.sale is not None and state.sale["state"] in ERP_ALLOCATED


def _due(state: OrderState, policy: OrderPolicy) -> list[tuple[str, str, str, Body]]:
    """(intent, target, message type, fields) of every command the row calls for."""
    intents: list[str] = []
    snapshot = state.snapshot
    if snapshot is None:
        return []
    sent_to_erp = "sale" in state.commands
    if not sent_to_erp and policy.send_statuses & set(state.seen_statuses):
        intents.append("sale")
        sent_to_erp = True
    cancellable = state.sale is None or state.sale["state"] in ERP_CANCELLABLE
    # Once the ERP shipped, it is not cancelled there (_check_edits notes why).
    if sent_to_erp and state.status == "cancelled" and cancellable and not _shipped(state):
        intents.append("cancel")
    if _allocated(state):
        invoiced = bool(state.invoices)
        for refund_id, refund in sorted(state.refunds.items()):
            goods_back = (_is_return(refund)
                          and return_refusal(state, refund, policy) is None)
            if goods_back or invoiced:
                intents.append(f"credit:{refund_id}")
    for shipment_id, shipment in sorted(state.shipments.items()):
        if shipment["state"] == "done" and shipment["tracking"]:
            intents.append(f"tracking:{shipment_id}")
    if _fully_shipped(state) and may_write(state.status, SHIPPED_STORE_STATUS):
        intents.append(f"status:{SHIPPED_STORE_STATUS}")
    return [(intent, *_command_for(state, intent, policy)) for intent in intents]


def _command_for(state: OrderState, intent: str, policy: OrderPolicy
                 ) -> tuple[str, str, Body]:
    """(target, message type, fields) of the command an intent issues."""
    what, _, which = intent.partition(":")
    if what == "sale":
        return "erp", "CreateSalesOrder", _sale_fields(state, policy)
    if what == "cancel":
        return "erp", "CancelSalesOrder", {"reason": "cancelled in the store"}
    if what == "credit":
        return "erp", "CreateCreditNote", _credit_fields(state, which,
                                                         state.refunds[which], policy)
    if what == "tracking":
        return "store", "AddTracking", {"tracking_number": state.shipments[which]["tracking"],
                                        "carrier": None}
    return "store", "SetOrderStatus", {"status": which}


def reissue(state: OrderState, intent: str, now: datetime, policy: OrderPolicy
            ) -> tuple[OrderState, Command | None]:
    """The command of an intent that was given up on (the target stayed unavailable
    beyond the sink's wait; not a refusal), issued again with the same id: the row
    marks it pending again and counts the re-send."""
    record = state.commands.get(intent)
    if record is None or record.get("outcome") != "failed" or not record.get("retryable"):
        return state, None
    target, name, fields = _command_for(state, intent, policy)
    full = {"command_id": record["command_id"], "order_id": state.order_id,
            "store": state.store, **fields}
    again = {**record, "outcome": None, "error": None, "resent": record.get("resent", 0) + 1,
             "resent_at": now.isoformat()}
    return replace(state, commands={**state.commands, intent: again}), Command(target, name,
                                                                               full)


def _issue(state: OrderState, now: datetime, policy: OrderPolicy
           ) -> tuple[OrderState, list[Command]]:
    out: list[Command] = []
    commands = dict(state.commands)
    for intent, target, name, fields in _due(state, policy):
        if intent in commands:
            continue
        cid = command_id(state.order_id, intent)
        full = {"command_id": cid, "order_id": state.order_id, "store": state.store, **fields}
        commands[intent] = {"command_id": cid, "type": name, "issued_at": now.isoformat(),
                            "outcome": None, "attempts": 0, "result_ref": None, "error": None,
                            "digest": _digest(full)}
        if intent == "sale" and state.snapshot is not None:
            # What the sale was made from, to notice the store editing it later.
            commands[intent]["lines_digest"] = _digest(_sale_lines(state.snapshot))
        out.append(Command(target, name, full))
    if not out:
        return state, []
    return replace(state, commands=commands), out


def _check_edits(state: OrderState) -> OrderState:
    """Notes that do not make commands: the store edited the order after its ERP sale
    was made, or cancelled it after the ERP shipped."""
    notes = dict(state.notes)
    sale = state.commands.get("sale")
    if sale is not None and state.snapshot is not None:
        now = _digest(_sale_lines(state.snapshot))
        if now != sale.get("lines_digest", now):
            notes[f"edited:{state.version}"] = (
                "the store changed the order's lines or totals after its ERP sale was"
                " created; the ERP sale was not changed")
    if state.status == "cancelled" and _shipped(state) and "sale" in state.commands:
        notes["cancel_refused"] = ("cancelled in the store after the ERP shipped it: not"
                                   " cancelled in the ERP (return the goods there)")
    if notes == state.notes:
        return state
    return replace(state, notes=notes)


def _is_return(refund: Body) -> bool:
    """A refund with restock of some quantity: the customer sends goods back."""
    return bool(refund["restocked"]) and any(ln["quantity"] for ln in refund["lines"])


def return_refusal(state: OrderState, refund: Body, policy: OrderPolicy) -> str | None:
    """Why the return policy refuses a return (None: accepted): requested after the
    window (counted from payment, or from the order when it was never paid), or of a
    product that is not returnable."""
    reasons = []
    snapshot = state.snapshot or {}
    since = snapshot.get("paid_at") or snapshot.get("created_at")
    if policy.return_days is not None and since:
        days = (datetime.fromisoformat(refund["created_at"])
                - datetime.fromisoformat(str(since))).total_seconds() / 86400
        if days > policy.return_days:
            reasons.append(f"requested {days:.0f} days after payment, outside the"
                           f" {policy.return_days:g}-day return window")
    barred = sorted({policy.erp_code(ln["sku"] or "") for ln in refund["lines"]
                     if ln["quantity"] and any(fnmatchcase(policy.erp_code(ln["sku"] or ""),
                                                           pattern)
                                               for pattern in policy.not_returnable)})
    if barred:
        reasons.append(f"{', '.join(barred)} not returnable")
    return "; ".join(reasons) or None


def _check_returns(state: OrderState, policy: OrderPolicy) -> OrderState:
    """Each return's verdict as a note: accepted (the ERP takes the goods back through
    a return sale) or refused with the reason (the refund is credited, no goods come
    back). Set from the refund, so a replay writes the same note."""
    notes = dict(state.notes)
    for refund_id, refund in state.refunds.items():
        if not _is_return(refund):
            continue
        refusal = return_refusal(state, refund, policy)
        notes[f"return:{refund_id}"] = (
            "return accepted: the ERP takes the goods back (a return sale; they count"
            " again once received)" if refusal is None else
            f"return refused by policy: {refusal}; the refund is credited, the goods are"
            " not taken back")
    if notes == state.notes:
        return state
    return replace(state, notes=notes)


# -- building commands ----------------------------------------------------------------


def _sale_lines(snapshot: Body) -> Body:
    return {"lines": [(ln["line_id"], ln["sku"], ln["quantity"], ln["total"])
                      for ln in snapshot["lines"]],
            "shipping": snapshot["shipping_total"], "total": snapshot["total"]}


def _sale_fields(state: OrderState, policy: OrderPolicy) -> Body:
    snap = state.snapshot
    assert snap is not None
    lines = []
    for line in snap["lines"]:
        quantity = Decimal(line["quantity"])
        # The line's total is after discounts and before tax: the ERP computes the tax.
        unit = (Decimal(line["total"]) / quantity).quantize(FOUR) if quantity else Decimal(0)
        lines.append({"line_id": line["line_id"], "sku": policy.erp_code(line["sku"] or ""),
                      "quantity": quantity.quantize(FOUR), "unit_price": unit,
                      "description": line["name"] or (line["sku"] or "")})
    return {"warehouse": policy.warehouse, "currency": snap["currency"],
            "customer_id": int(snap.get("customer_id") or 0),
            "billing": snap["billing"], "shipping": snap["shipping"], "lines": lines,
            "shipping_total": Decimal(snap["shipping_total"]).quantize(FOUR),
            "total": Decimal(snap["total"]).quantize(FOUR)}


def _credit_fields(state: OrderState, refund_id: str, refund: Body, policy: OrderPolicy
                   ) -> Body:
    return {"refund_id": refund_id, "amount": Decimal(refund["amount"]).quantize(FOUR),
            "restock": _is_return(refund) and return_refusal(state, refund, policy) is None,
            "lines": [{"line_id": ln["line_id"], "sku": policy.erp_code(ln["sku"] or ""),
                       "quantity": Decimal(ln["quantity"]).quantize(FOUR),
                       "amount": Decimal(ln["amount"]).quantize(FOUR)}
                      for ln in refund["lines"] if ln["quantity"]],
            "reason": refund["reason"] or "store refund"}


# -- helpers --------------------------------------------------------------------------


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)


def _dec(value: Any) -> str:
    return str(Decimal(value).quantize(FOUR))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "envelope"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value.quantize(FOUR))
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _digest(value: Any) -> str:
    text = json.dumps(_jsonable(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

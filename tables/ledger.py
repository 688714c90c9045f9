"""The reconciliation ledger: what each store order comes to on both sides, and every
difference explained. Pure; ``now`` is passed in.

Two steps, because what an order's row says and what a difference means are known at
different times:

- ``line(order row, send statuses)``: the order's ledger line, when its row changes
  (the orders agent publishes it on ``ledger.orders``, keyed by order id, compacted). It
  carries the store's figures (total, shipping, tax, refunds), the ERP's documents
  (sale, invoices, credit notes) and each *difference* between them with the document
  expected to remove it and since when it has been expected;
- ``reconcile(day, lines, open windows, now, rules)``: the day's ledger, when someone
  asks. Every difference is *linked* to an open divergence window of its subject (the
  window says why and who must act), or *in flight* (its expected document is still
  within the kind's SLA), or *unexplained*. A healthy day has no unexplained difference.

The store side counts an order once the store has seen it in a send status (paid) and
until it is cancelled or failed; the ERP side counts a sale that is not cancelled. The
day is the UTC date the store created the order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tables.orders import OrderState

ZERO = Decimal(0)
NOT_COUNTED = frozenset({"cancelled", "failed"})
LINKED, IN_FLIGHT, UNEXPLAINED = "linked", "in flight", "unexplained"


@dataclass(frozen=True)
class Difference:
    """One amount the two sides do not agree on, and what would settle it."""

    kind: str  # the divergence kind whose window would explain it
    subject: str  # that window's subject
    what: str
    store_amount: Decimal
    erp_amount: Decimal
    expected: str  # the document (or change) that would remove it
    since: str  # ISO time from which it has been expected


@dataclass(frozen=True)
class Line:
    order_id: str
    store: str
    number: str
    day: str  # YYYY-MM-DD (UTC) the store created the order
    status: str
    currency: str
    counted_store: bool
    store_total: Decimal
    store_shipping: Decimal
    store_tax: Decimal
    store_refunds: Decimal
    erp_sale: str | None  # the sale's number (or id) when the ERP has one
    erp_state: str | None
    counted_erp: bool
    erp_total: Decimal
    erp_tax: Decimal
    erp_invoiced: Decimal
    erp_credited: Decimal
    differences: tuple[Difference, ...] = ()


def line(state: OrderState, send_statuses: frozenset[str], tolerance: Decimal = ZERO
         ) -> Line | None:
    """The order's ledger line (None before the store's snapshot arrived)."""
    snap = state.snapshot
    if snap is None:
        return None
    sale = state.sale
    counted_store = bool(send_statuses & set(state.seen_statuses)) and (
        state.status not in NOT_COUNTED)
    counted_erp = sale is not None and sale["state"] != "cancelled"
    store_total, store_tax = Decimal(snap["total"]), Decimal(snap["total_tax"])
    erp_total = Decimal(sale["total"]) if counted_erp and sale else ZERO
    erp_tax = Decimal(sale["tax"]) if counted_erp and sale else ZERO
    refunds = sum((Decimal(r["amount"]) for r in state.refunds.values()), ZERO)
    credited = sum((abs(Decimal(n["total"])) for n in state.credit_notes.values()
                    if n["state"] != "cancelled"), ZERO)
    invoiced = sum((Decimal(i["total"]) for i in state.invoices.values()
                    if i["state"] in ("posted", "paid")), ZERO)
    diffs = [*_sale_differences(state, counted_store, counted_erp, store_total, erp_total,
                                store_tax, erp_tax, tolerance),
             *_refund_differences(state, tolerance)]
    return Line(state.order_id, state.store, str(snap.get("number") or ""),
                str(snap["created_at"])[:10], state.status, str(snap["currency"]),
                counted_store, store_total if counted_store else ZERO,
                Decimal(snap["shipping_total"]) if counted_store else ZERO,
                store_tax if counted_store else ZERO, refunds,
                (sale.get("number") or sale["erp_id"]) if sale else None,
                sale["state"] if sale else None, counted_erp, erp_total, erp_tax, invoiced,
                credited, tuple(diffs))


def _issued(state: OrderState, intent: str) -> str:
    """Since when the ERP has been expected to act: the command's issue, or (not issued
    yet) the store's newest snapshot."""
    record = state.commands.get(intent)
    return str(record["issued_at"]) if record else state.version


def _sale_differences(state: OrderState, counted_store: bool, counted_erp: bool,
                      store_total: Decimal, erp_total: Decimal, store_tax: Decimal,
                      erp_tax: Decimal, tolerance: Decimal) -> list[Difference]:
    order = state.order_id
    if counted_store and not counted_erp:
        return [Difference("sale", order, "paid in the store, no ERP sale", store_total,
                           ZERO, "ERP sale", _issued(state, "sale"))]
    if counted_erp and not counted_store:
        expected = "ERP sale cancelled" if state.status in NOT_COUNTED else "store payment"
        return [Difference("sale", order, f"ERP sale counted, store order {state.status}",
                           ZERO, erp_total, expected, _issued(state, "cancel"))]
    if not counted_store:
        return []
    out = []
    if abs(store_total - erp_total) > tolerance:
        out.append(Difference("sale-total", order, "order total", store_total, erp_total,
                              "ERP sale at the store's total", state.version))
    if abs(store_tax - erp_tax) > tolerance:
        out.append(Difference("sale-total", order, "tax", store_tax, erp_tax,
                              "ERP sale at the store's tax", state.version))
    return out


def _refund_differences(state: OrderState, tolerance: Decimal) -> list[Difference]:
    out = []
    for refund_id, refund in sorted(state.refunds.items()):
        amount = Decimal(refund["amount"])
        note = state.credit_notes.get(refund_id)
        credited = abs(Decimal(note["total"])) if note and note["state"] != "cancelled" \
            else ZERO
        if note is not None and abs(amount - credited) <= tolerance:
            continue
        out.append(Difference("refund", f"{state.order_id}|{refund_id}",
                              f"refund {refund_id}", amount, credited,
                              f"credit note for refund {refund_id}", refund["created_at"]))
    return out


# -- the day ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explained:
    order_id: str
    difference: Difference
    status: str  # linked | in flight | unexplained
    window_id: str | None = None
    cause: str = ""
    due_by: str | None = None  # in flight: when its SLA runs out


@dataclass(frozen=True)
class OpenWindow:
    window_id: str
    kind: str
    subject: str
    cause: str


def reconcile(day: str, lines: list[Line], windows: list[OpenWindow], now: datetime,
              sla: dict[str, timedelta], store: str | None = None) -> dict[str, Any]:
    """The day's ledger (of one ``store``, or of all): totals on both sides, and every
    difference explained or not. ``sla`` gives each kind's grace period (a missing kind
    has none)."""
    todays = sorted((ln for ln in lines if ln.day == day and store in (None, ln.store)),
                    key=lambda ln: ln.order_id)
    by_subject: dict[tuple[str, str], OpenWindow] = {(w.kind, w.subject): w
                                                     for w in windows}
    # A refused or given-up command of the order explains any of its differences.
    refused = {w.subject.split("|", 1)[0]: w for w in windows if w.kind == "command"}
    explained = []
    for ln in todays:
        for diff in ln.differences:
            window = by_subject.get((diff.kind, diff.subject)) or refused.get(ln.order_id)
            if window is not None:
                explained.append(Explained(ln.order_id, diff, LINKED, window.window_id,
                                           window.cause))
                continue
            due_by = datetime.fromisoformat(diff.since) + sla.get(diff.kind, timedelta(0))
            status = IN_FLIGHT if now < due_by else UNEXPLAINED
            explained.append(Explained(ln.order_id, diff, status, None, "",
                                       due_by.isoformat()))
    return {"day": day, "of_store": store, "at": now.isoformat(), "orders": len(todays),
            "store": _totals(todays, "store"), "erp": _totals(todays, "erp"),
            "differences": {s: sum(1 for e in explained if e.status == s)
                            for s in (LINKED, IN_FLIGHT, UNEXPLAINED)},
            "items": [_item(e) for e in explained],
            "lines": [_line_json(ln) for ln in todays]}


def money(amount: Decimal) -> str:
    """An amount as people write it: cents, unless it has finer digits."""
    cents = amount.quantize(Decimal("0.01"))
    return str(cents if cents == amount else amount.normalize())


# Each side's figures: (name, field of Line, summed over counted lines or all of them)
STORE_FIGURES = (("total", "store_total", True), ("shipping", "store_shipping", True),
                 ("tax", "store_tax", True), ("refunds", "store_refunds", False))
ERP_FIGURES = (("total", "erp_total", True), ("tax", "erp_tax", True),
               ("invoiced", "erp_invoiced", False), ("credited", "erp_credited", False))


def _totals(lines: list[Line], side: str) -> dict[str, Any]:
    store = side == "store"
    counted = [ln for ln in lines if (ln.counted_store if store else ln.counted_erp)]
    out: dict[str, Any] = {"orders" if store else "sales": len(counted)}
    for name, attr, only_counted in STORE_FIGURES if store else ERP_FIGURES:
        chosen = counted if only_counted else lines
        out[name] = money(sum((getattr(ln, attr) for ln in chosen), ZERO))
    return out


def _item(e: Explained) -> dict[str, Any]:
    diff = asdict(e.difference)
    return {"order_id": e.order_id, **{k: money(v) if isinstance(v, Decimal) else v
                                       for k, v in diff.items()},
            "status": e.status, "window_id": e.window_id, "cause": e.cause,
            "due_by": e.due_by}


def _line_json(ln: Line) -> dict[str, Any]:
    out = {k: money(v) if isinstance(v, Decimal) else v for k, v in asdict(ln).items()
           if k != "differences"}
    out["differences"] = len(ln.differences)
    return out


# -- on the wire --------------------------------------------------------------------------


def to_record(ln: Line) -> dict[str, Any]:
    """The line as a ``LedgerLine`` message's fields (times as datetimes)."""
    fields = asdict(ln)
    fields["differences"] = [{**d, "since": datetime.fromisoformat(d["since"])}
                             for d in fields["differences"]]
    return fields


def from_record(body: dict[str, Any]) -> Line:
    diffs = tuple(Difference(**{**d, "since": _iso(d["since"])})
                  for d in body["differences"])
    fields = {k: body[k] for k in Line.__dataclass_fields__ if k != "differences"}
    return Line(**fields, differences=diffs)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)

"""Holds, the order side: what each store order line holds of its SKU. Pure.

A line holds exactly what WooCommerce took out of its own stock for it and the ERP has
not allocated yet (DESIGN.md section 5): WooCommerce reduces stock when an order
reaches processing, on-hold or completed (whichever is seen first; an order may first be
seen already completed), restores it on cancelled or back to pending, and a refund with
restock gives back the refunded quantities; an order first seen refunded was paid, so
its stock was taken (tables.order_status says this for every status). A variation
whose stock the parent manages holds against the parent's SKU. The ERP allocates when
it confirms the sale; the hold then converts (the inventory side keeps counting it
until a stock read taken after the confirmation arrives).

State per order: the last order snapshot applied (a snapshot not newer changes nothing),
refunds by id (set, never added), the ERP confirmation time, and what was last sent per
line. ``apply_*`` return the new state and the hold events to send (keyed by SKU), so a
replay of any of them sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tables.order_status import stock_taken

CONFIRMED = frozenset({"processing", "done"})


@dataclass(frozen=True)
class Sent:
    sku: str
    quantity: Decimal
    converted_at: str | None = None


@dataclass(frozen=True)
class OrderHolds:
    order_id: str
    store: str = ""
    version: str = ""  # modified_at of the last order snapshot applied
    reduced: bool = False
    lines: dict[str, tuple[str, int]] = field(default_factory=dict)  # line -> (sku, qty)
    refunds: dict[str, dict[str, int]] = field(default_factory=dict)  # refund -> line -> qty
    confirmed_at: str | None = None
    sent: dict[str, Sent] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()  # lines whose SKU maps to no ERP product

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "store": self.store, "version": self.version,
                "reduced": self.reduced, "lines": {k: list(v) for k, v in self.lines.items()},
                "refunds": self.refunds, "confirmed_at": self.confirmed_at,
                "sent": {k: [s.sku, str(s.quantity), s.converted_at]
                         for k, s in self.sent.items()},
                "unmapped": list(self.unmapped)}

    @classmethod
    def from_json(cls, order_id: str, data: dict[str, Any] | None) -> OrderHolds:
        if not data:
            return cls(order_id)
        return cls(data["order_id"], data["store"], data["version"], data["reduced"],
                   {k: (v[0], int(v[1])) for k, v in data["lines"].items()},
                   {r: dict(lines) for r, lines in data["refunds"].items()},
                   data["confirmed_at"],
                   {k: Sent(v[0], Decimal(v[1]), v[2]) for k, v in data["sent"].items()},
                   tuple(data.get("unmapped") or ()))


@dataclass(frozen=True)
class HoldEvent:
    """A hold event to send on inventory.holds, keyed by ``sku``."""

    kind: str  # HoldSet | HoldReleased | HoldConverted
    sku: str
    line_id: str
    quantity: Decimal = Decimal(0)
    reason: str = ""
    confirmed_at: str | None = None


Result = tuple[OrderHolds, list[HoldEvent]]


def apply_order(state: OrderHolds, order: dict[str, Any], erp_sku: dict[str, str]) -> Result:
    """A store order snapshot. ``erp_sku`` maps the store's SKUs to ERP product codes
    (a SKU missing from it maps to nothing: the line holds nothing and is reported)."""
    version = order["modified_at"].isoformat()
    if state.version and version <= state.version:
        return state, []
    status = order["status"]
    reduced = stock_taken(state.reduced if state.version else None, status)
    lines: dict[str, tuple[str, int]] = {}
    unmapped = []
    for line in order["lines"]:
        code = erp_sku.get(line["sku"] or "")
        if code is None:
            unmapped.append(line["line_id"])
            continue
        lines[line["line_id"]] = (code, int(line["quantity"]))
    new = replace(state, store=order["store"], version=version, reduced=reduced, lines=lines,
                  unmapped=tuple(unmapped))
    return _settle(new, reason=status)


def apply_refund(state: OrderHolds, refund: dict[str, Any]) -> Result:
    """A store refund: refunded quantities are treated as restocked (DESIGN.md 8)."""
    if not refund.get("restocked", True):
        return state, []
    lines = {line["line_id"]: int(line["quantity"]) for line in refund["lines"]}
    if state.refunds.get(refund["refund_id"]) == lines:
        return state, []
    new = replace(state, refunds={**state.refunds, refund["refund_id"]: lines})
    return _settle(new, reason="refunded")


def apply_sale(state: OrderHolds, sale: dict[str, Any]) -> Result:
    """The ERP's sales order: once confirmed, its own figures count the order."""
    if state.confirmed_at is not None or sale["state"] not in CONFIRMED:
        return state, []
    return _settle(replace(state, confirmed_at=sale["modified_at"].isoformat()), reason="")


def desired(state: OrderHolds) -> dict[str, tuple[str, Decimal]]:
    """line -> (sku, quantity held) as the state stands."""
    held = {}
    for line_id, (sku, quantity) in state.lines.items():
        refunded = sum(lines.get(line_id, 0) for lines in state.refunds.values())
        held[line_id] = (sku, Decimal(max(0, quantity - refunded) if state.reduced else 0))
    return held


def settled_since(state: OrderHolds) -> str | None:
    """Since when the order holds nothing any more (its last snapshot or ERP
    confirmation, whichever is later), or None while a line still holds stock."""
    if any(s.quantity > 0 and s.converted_at is None for s in state.sent.values()):
        return None
    return max(state.version, state.confirmed_at or "")


def _settle(state: OrderHolds, reason: str) -> Result:
    events: list[HoldEvent] = []
    sent = dict(state.sent)
    wanted = desired(state)
    for line_id in sorted(set(wanted) | set(sent)):
        sku, quantity = wanted.get(line_id, (sent[line_id].sku if line_id in sent else "",
                                             Decimal(0)))
        before = sent.get(line_id)
        if before is not None and before.sku != sku and before.quantity > 0:
            # The line now uses another SKU: release the old one first.
            events.append(HoldEvent("HoldReleased", before.sku, line_id, reason="line changed"))
            before = None
        if quantity > 0 and (before is None or before.quantity != quantity):
            events.append(HoldEvent("HoldSet", sku, line_id, quantity))
            before = Sent(sku, quantity, before.converted_at if before else None)
        elif quantity == 0 and before is not None and before.quantity > 0:
            events.append(HoldEvent("HoldReleased", sku, line_id, reason=reason or "released"))
            before = Sent(sku, Decimal(0), before.converted_at)
        if (state.confirmed_at is not None and before is not None and before.quantity > 0
                and before.converted_at is None):
            events.append(HoldEvent("HoldConverted", sku, line_id,
                                    confirmed_at=state.confirmed_at))
            before = Sent(before.sku, before.quantity, state.confirmed_at)
        if before is not None:
            sent[line_id] = before
    return replace(state, sent=sent), events


def hold_fields(state: OrderHolds, event: HoldEvent, occurred_at: datetime
                ) -> dict[str, Any]:
    """The fields of the HoldSet, HoldReleased or HoldConverted ``event`` stands for (the
    order's snapshot version, or when the state has none yet, ``occurred_at``)."""
    version = datetime.fromisoformat(state.version) if state.version else occurred_at
    common = {"sku": event.sku, "order_id": state.order_id, "line_id": event.line_id}
    if event.kind == "HoldSet":
        return {**common, "store": state.store, "quantity": event.quantity,
                "order_version": version}
    if event.kind == "HoldReleased":
        return {**common, "store": state.store, "order_version": version,
                "reason": event.reason}
    assert event.confirmed_at is not None
    return {**common, "confirmed_at": datetime.fromisoformat(event.confirmed_at)}

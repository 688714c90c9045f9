"""Reservations and availability, the SKU side. Pure; ``now`` is passed in.

State per SKU: the ERP's latest stock read (every warehouse's on hand and forecast,
with the ERP time of the read), the holds of store order lines (set, never added; a
hold event older than the one stored changes nothing), and what was last published to
each store. Available to promise for a store is

    ATP = sum over the store's warehouses of forecast (on hand - allocated)
          - holds - safety stock

where a converted hold (the ERP confirmed its sale) keeps counting until a stock read
taken after the confirmation has arrived, both times on the ERP's clock: counting an
order twice for a moment under-sells, counting it zero times oversells. Availability
sent to a store is max(0, ATP) with a stock status, only when it changes; while the ERP
feed is stale, a conservative buffer is taken off and the value is marked stale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True)
class Hold:
    quantity: Decimal
    store: str
    version: str  # the order snapshot that set it
    converted_at: str | None = None


@dataclass(frozen=True)
class Published:
    quantity: int
    status: str
    stale: bool
    at: str


@dataclass(frozen=True)
class SkuState:
    sku: str
    # warehouse -> (on hand, forecast)
    levels: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    read_at: str | None = None
    holds: dict[str, Hold] = field(default_factory=dict)  # "order|line" -> hold
    published: dict[str, Published] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "read_at": self.read_at,
                "levels": {w: [str(a), str(b)] for w, (a, b) in self.levels.items()},
                "holds": {k: [str(h.quantity), h.store, h.version, h.converted_at]
                          for k, h in self.holds.items()},
                "published": {s: [p.quantity, p.status, p.stale, p.at]
                              for s, p in self.published.items()}}

    @classmethod
    def from_json(cls, sku: str, data: dict[str, Any] | None) -> SkuState:
        if not data:
            return cls(sku)
        return cls(sku,
                   {w: (Decimal(a), Decimal(b)) for w, (a, b) in data["levels"].items()},
                   data["read_at"],
                   {k: Hold(Decimal(q), s, v, c) for k, (q, s, v, c) in data["holds"].items()},
                   {s: Published(q, st, stale, at)
                    for s, (q, st, stale, at) in data["published"].items()})


@dataclass(frozen=True)
class Channel:
    """What one store is served from and what it keeps back."""

    store: str
    warehouses: tuple[str, ...]
    store_sku: str


@dataclass(frozen=True)
class Policy:
    safety_stock: Decimal = ZERO
    stale_after: timedelta = timedelta(seconds=60)
    stale_buffer: Decimal = Decimal(5)


def apply_stock(state: SkuState, body: dict[str, Any]) -> SkuState:
    read_at = body["read_at"].isoformat()
    if state.read_at is not None and read_at <= state.read_at:
        return state
    levels = {w["warehouse"]: (w["on_hand"], w["forecast"]) for w in body["warehouses"]}
    return replace(state, levels=levels, read_at=read_at)


def _hold_key(body: dict[str, Any]) -> str:
    return f"{body['order_id']}|{body['line_id']}"


def apply_hold_set(state: SkuState, body: dict[str, Any]) -> SkuState:
    key, version = _hold_key(body), body["order_version"].isoformat()
    current = state.holds.get(key)
    if current is not None and current.version > version:
        return state
    converted = current.converted_at if current else None
    hold = Hold(body["quantity"], body["store"], version, converted)
    if current == hold:
        return state
    return replace(state, holds={**state.holds, key: hold})


def apply_hold_released(state: SkuState, body: dict[str, Any]) -> SkuState:
    key, version = _hold_key(body), body["order_version"].isoformat()
    current = state.holds.get(key)
    if current is not None and current.version > version:
        return state
    if current is not None and current.quantity == 0 and current.version == version:
        return state
    # Kept as a zero hold with its version, so that an older HoldSet replayed later
    # cannot bring it back.
    converted = current.converted_at if current else None
    return replace(state, holds={**state.holds, key: Hold(ZERO, body["store"], version,
                                                          converted)})


def apply_hold_converted(state: SkuState, body: dict[str, Any]) -> SkuState:
    key = _hold_key(body)
    current = state.holds.get(key)
    confirmed = body["confirmed_at"].isoformat()
    if current is None:
        # The conversion came first: remember it for the hold it belongs to.
        current = Hold(ZERO, body.get("store", ""), "")
    elif current.converted_at is not None:
        return state
    return replace(state, holds={**state.holds, key: replace(current, converted_at=confirmed)})


def counts(hold: Hold, read_at: str | None) -> bool:
    """Whether a hold still counts: not converted, or converted after the latest read
    (so the ERP's figure does not include the order yet). A finished hold is kept, with
    its version, so that no replayed or later event can bring it back."""
    return hold.converted_at is None or read_at is None or read_at <= hold.converted_at


def held(state: SkuState) -> Decimal:
    return sum((h.quantity for h in state.holds.values() if counts(h, state.read_at)), ZERO)


def atp(state: SkuState, channel: Channel, policy: Policy) -> Decimal:
    supply = sum((state.levels.get(w, (ZERO, ZERO))[1] for w in channel.warehouses), ZERO)
    return supply - held(state) - policy.safety_stock


def is_stale(feed_polled_at: datetime | None, now: datetime, policy: Policy) -> bool:
    return feed_polled_at is None or now - feed_polled_at > policy.stale_after


@dataclass(frozen=True)
class StoreAvailability:
    store: str
    store_sku: str
    quantity: int
    status: str
    stale: bool


def availability(state: SkuState, channels: list[Channel], policy: Policy, stale: bool
                 ) -> list[StoreAvailability]:
    out = []
    for channel in channels:
        value = atp(state, channel, policy) - (policy.stale_buffer if stale else ZERO)
        quantity = max(0, math.floor(value))
        out.append(StoreAvailability(channel.store, channel.store_sku, quantity,
                                     "instock" if quantity > 0 else "outofstock", stale))
    return out


def publish(state: SkuState, channels: list[Channel], policy: Policy, stale: bool,
            now: datetime) -> tuple[SkuState, list[StoreAvailability]]:
    """What changed since last published (nothing before the first stock read)."""
    if state.read_at is None:
        return state, []
    changed = []
    published = dict(state.published)
    for item in availability(state, channels, policy, stale):
        before = published.get(item.store)
        if before is None or (before.quantity, before.status, before.stale) != (
                item.quantity, item.status, item.stale):
            changed.append(item)
            published[item.store] = Published(item.quantity, item.status, item.stale,
                                               now.isoformat())
    return replace(state, published=published), changed

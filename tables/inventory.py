"""Reservations and availability, the SKU side. Pure; ``now`` is passed in.

Two kinds of row. A hold (per SKU, order and line): what the line holds, the order
snapshot that set it (set, never added; a hold event older than the one stored changes
nothing) and when the ERP confirmed its sale. The SKU's row: the ERP's latest stock read
(every warehouse's on hand and forecast, with the ERP time of the read), the sum of the
unconverted holds, the converted holds whose confirmation is newer than that read, and
what was last published to each store. An event touches one hold and the SKU's row, so
its cost does not grow with the number of holds. Available to promise for a store is

    ATP = sum over the store's warehouses of forecast (on hand - allocated)
          - holds - safety stock

where the holds are those taken by stores sharing a warehouse with it: an order of a
store served only by other warehouses will ship from them, so it does not use this
store's stock (the sums are therefore kept per store).

where a converted hold (the ERP confirmed its sale) keeps counting until a stock read
taken after the confirmation has arrived, both times on the ERP's clock: counting an
order twice for a moment under-sells, counting it zero times oversells. Availability
sent to a store is max(0, ATP) with a stock status, only when it changes; while the ERP
feed is stale, a conservative buffer is taken off and the value is marked stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tables.demand import NO_DEMAND, Demand

ZERO = Decimal(0)


@dataclass(frozen=True)
class Hold:
    """One order line's hold of the SKU. Kept on its own (table ``hold_lines``, key
    ``sku|order|line``) so that an event costs the same however many holds a SKU has."""

    quantity: Decimal
    store: str
    version: str  # the order snapshot that set it
    converted_at: str | None = None

    def to_json(self) -> list[Any]:
        return [str(self.quantity), self.store, self.version, self.converted_at]

    @classmethod
    def from_json(cls, data: list[Any] | None) -> Hold | None:
        if not data:
            return None
        quantity, store, version, converted_at = data
        return cls(Decimal(quantity), store, version, converted_at)


@dataclass(frozen=True)
class Published:
    quantity: int
    status: str
    stale: bool
    at: str


@dataclass(frozen=True)
class SkuState:
    """The SKU's row: the ERP's latest read, the sum of its unconverted holds, the
    converted holds the ERP's figure does not count yet, and what each store was sent."""

    sku: str
    # warehouse -> (on hand, forecast)
    levels: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    read_at: str | None = None
    # store -> sum of its holds not converted ("": rows kept before holds were summed
    # per store; they count for every store)
    open: dict[str, Decimal] = field(default_factory=dict)
    # hold key "order|line" -> (quantity, confirmed_at, store): converted after the
    # latest read
    converting: dict[str, tuple[Decimal, str, str]] = field(default_factory=dict)
    published: dict[str, Published] = field(default_factory=dict)
    # The ERP's list price and the version it came with (ProductObserved), to judge the
    # stores' prices against; None until the ERP's product was read.
    list_price: tuple[str, str] | None = None
    # Each store's own stock as it last showed it (read back by webhook or sweep).
    shown: dict[str, int] = field(default_factory=dict)
    # Recent demand and oversold units (tables.demand), for the oversell risk.
    demand: Demand = NO_DEMAND

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "read_at": self.read_at,
                "open": {s: str(q) for s, q in self.open.items()},
                "list_price": list(self.list_price) if self.list_price else None,
                "shown": self.shown, "demand": self.demand.to_json(),
                "levels": {w: [str(a), str(b)] for w, (a, b) in self.levels.items()},
                "converting": {k: [str(q), at, s]
                               for k, (q, at, s) in self.converting.items()},
                "published": {s: [p.quantity, p.status, p.stale, p.at]
                              for s, p in self.published.items()}}

    @classmethod
    def from_json(cls, sku: str, data: dict[str, Any] | None) -> SkuState:
        if not data:
            return cls(sku)
        open_ = data["open"]
        return cls(sku,
                   {w: (Decimal(a), Decimal(b)) for w, (a, b) in data["levels"].items()},
                   data["read_at"],
                   # A row written before the sums were per store: one sum for all.
                   {"": Decimal(open_)} if isinstance(open_, str) else
                   {s: Decimal(q) for s, q in open_.items()},
                   {k: (Decimal(v[0]), v[1], v[2] if len(v) > 2 else "")
                    for k, v in data["converting"].items()},
                   {s: Published(q, st, stale, at)
                    for s, (q, st, stale, at) in data["published"].items()},
                   tuple(data["list_price"]) if data.get("list_price") else None,
                   dict(data.get("shown") or {}), Demand.from_json(data.get("demand")))


@dataclass(frozen=True)
class Channel:
    """What one store is served from and what it keeps back."""

    store: str
    warehouses: tuple[str, ...]
    store_sku: str
    # Stores that share no warehouse with this one: their orders ship from stock this
    # store is not served from, so their holds do not reduce its ATP.
    apart: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    safety_stock: Decimal = ZERO
    stale_after: timedelta = timedelta(seconds=60)
    stale_buffer: Decimal = Decimal(5)


def apply_stock(state: SkuState, body: dict[str, Any]) -> SkuState:
    """A stock read; an older one than the latest changes nothing. Converted holds the
    new read counts (confirmed before it) stop counting here."""
    read_at = body["read_at"].isoformat()
    if state.read_at is not None and read_at <= state.read_at:
        return state
    levels = {w["warehouse"]: (w["on_hand"], w["forecast"]) for w in body["warehouses"]}
    converting = {k: v for k, v in state.converting.items() if counts(v[1], read_at)}
    return replace(state, levels=levels, read_at=read_at, converting=converting)


def hold_key(body: dict[str, Any]) -> str:
    """A hold's key within its SKU: the order and its line."""
    return f"{body['order_id']}|{body['line_id']}"


def next_hold(kind: str, current: Hold | None, body: dict[str, Any]) -> Hold | None:
    """The hold after one HoldSet / HoldReleased / HoldConverted, or None when the event
    changes nothing (older than the hold, or already applied)."""
    if kind == "HoldConverted":
        if current is not None and current.converted_at is not None:
            return None
        confirmed = body["confirmed_at"].isoformat()
        # A conversion seen first is kept for the hold it belongs to.
        base = current or Hold(ZERO, body.get("store", ""), "")
        return replace(base, converted_at=confirmed)
    version = body["order_version"].isoformat()
    if current is not None and current.version > version:
        return None
    converted = current.converted_at if current else None
    # A release is kept as a zero hold with its version, so that an older HoldSet
    # replayed later cannot bring it back.
    quantity = body["quantity"] if kind == "HoldSet" else ZERO
    hold = Hold(quantity, body["store"], version, converted)
    return None if hold == current else hold


def account(state: SkuState, key: str, before: Hold | None, after: Hold) -> SkuState:
    """The SKU's sums once one hold went from ``before`` to ``after``."""
    open_ = state.open
    converting = state.converting
    if before is not None and before.converted_at is None:
        open_ = _add(open_, before.store, -before.quantity)
    if after.converted_at is None:
        open_ = _add(open_, after.store, after.quantity)
    elif before is None or before.converted_at is None:
        # Converted now: it counts until a read taken after the confirmation arrives.
        if counts(after.converted_at, state.read_at):
            converting = {**converting,
                          key: (after.quantity, after.converted_at, after.store)}
    elif key in converting:
        converting = {**converting, key: (after.quantity, after.converted_at, after.store)}
    return replace(state, open=open_, converting=converting)


def _add(sums: dict[str, Decimal], store: str, quantity: Decimal) -> dict[str, Decimal]:
    """Per-store sums with ``quantity`` added to one store's (a store at 0 is dropped)."""
    if not quantity:
        return sums
    total = sums.get(store, ZERO) + quantity
    out = {s: q for s, q in sums.items() if s != store}
    if total:
        out[store] = total
    return out


def apply_hold(state: SkuState, kind: str, current: Hold | None, body: dict[str, Any]
               ) -> tuple[SkuState, Hold | None]:
    """One hold event: the SKU's new row and the hold's new row (None: unchanged)."""
    after = next_hold(kind, current, body)
    if after is None:
        return state, None
    return account(state, hold_key(body), current, after), after


def counts(converted_at: str | None, read_at: str | None) -> bool:
    """Whether a hold still counts: not converted, or converted after the latest read
    (so the ERP's figure does not include the order yet)."""
    return converted_at is None or read_at is None or read_at <= converted_at


def counting(state: SkuState, key: str, hold: Hold) -> bool:
    """Whether one hold is in the SKU's sum now: not converted, or converted and its
    confirmation not yet covered by a stock read."""
    return hold.converted_at is None or key in state.converting


def settled_since(state: SkuState, key: str, hold: Hold) -> str | None:
    """Since when a hold no longer counts or can count (released to zero, or converted
    and covered by a stock read), or None while it counts."""
    if hold.converted_at is not None:
        return None if key in state.converting else max(hold.version, hold.converted_at)
    return hold.version if hold.quantity == 0 else None


def hold_version(kind: str, body: dict[str, Any]) -> str:
    """How old a hold event is: its order's snapshot, or for a conversion the ERP's
    confirmation (what the replay guard compares with the pruned horizon)."""
    moment = body["confirmed_at"] if kind == "HoldConverted" else body["order_version"]
    return str(moment.isoformat())


def held(state: SkuState, channel: Channel | None = None) -> Decimal:
    """The units held that the ERP's figure does not count yet: all of them, or those
    that reduce ``channel``'s stock (taken by stores sharing a warehouse with it)."""
    apart = channel.apart if channel is not None else frozenset()
    return (sum((q for s, q in state.open.items() if s not in apart), ZERO)
            + sum((q for q, at, s in state.converting.values()
                   if s not in apart and counts(at, state.read_at)), ZERO))


def atp(state: SkuState, channel: Channel, policy: Policy) -> Decimal:
    supply = sum((state.levels.get(w, (ZERO, ZERO))[1] for w in channel.warehouses), ZERO)
    return supply - held(state, channel) - policy.safety_stock


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


@dataclass(frozen=True)
class Arrival:
    """Units an order line newly holds (first set, or raised), with the SKU's row just
    before: what tables.demand counts as demand, and oversold when ATP was used up."""

    key: str
    hold: Hold
    units: Decimal
    before: SkuState


def apply_events(state: SkuState, events: list[tuple[str, dict[str, Any]]],
                 hold_of: Callable[[str], Hold | None],
                 arrivals: list[Arrival] | None = None
                 ) -> tuple[SkuState, dict[str, Hold]]:
    """One batch's events of one SKU, in order: stock reads and hold events (``hold_of``
    gives a hold's stored row by its key). Returns the SKU's row and the holds changed,
    by key, each to be written once; appends to ``arrivals`` the units newly held."""
    changed: dict[str, Hold] = {}
    for name, body in events:
        if name == "StockLevelObserved":
            state = apply_stock(state, body)
            continue
        key = hold_key(body)
        current = changed[key] if key in changed else hold_of(key)
        before = state
        state, new = apply_hold(state, name, current, body)
        if new is not None:
            changed[key] = new
            units = new.quantity - (current.quantity if current else ZERO)
            if arrivals is not None and name == "HoldSet" and units > 0:
                arrivals.append(Arrival(key, new, units, before))
    return state, changed


def availability_changed(state: SkuState, changed: list[StoreAvailability],
                         channels: list[Channel], policy: Policy) -> dict[str, Any]:
    """AvailabilityChanged's fields: the SKU, its ATP for the first store, and every
    store's value with its own ATP: the ones changed now, and for the others the last
    one published."""
    now_changed = {c.store for c in changed}
    stores = [{"store": c.store, "quantity": c.quantity, "stock_status": c.status,
               "stale": c.stale} for c in changed]
    stores += [{"store": store, "quantity": p.quantity, "stock_status": p.status,
                "stale": p.stale}
               for store, p in sorted(state.published.items()) if store not in now_changed]
    values = {c.store: atp(state, c, policy).quantize(Decimal("0.0001")) for c in channels}
    for item in stores:
        item["atp"] = values.get(str(item["store"]))  # None: a store no longer configured
    return {"sku": state.sku, "atp": values[channels[0].store] if channels else ZERO,
            "stores": sorted(stores, key=lambda s: str(s["store"]))}

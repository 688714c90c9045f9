"""Oversell risk of a SKU, the promotion-day view. Pure; ``now`` is passed in.

Consumes a SKU's row (tables.inventory.SkuState: the ERP's levels, the holds' sums, what
was published to each store and what each store last showed, and its demand,
tables.demand) with the channels, policy and risk thresholds; produces a ``Risk``:

- demand velocity, units per minute over sliding windows of 1, 5 and 15 minutes;
- time to stock-out, ATP / velocity, taking the fastest of the three (a spike shows in
  the 1-minute window first); 0 once ATP is used up while there is demand; None with no
  demand;
- a level: ``critical``, ``high``, ``medium`` when the time to stock-out is within that
  many minutes (settings ``risk_minutes``), ``low`` with demand and more time than that,
  ``none`` without demand in the last 15 minutes;
- the units oversold (a store accepted them with ATP already used up) and their orders;
- each store's published value against what the store showed last, and the exposure:
  units a store offers beyond the ATP (what it could still oversell).

``rank`` orders SKUs for the top list: level, then time to stock-out, then velocity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tables.demand import Demand, ordered, oversold_by, recent, series
from tables.inventory import ZERO, Arrival, Channel, Policy, SkuState, atp

WINDOWS = (1, 5, 15)  # minutes
LEVELS = ("critical", "high", "medium", "low", "none")  # most urgent first
DEFAULT_MINUTES = {"critical": 5.0, "high": 15.0, "medium": 60.0}


@dataclass(frozen=True)
class StoreView:
    store: str
    atp: Decimal
    published: int | None
    shown: int | None

    @property
    def exposure(self) -> int:
        """Units the store offers beyond what woosync can promise it."""
        return max(0, (self.shown or 0) - max(0, int(self.atp)))


@dataclass(frozen=True)
class Risk:
    sku: str
    atp: Decimal  # the first store's (as AvailabilityChanged)
    velocity: dict[int, Decimal]  # window minutes -> units per minute
    minutes_to_stockout: Decimal | None
    level: str
    demand: Demand
    stores: tuple[StoreView, ...]
    sparkline: tuple[Decimal, ...]

    def to_record(self) -> dict[str, Any]:
        """The fields of SkuRisk (envelope aside)."""
        minutes = self.minutes_to_stockout
        return {"sku": self.sku, "atp": _q(self.atp),
                "velocity_1m": _q(self.velocity[1]), "velocity_5m": _q(self.velocity[5]),
                "velocity_15m": _q(self.velocity[15]),
                "minutes_to_stockout": None if minutes is None else _q(minutes),
                "level": self.level, "oversold_units": _q(self.demand.oversold),
                "oversold_orders": [{"order_id": o.order_id, "store": o.store,
                                     "units": _q(o.units)} for o in self.demand.orders],
                "stores": [{"store": s.store, "atp": _q(s.atp), "published": s.published,
                            "shown": s.shown, "exposure": s.exposure} for s in self.stores],
                "per_minute": [_q(u) for u in self.sparkline]}


def _q(value: Decimal) -> Decimal:
    """A quantity as the schema's fixed decimal takes it (4 places)."""
    return value.quantize(Decimal("0.0001"))


def with_arrivals(state: SkuState, arrivals: list[Arrival], channels: list[Channel],
                  policy: Policy) -> tuple[SkuState, dict[str, Decimal]]:
    """The row with the units newly held counted as demand at their order's time, and
    as oversold beyond the ATP the ordering store had just before; and the units
    oversold now, by store."""
    demand = state.demand
    oversold: dict[str, Decimal] = {}
    by_store = {c.store: c for c in channels}
    for arrival in arrivals:
        channel = by_store.get(arrival.hold.store)
        # Before the ERP's first read nothing was promised either way: not oversold.
        known = channel is not None and arrival.before.read_at is not None
        before = atp(arrival.before, channel, policy) if known and channel else arrival.units
        beyond = oversold_by(before, arrival.units)
        demand = ordered(demand, datetime.fromisoformat(arrival.hold.version), arrival.units,
                         beyond, arrival.key.split("|")[0], arrival.hold.store)
        if beyond > 0:
            oversold[arrival.hold.store] = oversold.get(arrival.hold.store, ZERO) + beyond
    return replace(state, demand=demand), oversold


def velocities(demand: Demand, now: datetime) -> dict[int, Decimal]:
    return {w: recent(demand, now, w) / w for w in WINDOWS}


def time_to_stockout(available: Decimal, velocity: dict[int, Decimal]) -> Decimal | None:
    fastest = max(velocity.values(), default=ZERO)
    if fastest <= 0:
        return None
    return max(ZERO, available / fastest)


def level_of(minutes: Decimal | None, thresholds: dict[str, float]) -> str:
    if minutes is None:
        return "none"
    for level in ("critical", "high", "medium"):
        if minutes <= Decimal(str(thresholds.get(level, DEFAULT_MINUTES[level]))):
            return level
    return "low"


def assess(state: SkuState, channels: list[Channel], policy: Policy, now: datetime,
           thresholds: dict[str, float]) -> Risk:
    views = tuple(StoreView(c.store, atp(state, c, policy),
                            p.quantity if (p := state.published.get(c.store)) else None,
                            state.shown.get(c.store)) for c in channels)
    first = views[0].atp if views else ZERO
    velocity = velocities(state.demand, now)
    minutes = time_to_stockout(first, velocity)
    return Risk(state.sku, first, velocity, minutes, level_of(minutes, thresholds),
                state.demand, views, tuple(series(state.demand, now)))


def rank(record: dict[str, Any]) -> tuple[int, Decimal, Decimal, str]:
    """Sort key of a SkuRisk record for the top list (most at risk first)."""
    minutes = record["minutes_to_stockout"]
    return (LEVELS.index(record["level"]) if record["level"] in LEVELS else len(LEVELS),
            Decimal(minutes) if minutes is not None else Decimal("Infinity"),
            -max(Decimal(record[f"velocity_{w}m"]) for w in WINDOWS), str(record["sku"]))

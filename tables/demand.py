"""A SKU's recent demand and the units the store sold beyond its availability. Pure.

Kept on the SKU's row (tables.inventory.SkuState) and changed only when a hold is first
set or raised (a replayed hold event changes no hold, so it adds no demand). Produces,
for tables.risk: units ordered per minute over the last ``KEPT_MINUTES`` (a bounded set
of buckets, keyed by the order's own time so that a replay lands in the same bucket),
and the oversold units: those a store accepted while woosync's availability to promise
for that store was already used up, with the latest orders that made them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
KEPT_MINUTES = 15  # the longest velocity window (tables.risk.WINDOWS)
KEPT_ORDERS = 20  # oversold orders listed per SKU (the sum covers all of them)


def minute_of(at: datetime) -> str:
    """The minute's bucket, ``YYYY-MM-DDTHH:MM`` (isoformat's head: strftime costs about
    twice as much, and this runs twice per hold event)."""
    return at.isoformat()[:16]


@dataclass(frozen=True)
class Oversold:
    order_id: str
    store: str
    units: Decimal


@dataclass(frozen=True)
class Demand:
    # minute ("YYYY-MM-DDTHH:MM", UTC) -> units ordered in it
    minutes: dict[str, Decimal]
    oversold: Decimal = ZERO
    orders: tuple[Oversold, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"minutes": {m: str(u) for m, u in self.minutes.items()},
                "oversold": str(self.oversold),
                "orders": [[o.order_id, o.store, str(o.units)] for o in self.orders]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Demand:
        if not data:
            return NO_DEMAND
        return cls({m: Decimal(u) for m, u in data["minutes"].items()},
                   Decimal(data["oversold"]),
                   tuple(Oversold(o, s, Decimal(u)) for o, s, u in data["orders"]))


NO_DEMAND = Demand({})


def oversold_by(atp_before: Decimal, quantity: Decimal) -> Decimal:
    """The units of an accepted order line beyond what was available to promise just
    before it (none of them when ATP was still enough; all when it was 0 or below)."""
    return max(ZERO, quantity - max(ZERO, atp_before))


def ordered(demand: Demand, at: datetime, units: Decimal, oversold: Decimal,
            order_id: str, store: str) -> Demand:
    """The demand after ``units`` more were ordered at ``at`` (``oversold`` of them
    beyond ATP); buckets older than the longest window from ``at`` are dropped."""
    minute = minute_of(at)
    minutes = {m: u for m, u in demand.minutes.items() if m > minute_of(
        at - timedelta(minutes=KEPT_MINUTES))}
    minutes[minute] = minutes.get(minute, ZERO) + units
    if oversold <= 0:
        return replace(demand, minutes=minutes)
    orders = (*demand.orders, Oversold(order_id, store, oversold))[-KEPT_ORDERS:]
    return Demand(minutes, demand.oversold + oversold, orders)


def recent(demand: Demand, now: datetime, minutes: int) -> Decimal:
    """Units ordered in the last ``minutes`` minutes (whole buckets: the current minute
    and the ``minutes - 1`` before it)."""
    since = minute_of(now - timedelta(minutes=minutes - 1))
    return sum((u for m, u in demand.minutes.items() if m >= since), ZERO)


def series(demand: Demand, now: datetime) -> list[Decimal]:
    """Units per minute for the last KEPT_MINUTES minutes, oldest first (a sparkline)."""
    return [demand.minutes.get(minute_of(now - timedelta(minutes=n)), ZERO)
            for n in range(KEPT_MINUTES - 1, -1, -1)]

"""The reservation check at checkout: does a cart's line fit what woosync can promise,
and the short-lived provisional holds a check may take. Pure; ``now`` is passed in.

Consumes a SKU's row (tables.inventory.SkuState) with the asking store's channel and
policy, the provisional holds already taken on that SKU, and one cart line; produces
the answer for the line: the units available to this cart (ATP less the other carts'
provisional holds, floored at 0) and whether the line fits.

``ProvisionalHolds`` keeps the provisional holds of the SKUs a worker owns, by SKU and
by order (``woo:<store>:<id>``, or the check's own id for a cart without an order yet):
one expires after its time to live, or is settled when the order's own hold arrives
(the availability agent applies the HoldSet, so the units are counted there instead).
They reduce what later checks see, never what is published to the stores: a store
shows ATP, and a cart that got a provisional hold is already inside it. They live in
the owner's memory, not in a table: they last seconds, and a worker that loses its
partitions loses them, which costs at most one cart's over-promise for that long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tables.inventory import ZERO, Channel, Policy, SkuState, atp


@dataclass(frozen=True)
class Provisional:
    store: str
    quantity: Decimal
    expires_at: datetime


@dataclass(frozen=True)
class LineAnswer:
    sku: str
    quantity: Decimal
    available: int | None  # None: the SKU was never read from the ERP
    fits: bool

    def to_json(self) -> dict[str, object]:
        return {"sku": self.sku, "quantity": str(self.quantity), "available": self.available,
                "fits": self.fits}


class ProvisionalHolds:
    def __init__(self) -> None:
        self.by_sku: dict[str, dict[str, Provisional]] = {}

    def units(self, sku: str, now: datetime, excluding: str | None = None) -> Decimal:
        """Units provisionally held on ``sku`` by other carts than ``excluding`` (the
        expired ones are dropped on the way)."""
        held = self.by_sku.get(sku)
        if not held:
            return ZERO
        for key in [k for k, p in held.items() if p.expires_at <= now]:
            del held[key]
        return sum((p.quantity for k, p in held.items() if k != excluding), ZERO)

    def hold(self, sku: str, key: str, provisional: Provisional) -> None:
        self.by_sku.setdefault(sku, {})[key] = provisional

    def settle(self, sku: str, key: str) -> bool:
        """The order's own hold arrived, or the cart let go: its provisional hold ends."""
        held = self.by_sku.get(sku)
        if not held:
            return False
        return held.pop(key, None) is not None

    def count(self) -> int:
        return sum(len(h) for h in self.by_sku.values())


def answer(state: SkuState, channel: Channel, policy: Policy, others: Decimal,
           quantity: Decimal) -> LineAnswer:
    """One cart line against the SKU's ATP for the asking store, less what other carts
    hold provisionally."""
    if state.read_at is None:
        return LineAnswer(state.sku, quantity, None, False)
    available = max(0, math.floor(atp(state, channel, policy) - others))
    return LineAnswer(state.sku, quantity, available, quantity <= available)

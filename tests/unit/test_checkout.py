"""The reservation check's rules: a line fits within ATP less the other carts'
provisional holds; a cart's own hold does not count against it; holds expire and are
settled by the order's own hold; a SKU never read fits nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tables.checkout import Provisional, ProvisionalHolds, answer
from tables.inventory import Channel, Policy, SkuState, apply_stock

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CHANNEL = Channel("s", ("WH",), "HOT-01")
POLICY = Policy(safety_stock=Decimal(1))


def _state(forecast: int) -> SkuState:
    return apply_stock(SkuState("HOT-01"), {"read_at": NOW - timedelta(minutes=1),
                                            "warehouses": [{"warehouse": "WH",
                                                            "on_hand": Decimal(forecast),
                                                            "forecast": Decimal(forecast)}]})


def test_a_line_fits_within_atp_less_other_carts_holds() -> None:
    holds = ProvisionalHolds()
    state = _state(6)  # ATP 5 (safety 1)
    first = answer(state, CHANNEL, POLICY, holds.units("HOT-01", NOW), Decimal(3))
    assert (first.available, first.fits) == (5, True)
    holds.hold("HOT-01", "woo:s:1", Provisional("s", Decimal(3), NOW + timedelta(seconds=60)))
    second = answer(state, CHANNEL, POLICY, holds.units("HOT-01", NOW, excluding="woo:s:2"),
                    Decimal(3))
    assert (second.available, second.fits) == (2, False)
    # The same cart asking again is not held back by its own hold.
    again = answer(state, CHANNEL, POLICY, holds.units("HOT-01", NOW, excluding="woo:s:1"),
                   Decimal(3))
    assert again.fits


def test_holds_expire_or_are_settled_by_the_order() -> None:
    holds = ProvisionalHolds()
    holds.hold("HOT-01", "woo:s:1", Provisional("s", Decimal(2), NOW + timedelta(seconds=30)))
    holds.hold("HOT-01", "woo:s:2", Provisional("s", Decimal(1), NOW + timedelta(seconds=90)))
    assert holds.units("HOT-01", NOW) == 3
    assert holds.units("HOT-01", NOW + timedelta(seconds=31)) == 1 and holds.count() == 1
    assert holds.settle("HOT-01", "woo:s:2") and not holds.settle("HOT-01", "woo:s:2")
    assert holds.units("HOT-01", NOW) == 0 and not holds.settle("NONE", "x")


def test_a_sku_never_read_fits_nothing() -> None:
    out = answer(SkuState("NEW"), CHANNEL, POLICY, Decimal(0), Decimal(1))
    assert (out.available, out.fits) == (None, False)
    assert answer(_state(0), CHANNEL, POLICY, Decimal(0), Decimal(1)).available == 0

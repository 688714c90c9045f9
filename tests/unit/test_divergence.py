"""Divergence windows: a disagreement opens a window only past its grace period, once
per episode; changes while open update it; agreement closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tables.divergence import OPEN, SUSPECT, Rule, Sides, agree, observe, tick

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULE = Rule(tolerance=Decimal(1), grace=timedelta(seconds=60))


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_disagreement_shorter_than_the_grace_period_opens_nothing() -> None:
    window, changes = observe(None, "stock", "demo:MUG", False, Sides("5", "9"), T0, RULE)
    assert window is not None and window.state == SUSPECT and changes == []
    window, changes = observe(window, "stock", "demo:MUG", False, Sides("5", "8"), _at(30),
                              RULE)
    assert changes == []
    window, changes = observe(window, "stock", "demo:MUG", True, Sides("8", "8"), _at(50),
                              RULE)
    assert window is None and changes == []  # in flight, not a divergence


def test_a_lasting_disagreement_opens_once_updates_and_closes() -> None:
    window, _ = observe(None, "stock", "demo:MUG", False, Sides("5", "9"), T0, RULE)
    window, changes = tick(window, _at(61), RULE)
    assert window is not None and window.state == OPEN
    assert [c.name for c in changes] == ["DivergenceOpened"]
    assert window.window_id == f"stock|demo:MUG|{T0.isoformat()}"
    assert tick(window, _at(120), RULE)[1] == []  # opens once
    window, changes = observe(window, "stock", "demo:MUG", False, Sides("5", "9"), _at(90),
                              RULE)
    assert changes == []  # nothing new
    window, changes = observe(window, "stock", "demo:MUG", False, Sides("4", "9"), _at(95),
                              RULE)
    assert [c.name for c in changes] == ["DivergenceUpdated"]
    window, changes = observe(window, "stock", "demo:MUG", True, Sides("9", "9"), _at(99),
                              RULE)
    assert window is None
    assert [(c.name, c.closed_at) for c in changes] == [("DivergenceClosed",
                                                        _at(99).isoformat())]


def test_an_observation_past_the_grace_period_opens_without_a_tick() -> None:
    window, _ = observe(None, "sale", "woo:demo:7", False, Sides("processing", "none"), T0,
                        RULE)
    window, changes = observe(window, "sale", "woo:demo:7", False,
                              Sides("processing", "none"), _at(75), RULE)
    assert [c.name for c in changes] == ["DivergenceOpened"]


def test_numbers_agree_within_the_tolerance() -> None:
    assert agree(Decimal("10.00"), Decimal("10.90"), RULE)
    assert not agree(Decimal("10.00"), Decimal("11.01"), RULE)
    assert agree("processing", "processing", RULE) and not agree("a", "b", RULE)


def test_a_silent_erp_feed_disagrees_with_the_same_sides_until_it_polls_again() -> None:
    from tables.stock_divergence import feed_fact

    row = {"polled_at": "2026-12-01T10:00:00+00:00"}
    silent = feed_fact(row, stale=True)
    assert (silent.kind, silent.subject, silent.agreeing) == ("feed", "erp-feed", False)
    assert feed_fact(row, stale=True) == silent  # no update on every tick
    assert "down or unreachable" in silent.sides.cause
    assert silent.since == row["polled_at"]  # the silence began at the last poll
    assert feed_fact({"polled_at": "2026-12-01T10:05:00+00:00"}, stale=False).agreeing


def test_a_store_raising_its_own_stock_is_corrected_once_the_publication_settled() -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from tables.divergence import Fact, Sides
    from tables.inventory import Published, SkuState
    from tables.stock_divergence import raised_by_store

    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    state = SkuState("MUG", published={"demo": Published(10, "instock", False,
                                                         at.isoformat())})

    def fact(shown: int) -> Fact:
        return Fact("stock", "MUG|demo", True, Sides("", ""), Decimal(shown), Decimal(10))
    later = at + timedelta(seconds=6)
    assert raised_by_store(state, fact(11), later)  # a restock on refund, say
    assert not raised_by_store(state, fact(9), later)  # lower: its own sale, in flight
    assert not raised_by_store(state, fact(11), at + timedelta(seconds=1))  # in flight

"""Settled rows removed after the replay horizon, and the guard: a replay of what a
partition removed is dropped, while new inputs are applied as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents import availability
from devstack import samples
from streams.envelope import deterministic_id, envelope
from tables.inventory import SkuState, settled_since
from tables.registry import HOLD_LINES, INVENTORY, hold_row
from tests.agents.conftest import Harness

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=30)


def _hold(kind: str, order: str, quantity: int, version: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "envelope": envelope(event_id=deterministic_id(kind, order, version), occurred_at=version,
                             observed_at=version, source="woosync", source_version="v",
                             trace_id="t"),
        "sku": "MUG", "order_id": order, "line_id": "1", "store": "demo",
        "order_version": version}
    if kind == "HoldSet":
        body["quantity"] = Decimal(quantity)
    else:
        body["reason"] = "cancelled"
    return body


async def test_a_released_hold_is_pruned_and_its_replay_dropped(make_harness: Any) -> None:
    # One partition: test_context puts every event on partition 0.
    h: Harness = await make_harness([availability.AGENT], inventory_batch_seconds=0.01,
                                    partitions=1)
    holds, table = h.runtime.table(HOLD_LINES), h.runtime.table(INVENTORY)
    old_set, old_release = _hold("HoldSet", "woo:demo:1", 3, OLD), _hold(
        "HoldReleased", "woo:demo:1", 0, OLD + timedelta(minutes=1))
    open_now = _hold("HoldSet", "woo:demo:2", 2, NOW)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved",
                                 samples.stock_level_observed("MUG", NOW, Decimal(10))),
                        key=b"MUG")
        for body in (old_set, old_release, open_now):
            name = "woosync.HoldSet" if "quantity" in body else "woosync.HoldReleased"
            await agent.put(h.encode(name, body), key=b"MUG")
        await h.until(lambda: holds.get(hold_row("MUG", "woo:demo:2|1")))
        assert holds.get(hold_row("MUG", "woo:demo:1|1"))  # the zero row, kept for now

        partitions = set(h.runtime.handles["availability"])
        removed = await availability._prune(h.runtime, table, holds, partitions)
        assert removed == 1
        assert not holds.get(hold_row("MUG", "woo:demo:1|1"))
        # The removal took the path the row's writes take (streams.table_rows): its
        # tombstone is the row's last changelog record, after the writes it follows.
        records = [value for _, key, value, _ in h.changelog
                   if key == hold_row("MUG", "woo:demo:1|1")]
        assert records[-1] is None and len(records) >= 2
        assert holds.get(hold_row("MUG", "woo:demo:2|1"))  # still open: kept

        # The old HoldSet replayed: the row is gone, and the guard keeps it gone.
        await agent.put(h.encode("woosync.HoldSet", old_set), key=b"MUG")
        fresh = _hold("HoldSet", "woo:demo:3", 1, NOW)
        await agent.put(h.encode("woosync.HoldSet", fresh), key=b"MUG")
        await h.until(lambda: holds.get(hold_row("MUG", "woo:demo:3|1")))
    assert not holds.get(hold_row("MUG", "woo:demo:1|1"))
    state = SkuState.from_json("MUG", table.get(b"MUG"))
    assert state.open == {"demo": Decimal(3)}  # orders 2 and 3; not the replayed order 1
    dropped = h.runtime.metrics.replays_dropped.labels("availability")._value.get()
    assert dropped == 1
    # Every input went through a batch, each batch counted with its size.
    sizes = h.runtime.metrics.registry.get_sample_value(
        "woosync_batch_events_sum", {"stage": "availability"})
    assert sizes == 6


def test_a_hold_is_settled_once_released_or_converted_and_read() -> None:
    from tables.inventory import Hold

    state = SkuState("MUG")
    assert settled_since(state, "o|1", Hold(Decimal(2), "demo", "v1")) is None
    assert settled_since(state, "o|1", Hold(Decimal(0), "demo", "v2")) == "v2"
    converting = SkuState("MUG", converting={"o|1": (Decimal(2), "c1", "demo")})
    assert settled_since(converting, "o|1", Hold(Decimal(2), "demo", "v1", "c1")) is None
    assert settled_since(state, "o|1", Hold(Decimal(2), "demo", "a", "c1")) == "c1"

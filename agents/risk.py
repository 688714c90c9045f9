"""The oversell risk judge (a timer on every worker; no agent of its own).

Consumes the ``inventory`` table (rows written by the availability agent: levels, holds'
sums, published and shown stock, recent demand) for the SKUs of this worker's
partitions: each interval, those the availability agent changed since the last run
(``Runtime.touch``) and those with demand in the last 15 minutes (their velocity decays
with time alone); after a rebalance, every SKU of the partitions it now holds. Produces
``SkuRisk`` on the compacted ``inventory.risk`` (tables.risk.assess; only when a SKU's
record changed), which every worker reads whole to answer ``/risk`` and the dashboard,
and the gauge of this worker's SKUs by level. The oversold units are counted where they
happen, by the availability agent (``woosync_oversold_units``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from streams import topics
from streams.envelope import Cause, deterministic_id, trace_for, utcnow
from streams.inventory_config import channels, partition_of, policy
from streams.runtime import AgentSpec, Runtime
from tables.inventory import SkuState
from tables.registry import INVENTORY, is_feed_key
from tables.risk import LEVELS, assess

YIELD_EVERY = 500  # SKUs judged between two yields to the event loop


class RiskJudge:
    """What the timer remembers between runs: not state (all of it can be rebuilt from
    the table), only what saves work: the SKUs with recent demand, what was last sent
    for each SKU, and each SKU's level for the gauge."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.table = runtime.table(INVENTORY)
        self.assigned: set[int] | None = None
        self.active: set[str] = set()
        self.sent: dict[str, int] = {}
        self.levels: dict[str, str] = {}

    def _assigned(self) -> set[int]:
        return {tp.partition for tp in self.runtime.app.consumer.assignment()
                if tp.topic == topics.ERP_STOCK.name}

    async def run(self, partitions: set[int] | None = None) -> None:
        """Judge what changed or is moving (``partitions``: this worker's, when not
        the consumer's assignment)."""
        settings = self.runtime.settings
        assigned = self._assigned() if partitions is None else partitions
        todo = self.runtime.take_touched(INVENTORY) | self.active
        if assigned != self.assigned:
            # Taken over or given away partitions: start again from their rows.
            self.assigned, self.active, self.sent, self.levels = assigned, set(), {}, {}
            todo = {raw.decode() for raw in list(self.table.keys()) if not is_feed_key(raw)}
        now = utcnow()
        for n, sku in enumerate(sorted(todo)):
            if n and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if partition_of(sku.encode(), settings.partitions) not in assigned:
                continue
            state = SkuState.from_json(sku, self.table.get(sku.encode()))
            if state.read_at is None:
                continue
            risk = assess(state, channels(settings, sku), policy(settings, sku), now,
                          settings.risk_minutes)
            (self.active.add if risk.velocity[15] > 0 else self.active.discard)(sku)
            if risk.level == "none":
                self.levels.pop(sku, None)
            else:
                self.levels[sku] = risk.level
            record = risk.to_record()
            digest = hash(repr(record))
            if self.sent.get(sku) == digest:
                continue
            await self._send(sku, record, now)
            self.sent[sku] = digest
        for level in LEVELS[:-1]:
            self.runtime.metrics.risk_skus.labels(level).set(
                sum(1 for lv in self.levels.values() if lv == level))

    async def _send(self, sku: str, record: dict[str, Any], now: Any) -> None:
        cause = Cause(deterministic_id("risk", sku, now.isoformat()), now, now.isoformat(),
                      trace_for(f"sku:{sku}"))
        await self.runtime.emit(topics.INVENTORY_RISK, sku, "woosync.SkuRisk", record, cause,
                                sku)


def register(runtime: Runtime) -> None:
    judge = RiskJudge(runtime)

    @runtime.timer(runtime.settings.risk_interval_seconds, "judge_risk")
    async def judge_risk() -> None:
        await judge.run()


AGENT = AgentSpec("risk", register, reads=(INVENTORY,))

"""Metrics read when Prometheus scrapes, and the table sizes counted on a timer.

Consumes the worker's consumer (its assignment, the highwater of each partition it last
fetched and the offset its streams last read, both kept by Faust: no broker request at
scrape time) and the ``inventory`` table's feed rows; produces, on ``/metrics``:

- ``woosync_consumer_lag{topic,partition}``: records in a partition not yet read by this
  worker's agents (woosync's topics only, not the tables' changelogs);
- ``woosync_erp_feed_age_seconds{partition}``: seconds since the ERP feed's last
  heartbeat reached that partition (the feed's freshness; large while the ERP is down);

and, every minute, ``woosync_table_rows{table}``: each table's rows on this worker
(counted on a timer, with yields, since a RocksDB table has no cheap length).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams import topics
from streams.envelope import utcnow
from streams.runtime import Runtime
from tables.registry import INVENTORY, feed_key

log = logging.getLogger(__name__)
ROWS_EVERY = 60.0  # seconds between two counts of the tables' rows
YIELD_EVERY = 5000


class ConsumerLag(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.names = {spec.name for spec in topics.ALL}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily("woosync_consumer_lag", "Records of a partition not yet"
                                " read by this worker's agents", labels=["topic", "partition"])
        age = GaugeMetricFamily("woosync_erp_feed_age_seconds", "Seconds since the ERP"
                                " feed's last heartbeat reached a partition",
                                labels=["partition"])
        for tp, behind in sorted(self._lags().items()):
            lag.add_metric([tp[0], str(tp[1])], behind)
        for partition, seconds in sorted(self._feed_ages().items()):
            age.add_metric([str(partition)], seconds)
        yield lag
        yield age

    def _assignment(self) -> set[Any]:
        try:
            return set(self.runtime.app.consumer.assignment())
        except Exception:  # no consumer yet (starting, or stopped)
            return set()

    def _lags(self) -> dict[tuple[str, int], float]:
        consumer = self.runtime.app.consumer
        read = getattr(consumer, "_read_offset", {})  # Faust's: the last offset read
        out = {}
        for tp in self._assignment():
            if tp.topic not in self.names:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:
                continue
            if highwater is None:
                continue
            last = read.get(tp)
            out[(tp.topic, tp.partition)] = float(max(0, highwater - (last + 1 if last
                                                                      is not None else 0)))
        return out

    def _feed_ages(self) -> dict[int, float]:
        if INVENTORY.name not in self.runtime.declared():
            return {}  # the availability agent does not run here
        table = self.runtime.table(INVENTORY)
        now = utcnow()
        out = {}
        for tp in self._assignment():
            if tp.topic != topics.ERP_STOCK.name:
                continue
            polled = (table.get(feed_key(tp.partition)) or {}).get("polled_at")
            if polled:
                out[tp.partition] = (now - datetime.fromisoformat(polled)).total_seconds()
        return out


async def count_rows(runtime: Runtime) -> None:
    in_memory = runtime.settings.table_store.startswith("memory")
    for name, table in runtime.declared().items():
        if in_memory:
            rows = len(table)  # a dict: its length is kept
        else:
            # RocksDB's iterator reads a snapshot, so agents may write between yields.
            rows = 0
            for _ in table:
                rows += 1
                if rows % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        runtime.metrics.table_rows.labels(name).set(rows)


def register(runtime: Runtime) -> None:
    runtime.metrics.registry.register(ConsumerLag(runtime))

    @runtime.timer(ROWS_EVERY, "count_table_rows")
    async def count_table_rows() -> None:
        await count_rows(runtime)

"""The ERP change feed, in two steps.

poll_erp (a timer that runs only on the worker leading the group, so once per
cluster): asks the ERP adapter what changed since the cursors, writes each raw record to
``erp.raw`` (key ``<model>:<id>``), then the new cursors to ``feed.cursors``, then a
heartbeat (ErpFeedPolled) to every partition of ``erp.stock`` so that each inventory
partition knows how fresh the feed is. When the ERP cannot be reached, no heartbeat is
written: staleness then shows downstream.

normalize_erp_records: reads ``erp.raw`` and publishes the canonical events the
adapter's pure normalizer makes of each record (erp.documents, erp.catalog, erp.stock);
a record it cannot make sense of goes to ``dlq``. No tables.
"""

from __future__ import annotations

import logging
from typing import Any

from streams import topics
from streams.cursors import LeaderCursors
from streams.envelope import deterministic_id, envelope
from streams.erp.adapter import ErpUnavailable
from streams.runtime import Runtime

log = logging.getLogger("woosync.erp_feed")


def register(runtime: Runtime) -> None:
    adapter = runtime.erp
    if adapter is None:
        return
    settings = runtime.settings
    feed = f"erp:{adapter.name}"
    cursors = LeaderCursors(settings, runtime.codec, f"{feed}:", settings.erp_poll_interval)

    @runtime.timer(settings.erp_poll_interval, "poll_erp", feed, on_leader=True)
    async def poll_erp() -> None:
        current = await cursors.current()
        try:
            batch = await adapter.read_changes(current)
        except ErpUnavailable as exc:
            runtime.metrics.feed_polls.labels(feed, "unavailable").inc()
            log.warning("ERP change feed: %s", exc)
            return
        for record in batch.records:
            await runtime.send(topics.ERP_RAW, f"{record.model}:{record.record_id}",
                               "woosync.ErpRecord", {
                "envelope": envelope(
                    event_id=deterministic_id(feed, record.model, record.record_id,
                                              record.body),
                    occurred_at=record.read_at, observed_at=record.read_at, source=feed,
                    source_version=record.read_at.isoformat(),
                    trace_id=deterministic_id("trace", record.model, record.record_id)),
                "model": record.model, "record_id": record.record_id, "body": record.body,
                "read_at": record.read_at})
        for model, cursor in batch.cursors.items():
            if current.get(model) != cursor:
                await runtime.send(topics.FEED_CURSORS, f"{feed}:{model}", "woosync.FeedCursor", {
                    "envelope": envelope(
                        event_id=deterministic_id(feed, model, cursor),
                        occurred_at=batch.polled_at, observed_at=batch.polled_at,
                        source=feed, source_version=cursor,
                        trace_id=deterministic_id("trace", feed, model)),
                    "feed": f"{feed}:{model}", "cursor": cursor})
        cursors.values = dict(batch.cursors)
        for partition in range(settings.partitions):
            await runtime.send(topics.ERP_STOCK, f"{feed}:heartbeat", "woosync.ErpFeedPolled", {
                "envelope": envelope(
                    event_id=deterministic_id(feed, "polled", batch.polled_at.isoformat(),
                                              partition),
                    occurred_at=batch.polled_at, observed_at=batch.polled_at, source=feed,
                    source_version=batch.polled_at.isoformat(),
                    trace_id=deterministic_id("trace", feed, "heartbeat")),
                "feed": feed, "polled_at": batch.polled_at, "partition": partition},
                partition=partition)
        runtime.metrics.feed_polls.labels(feed, "ok").inc()

    @runtime.app.agent(runtime.topics[topics.ERP_RAW], name="normalize_erp_records")
    async def normalize_erp_records(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "erp-normalize"):
            raw = inbound.message.body
            try:
                outputs = adapter.normalize(raw["model"], raw["record_id"], raw["body"],
                                            raw["read_at"])
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                await runtime.dead_letter(inbound.event, "erp-normalize",
                                          f"{type(exc).__name__}: {exc}")
                continue
            for out in outputs:
                await runtime.send(out.topic, out.key, out.name, out.body)

"""The ERP change feed, in two steps.

poll_erp (a timer that runs only on the worker leading the group, so once per
cluster): asks the ERP adapter what changed since the cursors, writes each raw record to
``erp.raw`` (key ``<model>:<id>``), then the new cursors to ``feed.cursors``, then a
heartbeat record to every partition of ``erp.raw``; only then does the adapter remember
the records as seen (a poll that fails half way is read again whole). When the ERP
cannot be reached, no heartbeat is written: staleness then shows downstream.

normalize_erp_records: reads ``erp.raw`` and publishes the canonical events the
adapter's pure normalizer makes of each record (erp.documents, erp.catalog, erp.stock);
a record it cannot make sense of goes to ``dlq``. A heartbeat record becomes an
ErpFeedPolled on the same partition of ``erp.stock``, after the records before it on its
partition: the heartbeat says the changes were normalized, not merely read, so a
normalizer that stops makes the inventory stale. No tables.
"""

from __future__ import annotations

import logging
from typing import Any

from streams import topics
from streams.cursors import LeaderCursors
from streams.envelope import Cause
from streams.erp.adapter import ChangeBatch, ErpUnavailable
from streams.runtime import AgentSpec, Inbound, Runtime

log = logging.getLogger("woosync.erp_feed")
HEARTBEAT = "woosync.heartbeat"


def register(runtime: Runtime) -> None:
    adapter = runtime.erp
    if adapter is None:
        return
    settings = runtime.settings
    feed = f"erp:{adapter.name}"
    cursors = LeaderCursors(settings, runtime.codec, f"{feed}:", settings.erp_poll_interval)

    @runtime.timer(settings.erp_poll_interval, "poll_erp", on_leader=True)
    async def poll_erp() -> None:
        current = await cursors.current()
        try:
            batch = await adapter.read_changes(current)
        except ErpUnavailable as exc:
            runtime.metrics.feed_polls.labels(feed, "unavailable").inc()
            log.warning("ERP change feed: %s", exc)
            return
        await _publish(runtime, feed, batch, current)
        adapter.acknowledge(batch)
        cursors.values = dict(batch.cursors)
        runtime.metrics.feed_polls.labels(feed, "ok").inc()

    async def handle(inbound: Inbound) -> None:
        raw = inbound.body
        if raw["model"] == HEARTBEAT:
            partition = int(raw["record_id"])
            await runtime.emit(topics.ERP_STOCK, f"{feed}:heartbeat", "woosync.ErpFeedPolled",
                               {"feed": feed, "polled_at": raw["read_at"],
                                "partition": partition}, inbound.cause,
                               partition=partition)
            return
        for out in adapter.normalize(raw["model"], raw["record_id"], raw["body"],
                                     raw["read_at"]):
            await runtime.send(out.topic, out.key, out.name, out.body)

    @runtime.app.agent(runtime.topics[topics.ERP_RAW], name="normalize_erp_records")
    async def normalize_erp_records(stream: Any) -> None:
        await runtime.each(stream, "erp-normalize", handle)


async def _publish(runtime: Runtime, feed: str, batch: ChangeBatch,
                   current: dict[str, str]) -> None:
    """Records, then cursors, then heartbeats: a cursor never runs ahead of its records."""
    for record in batch.records:
        subject = f"{record.model}:{record.record_id}"
        cause = Cause.observed(subject, record.body, occurred_at=record.read_at, source=feed,
                               source_version=record.read_at.isoformat(),
                               trace_subject=subject)
        await runtime.emit(topics.ERP_RAW, subject, "woosync.ErpRecord", {
            "model": record.model, "record_id": record.record_id, "body": record.body,
            "read_at": record.read_at}, cause)
    polled = batch.polled_at.isoformat()
    for model, cursor in batch.cursors.items():
        if current.get(model) != cursor:
            name = f"{feed}:{model}"
            cause = Cause.observed(model, cursor, occurred_at=batch.polled_at, source=feed,
                                   source_version=cursor, trace_subject=name)
            await runtime.emit(topics.FEED_CURSORS, name, "woosync.FeedCursor",
                               {"feed": name, "cursor": cursor}, cause)
    beat = Cause.observed("polled", polled, occurred_at=batch.polled_at, source=feed,
                          source_version=polled, trace_subject=f"{feed}:heartbeat")
    for partition in range(runtime.settings.partitions):
        await runtime.emit(topics.ERP_RAW, f"{feed}:heartbeat", "woosync.ErpRecord", {
            "model": HEARTBEAT, "record_id": str(partition), "body": b"",
            "read_at": batch.polled_at}, beat, partition, partition=partition)


AGENT = AgentSpec("erp_feed", register)

"""normalize_woo_deliveries: reads ``woo.raw`` (webhook deliveries and poll snapshots)
and publishes what each means (streams.woo.reading): OrderObserved and RefundObserved on
``commerce.orders``, StorefrontProductObserved on ``commerce.products``.

Table WOO_VERSIONS (key ``<store>:<resource>:<id>``, co-partitioned with ``woo.raw``):
the last snapshot version seen of each resource, so that stale, duplicated and
coalesced deliveries publish nothing new. Invalid input goes to ``dlq`` (stage
woo-normalize), and so does a delivery whose re-read from the store keeps failing
(stage woo-refetch); the agent carries on.

Timer ``prune_woo_versions``: an order's version row not modified for longer than the
replay horizon is removed; a snapshot older than what its partition removed, of a
resource with no row, is dropped (streams.retention).
"""

from __future__ import annotations

from typing import Any

from streams import retention, topics
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.woo.client import WooError
from streams.woo.reading import REFETCH_ATTEMPTS, read_delivery
from tables.registry import WOO_VERSIONS
from tables.snapshots import Seen, prunable


def register(runtime: Runtime) -> None:
    stores = runtime.stores
    assert stores is not None
    versions = runtime.table(WOO_VERSIONS)

    async def handle(inbound: Inbound) -> None:
        delivery = inbound.body
        if delivery["store"] not in runtime.settings.stores:
            raise ValueError(f"unknown store {delivery['store']!r}")
        seen = Seen.from_json(versions.get(inbound.key))
        try:
            reading = await read_delivery(stores[delivery["store"]], delivery, seen)
        except WooError as exc:
            await runtime.dead_letter(inbound.event, "woo-refetch", str(exc),
                                      attempts=REFETCH_ATTEMPTS)
            return
        if seen is None and reading.seen is not None and retention.forgotten(
                versions, inbound.partition, False, reading.seen.modified):
            # A snapshot older than the versions this partition removed: history.
            runtime.metrics.replays_dropped.labels("woo-normalize").inc()
            return
        for spec, key, name, body in reading.messages:
            await runtime.send(spec, key, name, body)
        if reading.seen is not None:
            versions[inbound.key] = reading.seen.to_json()

    @runtime.app.agent(runtime.topics[topics.WOO_RAW], name="normalize_woo_deliveries")
    async def normalize_woo_deliveries(stream: Any) -> None:
        await runtime.each(stream, "woo-normalize", handle)

    if runtime.settings.prune_interval_seconds > 0:
        @runtime.timer(runtime.settings.prune_interval_seconds, "prune_woo_versions")
        async def prune_woo_versions() -> None:
            await retention.prune(
                runtime, versions, WOO_VERSIONS.name, "woo-normalize", topics.WOO_RAW.name,
                lambda key, value, cutoff: prunable(key, Seen.from_json(value), cutoff))


AGENT = AgentSpec("woo_normalize", register, reads=(WOO_VERSIONS,))

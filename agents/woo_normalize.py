"""normalize_woo_deliveries: reads ``woo.raw`` (webhook deliveries and poll snapshots)
and publishes what each means (streams.woo.reading): OrderObserved and RefundObserved on
``commerce.orders``, StorefrontProductObserved on ``commerce.products``.

Table WOO_VERSIONS (key ``<store>:<resource>:<id>``, co-partitioned with ``woo.raw``):
the last snapshot version seen of each resource, so that stale, duplicated and
coalesced deliveries publish nothing new. Invalid input goes to ``dlq`` (stage
woo-normalize), and so does a delivery whose re-read from the store keeps failing
(stage woo-refetch); the agent carries on.
"""

from __future__ import annotations

from typing import Any

from streams import topics
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.woo.client import WooError
from streams.woo.reading import REFETCH_ATTEMPTS, read_delivery
from tables.registry import WOO_VERSIONS
from tables.snapshots import Seen


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
        for spec, key, name, body in reading.messages:
            await runtime.send(spec, key, name, body)
        if reading.seen is not None:
            versions[inbound.key] = reading.seen.to_json()

    @runtime.app.agent(runtime.topics[topics.WOO_RAW], name="normalize_woo_deliveries")
    async def normalize_woo_deliveries(stream: Any) -> None:
        await runtime.each(stream, "woo-normalize", handle)


AGENT = AgentSpec("woo_normalize", register, reads=(WOO_VERSIONS,))

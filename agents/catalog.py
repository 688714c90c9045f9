"""publish_catalog: product master and prices, ERP -> stores. Reads ``erp.catalog``
(ProductObserved, keyed by ERP SKU), applies tables.catalog for every store and sends
each store the fields that changed since last sent to it: SetProduct on
``store.commands``, keyed by the store's SKU (the store sink sets them, or creates the
product where the store is configured to). Table CATALOG (key: ERP SKU): the product's
last version, what the row keeps of it, and the fields last sent to each store.

Timer ``refresh_catalog`` judges this worker's products again every
``catalog_refresh_seconds``: a store gets the next scheduled sale once one has ended,
and a store added to the settings gets every product.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams import topics
from streams.envelope import Cause, deterministic_id, utcnow
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.settings import Settings
from streams.table_scan import partitions_here, rows_in
from tables.catalog import CatalogRow, Change, StoreCatalog, observe, refresh
from tables.registry import CATALOG


def store_catalogs(settings: Settings, sku: str) -> list[StoreCatalog]:
    """How each store shows the ERP product ``sku``."""
    classes = tuple(sorted(settings.tax_classes.items()))
    return [StoreCatalog(store_id, store.store_sku(sku), store.price_list, classes,
                         store.create_products)
            for store_id, store in sorted(settings.stores.items())]


async def send(runtime: Runtime, sku: str, version: str, changes: list[Change],
               cause: Cause) -> None:
    for change in changes:
        await runtime.emit(topics.STORE_COMMANDS, change.store_sku, "woosync.SetProduct", {
            "command_id": deterministic_id("SetProduct", change.store, sku, version,
                                           sorted(change.fields.items())),
            "store": change.store, "sku": change.store_sku, "erp_sku": sku,
            "version": version, "create": change.create, "fields": change.fields},
            cause, change.store)


def register(runtime: Runtime) -> None:
    table = runtime.table(CATALOG)
    source = runtime.app.topic(topics.ERP_CATALOG.name, key_serializer="raw",
                               value_serializer="raw")

    async def handle(inbound: Inbound) -> None:
        key = inbound.key.encode()
        row = CatalogRow.from_json(inbound.key, table.get(key))
        new, changes = observe(row, inbound.body, store_catalogs(runtime.settings,
                                                                 inbound.key), utcnow())
        if new is row:
            return  # not newer than the version applied
        await send(runtime, inbound.key, new.version or "", changes, inbound.cause)
        table[key] = new.to_json()

    @runtime.app.agent(source, name="publish_catalog")
    async def publish_catalog(stream: Any) -> None:
        await runtime.each(stream, "catalog", handle, ("ProductObserved",))

    interval = runtime.settings.catalog_refresh_seconds
    if interval:
        @runtime.timer(interval, "refresh_catalog")
        async def refresh_catalog() -> None:
            await refresh_all(runtime, table, utcnow())


async def refresh_all(runtime: Runtime, table: Any, now: datetime,
                      partitions: set[int] | None = None) -> int:
    """Every product of this worker's partitions (or ``partitions``) judged again at
    ``now``; the number of commands sent."""
    sent = 0
    for partition in partitions_here(runtime, "catalog", topics.ERP_CATALOG.name, partitions):
        async for raw, key in rows_in(runtime, table, "catalog", partition):
            sku = raw.decode()
            row = CatalogRow.from_json(sku, table.get(key))
            new, changes = refresh(row, store_catalogs(runtime.settings, sku), now)
            if not changes:
                continue
            cause = Cause.observed("catalog-refresh", sku, now.isoformat(), occurred_at=now,
                                   source="woosync", source_version=now.isoformat(),
                                   trace_subject=sku)
            await send(runtime, sku, new.version or "", changes, cause)
            table[key] = new.to_json()
            sent += len(changes)
    return sent


AGENT = AgentSpec("catalog", register, reads=(CATALOG,))

"""publish_catalog: product master and prices, ERP -> stores. Reads ``erp.catalog``
(ProductObserved, keyed by ERP SKU), applies tables.catalog for every store and sends
each store the fields that changed since last sent to it: SetProduct on
``store.commands``, keyed by the store's SKU (the store sink sets them, or creates the
product where the store is configured to). Table CATALOG (key: ERP SKU): the product's
last version, what the row keeps of it, and the fields last sent to each store.

Edits against the grain: it also reads ``commerce.products`` (StorefrontProductObserved,
a store's own snapshot of a product) and judges the store's name, sale price and status
against what was sent to it: a ``product`` divergence window (table CATALOG_WINDOWS,
timer ``tick_catalog_windows``) opens after its SLA, and healing (``divergence_heal``)
sends the ERP's values of the fields in ``store_edits_overwrite`` again.

Timer ``refresh_catalog`` judges this worker's products again every
``catalog_refresh_seconds``: a store gets the next scheduled sale once one has ended,
and a store added to the settings gets every product.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams import divergence, topics
from streams.envelope import Cause, deterministic_id, trace_for, utcnow
from streams.inventory_config import snapshot_sku
from streams.runtime import AgentSpec, Inbound, Runtime, writing_as
from streams.settings import Settings
from streams.table_scan import partitions_here, rows_in
from tables.catalog import (
    CatalogRow,
    Change,
    StoreCatalog,
    observe,
    overwrite,
    product_fact,
    refresh,
    store_edits,
)
from tables.divergence import Window
from tables.registry import CATALOG, CATALOG_WINDOWS

KINDS = ("product",)


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
            # The same on a replay of the cause; another cause (a heal) is another id.
            "command_id": deterministic_id("SetProduct", change.store, sku, version,
                                           sorted(change.fields.items()), cause.event_id),
            "store": change.store, "sku": change.store_sku, "erp_sku": sku,
            "version": version, "create": change.create, "fields": change.fields},
            cause, change.store)


def register(runtime: Runtime) -> None:
    table, windows = runtime.table(CATALOG), runtime.table(CATALOG_WINDOWS)
    source = runtime.app.topic(topics.ERP_CATALOG.name, topics.COMMERCE_PRODUCTS.name,
                               key_serializer="raw", value_serializer="raw")
    heal = _healer(runtime, table)

    async def handle(inbound: Inbound) -> None:
        if inbound.name == "StorefrontProductObserved":
            await _judge_store(runtime, table, windows, inbound, heal)
            return
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
        await runtime.each(stream, "catalog", handle,
                           ("ProductObserved", "StorefrontProductObserved"))

    @runtime.timer(runtime.settings.divergence_tick_seconds, "tick_catalog_windows")
    async def tick_catalog_windows() -> None:
        await divergence.tick_all(runtime, windows, "catalog", topics.ERP_CATALOG.name,
                                  utcnow(), heal=heal, kinds=KINDS)

    interval = runtime.settings.catalog_refresh_seconds
    if interval:
        @runtime.timer(interval, "refresh_catalog")
        async def refresh_catalog() -> None:
            await refresh_all(runtime, table, utcnow())


async def _judge_store(runtime: Runtime, table: Any, windows: Any, product: Inbound,
                       heal: divergence.Heal) -> None:
    """A store's snapshot of a product against the fields last sent to that store."""
    body = product.body
    sku = snapshot_sku(runtime.settings, body, product.partition)
    if sku is None:
        return
    edits = store_edits(CatalogRow.from_json(sku, table.get(sku.encode())), body["store"],
                        body)
    if edits is None:
        return
    writing_as(product)
    await divergence.judge(runtime, windows, [product_fact(sku, body["store"], edits)],
                           utcnow(), product.cause, heal)


def _healer(runtime: Runtime, table: Any) -> divergence.Heal:
    """Self-healing of a product window: the ERP's values of the fields settings say to
    overwrite, sent to that store again (the others stay recorded on the window)."""
    async def heal(window: Window) -> str | None:
        if window.kind != "product":
            return None
        sku, _, store = window.subject.partition("|")
        row = CatalogRow.from_json(sku, table.get(sku.encode()))
        fields = overwrite(row, store, runtime.settings.store_edits_overwrite)
        config = runtime.settings.stores.get(store)
        if not fields or config is None:
            return None
        now = utcnow()
        cause = Cause(deterministic_id("heal", window.window_id, now.isoformat()), now,
                      window.window_id, trace_for(f"sku:{sku}"))
        await send(runtime, sku, row.version or "",
                   [Change(store, config.store_sku(sku), fields, False)], cause)
        return f"set {', '.join(sorted(fields))} back to the ERP's values"
    return heal


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


AGENT = AgentSpec("catalog", register, reads=(CATALOG, CATALOG_WINDOWS))

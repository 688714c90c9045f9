"""How the inventory agent and its web pages read settings.

Consumes Settings; produces each store's Channel and the Policy for one ERP product
(tables.inventory's inputs), whether a partition's ERP feed is stale, and the partition
Kafka's default partitioner gives a key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kafka.partitioner.default import murmur2

from streams.settings import Settings
from tables.inventory import Channel, Policy, is_stale


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives a key."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def feed_polled_at(row: dict[str, Any] | None) -> datetime | None:
    """When the ERP feed last polled, from a partition's feed row (None: never seen)."""
    polled = (row or {}).get("polled_at")
    return datetime.fromisoformat(polled) if polled else None


def feed_stale(settings: Settings, row: dict[str, Any] | None, now: datetime) -> bool:
    """Whether a partition's ERP feed is stale at ``now`` (the age is the same for every
    SKU)."""
    return is_stale(feed_polled_at(row), now, policy(settings, ""))


def channels(settings: Settings, sku: str) -> list[Channel]:
    """Every store's view of one ERP product: its warehouses, its own SKU, and the
    stores whose holds do not reduce its stock (they share no warehouse with it)."""
    apart = settings.stores_apart
    return [Channel(store_id, store.warehouses, store.store_sku(sku), apart[store_id])
            for store_id, store in sorted(settings.stores.items())]


def policy(settings: Settings, sku: str) -> Policy:
    return Policy(safety_stock=settings.safety_stock.get(sku, settings.default_safety_stock),
                  stale_after=timedelta(seconds=settings.erp_stale_seconds),
                  stale_buffer=settings.stale_buffer)


def snapshot_sku(settings: Settings, snapshot: dict[str, Any], partition: int) -> str | None:
    """The ERP SKU of a store's product snapshot (StorefrontProductObserved), when its
    rows live on ``partition``; None for an unknown store, a product without SKU, or a
    mapped SKU whose rows live on another partition (not judged there)."""
    store = settings.stores.get(snapshot["store"])
    if store is None or not snapshot["sku"]:
        return None
    sku = store.erp_code(snapshot["sku"])
    return sku if partition_of(sku.encode(), settings.partitions) == partition else None

"""sweep_stores: the polling sweep that heals lost webhooks. A timer that runs only on
the worker leading the group (once per cluster): for each store, every order and
product (variations included) modified since its cursor minus an overlap, read with
``modified_after`` and ``dates_are_gmt=true``, page by page, is published to
``woo.raw`` as a poll snapshot, the same shape as a webhook delivery; the normalizer's
versions make a snapshot already seen change nothing. Each run reads the whole overlap
window again, so the leader remembers what it published there and skips a resource the
store has not changed since (same modification time and body). Cursors (the newest
``date_modified_gmt`` seen, the store's own clock) live on ``feed.cursors``.

One bad thing stops only itself: an item that cannot be published (no id) is counted
and skipped (its date still moves the cursor on, as an unreadable date does not), and a
store whose sweep fails in any way (down, or answering what cannot be read) is logged
and counted while the other stores and kinds are swept; its cursor stays, so its next
run reads the same window again.

Each run also reads every store's webhooks: ``woosync_store_webhooks{store,status}``
counts them by status, and a paused or disabled one (WooCommerce disables a webhook after
repeated failed deliveries) is logged as a warning each run until re-enabled. They are
judged as the ``webhooks`` divergence kind (tables.stock_divergence.webhooks_fact): a
store whose webhooks are not all active past that kind's SLA opens a window, closed
when they are active again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from streams import divergence, topics
from streams.cursors import LeaderCursors
from streams.envelope import Cause, utcnow
from streams.errors import reason
from streams.runtime import AgentSpec, Runtime
from streams.woo import ids
from streams.woo.client import WooError
from streams.woo.sweep import changed, modified, webhook_health
from tables.stock_divergence import webhooks_fact

log = logging.getLogger("woosync.woo_sweep")
FEED = "woo"


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    overlap = timedelta(seconds=settings.woo_sweep_overlap_seconds)
    cursors = LeaderCursors(settings, runtime.codec, f"{FEED}:", settings.woo_sweep_interval)

    # The stores' webhook windows: kept by the leader in memory (a new leader judges
    # afresh: a window still open is opened again, with a new id, after the SLA).
    windows: dict[bytes, Any] = {}
    published = Published()

    @runtime.timer(settings.woo_sweep_interval, "sweep_stores", on_leader=True)
    async def sweep_stores() -> None:
        await sweep(runtime, await cursors.current(), overlap, windows, published)


class Published:
    """What this leader's sweep last published of each resource (its modification time
    and a digest of the body), for the resources inside the overlap window: each run
    reads the whole window again, and a resource the store has not changed since is not
    published again. Memory of the leader only: a new leader publishes its first window
    once (the normalizer drops what it already saw)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str]] = {}

    @staticmethod
    def entry(moment: str | None, body: bytes) -> tuple[str, str]:
        return moment or "", hashlib.sha256(body).hexdigest()

    def unchanged(self, key: str, entry: tuple[str, str]) -> bool:
        return self.seen.get(key) == entry

    def remember(self, key: str, entry: tuple[str, str]) -> None:
        """After it was handed to the producer (a send that raises is read again next
        run, as its cursor does not move)."""
        self.seen[key] = entry

    def forget_before(self, horizon: str) -> None:
        """Drop what changed before ``horizon``: no run reads it again."""
        self.seen = {k: v for k, v in self.seen.items() if v[0] >= horizon}


async def sweep(runtime: Runtime, current: dict[str, str], overlap: timedelta,
                windows: dict[bytes, Any] | None = None,
                published: Published | None = None) -> None:
    """One run over every store and kind from the cursors in ``current`` (moved on in
    place as each store's cursor is published); the stores' webhook windows in
    ``windows``; what earlier runs published in ``published`` (skipped when unchanged)."""
    stores = runtime.stores
    assert stores is not None
    published = published if published is not None else Published()
    for store in runtime.settings.stores:
        await _check_webhooks(runtime, store, {} if windows is None else windows)
        for kind in ("orders", "products"):
            key = f"{store}:{kind}"
            name = f"{FEED}:{key}"
            newest = current.get(key)
            try:
                async for resource, item in changed(stores[store], kind, newest, overlap):
                    newest = max(newest or "", modified(item) or "") or None
                    try:
                        await _publish(runtime, store, resource, item, published)
                    except (KeyError, TypeError, ValueError) as exc:
                        runtime.metrics.feed_polls.labels(name, "bad_item").inc()
                        log.warning("sweep of %s: item skipped: %s", name, reason(exc))
            except WooError as exc:
                runtime.metrics.feed_polls.labels(name, "unavailable").inc()
                log.warning("sweep of %s: %s", name, exc)
                continue
            except Exception as exc:  # one store's answer must not stop the others
                runtime.metrics.feed_polls.labels(name, "error").inc()
                log.warning("sweep of %s failed: %s", name, reason(exc))
                continue
            runtime.metrics.feed_polls.labels(name, "ok").inc()
            if newest:
                published.forget_before(
                    (datetime.fromisoformat(newest) - 2 * overlap).isoformat())
            if newest and newest != current.get(key):
                current[key] = newest
                cause = Cause.observed(name, newest,
                                       occurred_at=datetime.fromisoformat(newest),
                                       source=f"woocommerce:{store}",
                                       source_version=newest, trace_subject=name)
                await runtime.emit(topics.FEED_CURSORS, name, "woosync.FeedCursor",
                                   {"feed": name, "cursor": newest}, cause)


async def _check_webhooks(runtime: Runtime, store: str, windows: dict[bytes, Any]
                          ) -> None:
    """Count the store's webhooks by status, warn about each one not active, and judge
    the ``webhooks`` divergence kind."""
    assert runtime.stores is not None
    try:
        health = await webhook_health(runtime.stores[store])
    except Exception as exc:  # the sweep goes on; the webhooks are read next run
        log.warning("webhooks of %s not read: %s", store, reason(exc))
        return
    for status in ("active", "paused", "disabled"):
        runtime.metrics.store_webhooks.labels(store, status).set(len(health.get(status, [])))
    for status, hooks in sorted(health.items()):
        if status != "active":
            log.warning("store %s: webhooks %s are %s: WooCommerce delivers nothing on"
                        " them (the sweep still reads every change); re-enable them in the"
                        " store", store, ", ".join(hooks), status)
    now = utcnow()
    await divergence.judge(runtime, windows, [webhooks_fact(store, health)], now,
                           Cause.observed("webhooks", store, now.isoformat(), occurred_at=now,
                                          source=f"woocommerce:{store}",
                                          source_version=now.isoformat(),
                                          trace_subject=f"webhooks:{store}"))
    opened = sum(1 for row in windows.values() if row.get("state") == "open")
    runtime.metrics.divergence_open.labels("webhooks").set(opened)


async def _publish(runtime: Runtime, store: str, resource: str, item: dict[str, Any],
                   published: Published) -> None:
    body = json.dumps(item, separators=(",", ":")).encode()
    key = ids.raw_key(store, resource, item["id"])
    entry = published.entry(modified(item), body)
    if published.unchanged(key, entry):
        runtime.metrics.feed_polls.labels(f"{FEED}:{store}", "unchanged").inc()
        return
    now = utcnow()
    cause = Cause.observed("poll", key, item.get("date_modified_gmt"), occurred_at=now,
                           source=f"woocommerce:{store}",
                           source_version=str(item.get("date_modified_gmt")),
                           trace_subject=ids.trace_subject(store, resource, item["id"]))
    await runtime.emit(topics.WOO_RAW, key, "woosync.WooDelivery", {
        "store": store, "via": "poll", "topic": None, "resource": resource,
        "resource_id": str(item["id"]), "webhook_id": None, "delivery_id": None,
        "headers": {}, "body": body, "received_at": now}, cause)
    published.remember(key, entry)


AGENT = AgentSpec("woo_sweep", register)

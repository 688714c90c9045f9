"""normalize_woo_deliveries: reads ``woo.raw`` (webhook deliveries and poll snapshots)
and publishes canonical OrderObserved and RefundObserved on ``commerce.orders`` and
StorefrontProductObserved on ``commerce.products``.

Table ``woo_versions`` (key ``<store>:<resource>:<id>``, co-partitioned with
``woo.raw``): the last snapshot version seen of each resource, by
tables.snapshots.judge. A stale or identical snapshot publishes nothing; a different
body with the same timestamp is re-read from the store's REST API, whose answer is
published. New refund ids on an order are read from ``/orders/<id>/refunds``. Invalid
input, or a re-read that keeps failing, goes to ``dlq``; the agent carries on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from streams import topics
from streams.envelope import utcnow
from streams.resilience import backoff_delay
from streams.runtime import Runtime
from streams.woo import models, normalize
from streams.woo.client import WooClient, WooError
from tables.snapshots import Seen, Verdict, judge

T = TypeVar("T")
REFETCH_ATTEMPTS = 4


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    stores = runtime.stores
    assert stores is not None
    # Keys and values in Faust's default table serialization (JSON).
    versions = runtime.app.Table("woo_versions", default=dict, partitions=settings.partitions)

    @runtime.app.agent(runtime.topics[topics.WOO_RAW], name="normalize_woo_deliveries")
    async def normalize_woo_deliveries(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "woo-normalize"):
            delivery = inbound.message.body
            if delivery["store"] not in settings.stores:
                await runtime.dead_letter(inbound.event, "woo-normalize",
                                          f"unknown store {delivery['store']!r}")
                continue
            seen = Seen.from_json(versions.get(inbound.key))
            try:
                updated = await _apply(runtime, stores[delivery["store"]], delivery, seen)
            except (ValidationError, ValueError, KeyError, TypeError) as exc:
                await runtime.dead_letter(inbound.event, "woo-normalize",
                                          f"{type(exc).__name__}: {exc}"[:2000])
                continue
            except WooError as exc:
                await runtime.dead_letter(inbound.event, "woo-refetch", str(exc),
                                          attempts=REFETCH_ATTEMPTS)
                continue
            if updated is not None:
                versions[inbound.key] = updated.to_json()


async def _apply(runtime: Runtime, client: WooClient, delivery: dict[str, Any],
                 seen: Seen | None) -> Seen | None:
    """Publish what this delivery means; return the new version state (None: unchanged)."""
    store, resource = delivery["store"], delivery["resource"]
    payload = json.loads(delivery["body"])
    now = utcnow()
    if isinstance(payload, dict) and set(payload) == {"id"}:
        return await _deleted(runtime, store, resource, models.Deleted.model_validate(payload),
                              seen, delivery)
    if resource == "order":
        order = models.Order.model_validate(payload)
        body = normalize.order_observed(store, order, now)
        verdict = judge(seen, body["modified_at"].isoformat(), normalize.digest(body))
        if verdict is Verdict.CONFLICT:
            fresh = await _retry(lambda: client.get(f"/orders/{order.id}"))
            order = models.Order.model_validate(fresh)
            body = normalize.order_observed(store, order, now)
            verdict = Verdict.NEW
        if verdict is not Verdict.NEW:
            return None
        await runtime.send(topics.COMMERCE_ORDERS, body["order_id"], "woosync.OrderObserved",
                           body)
        known = set(seen.refund_ids) if seen else set()
        if set(body["refund_ids"]) - known:
            refunds = await _retry(lambda: client.get(f"/orders/{order.id}/refunds"))
            for raw in refunds:
                refund = models.Refund.model_validate(raw)
                refund_body = normalize.refund_observed(store, order.id, refund, now)
                if refund_body["refund_id"] not in known:
                    await runtime.send(topics.COMMERCE_ORDERS, body["order_id"],
                                       "woosync.RefundObserved", refund_body)
        return Seen(body["modified_at"].isoformat(), normalize.digest(body), None,
                    tuple(sorted(set(body["refund_ids"]) | known)))
    if resource == "product":
        product = models.Product.model_validate(payload)
        body = normalize.product_observed(store, product, now)
        verdict = judge(seen, body["modified_at"].isoformat(), normalize.digest(body))
        if verdict is Verdict.CONFLICT:
            path = (f"/products/{product.parent_id}/variations/{product.id}"
                    if product.type == "variation" else f"/products/{product.id}")
            product = models.Product.model_validate(await _retry(lambda: client.get(path)))
            body = normalize.product_observed(store, product, now)
            verdict = Verdict.NEW
        if verdict is not Verdict.NEW or not product.sku:
            return None
        await runtime.send(topics.COMMERCE_PRODUCTS, product.sku,
                           "woosync.StorefrontProductObserved", body)
        return Seen(body["modified_at"].isoformat(), normalize.digest(body), product.sku)
    return None  # coupons and customers: not used by any workflow yet


async def _deleted(runtime: Runtime, store: str, resource: str, deleted: models.Deleted,
                   seen: Seen | None, delivery: dict[str, Any]) -> Seen | None:
    """``{"id": N}``: only a product we have seen can be reported (its SKU is known)."""
    if resource != "product" or seen is None or seen.sku is None:
        return None
    product = models.Product(id=deleted.id, sku=seen.sku, type="simple", status="trash",
                             date_modified_gmt=delivery["received_at"])
    body = normalize.product_observed(store, product, utcnow(), deleted=True)
    await runtime.send(topics.COMMERCE_PRODUCTS, seen.sku, "woosync.StorefrontProductObserved",
                       body)
    return Seen(body["modified_at"].isoformat(), "deleted", seen.sku, seen.refund_ids)


async def _retry(call: Callable[[], Awaitable[T]]) -> T:
    """A few tries with backoff: a store that stays down sends the delivery to dlq."""
    for attempt in range(REFETCH_ATTEMPTS):
        try:
            return await call()
        except WooError:
            if attempt == REFETCH_ATTEMPTS - 1:
                raise
            await asyncio.sleep(backoff_delay(attempt, 0.5, 5.0))
    raise AssertionError("unreachable")



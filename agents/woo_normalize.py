"""normalize_woo_deliveries: reads ``woo.raw`` (webhook deliveries and poll snapshots)
and publishes canonical OrderObserved and RefundObserved on ``commerce.orders`` and
StorefrontProductObserved on ``commerce.products``.

Table WOO_VERSIONS (key ``<store>:<resource>:<id>``, co-partitioned with ``woo.raw``):
the last snapshot version seen of each resource. tables.snapshots judges each snapshot:
a new one is published, a stale or identical one is dropped, and a different body with
the same timestamp is re-read from the store's REST API, whose answer is published. New
refund ids on an order are read from ``/orders/<id>/refunds``. Invalid input, or a
re-read that keeps failing, goes to ``dlq``; the agent carries on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from streams import topics
from streams.envelope import utcnow
from streams.resilience import backoff_delay
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.woo import models, normalize
from streams.woo.client import WooClient, WooError
from tables.registry import WOO_VERSIONS
from tables.snapshots import Seen, Verdict, judge

T = TypeVar("T")
REFETCH_ATTEMPTS = 4
Body = dict[str, Any]


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
            updated = await _apply(runtime, stores[delivery["store"]], delivery, seen)
        except WooError as exc:
            await runtime.dead_letter(inbound.event, "woo-refetch", str(exc),
                                      attempts=REFETCH_ATTEMPTS)
            return
        if updated is not None:
            versions[inbound.key] = updated.to_json()

    @runtime.app.agent(runtime.topics[topics.WOO_RAW], name="normalize_woo_deliveries")
    async def normalize_woo_deliveries(stream: Any) -> None:
        await runtime.each(stream, "woo-normalize", handle)


async def _apply(runtime: Runtime, client: WooClient, delivery: Body,
                 seen: Seen | None) -> Seen | None:
    """Publish what this delivery means; return the new version state (None: unchanged)."""
    store, resource = delivery["store"], delivery["resource"]
    payload = json.loads(delivery["body"])
    if isinstance(payload, dict) and set(payload) == {"id"}:
        return await _deleted(runtime, store, resource, models.Deleted.model_validate(payload),
                              seen, delivery)
    if resource == "order":
        order = models.Order.model_validate(payload)
        body = await _judged(client, seen, f"/orders/{order.id}",
                             lambda raw: normalize.order_observed(
                                 store, models.Order.model_validate(raw), utcnow()), payload)
        if body is None:
            return None
        await runtime.send(topics.COMMERCE_ORDERS, body["order_id"], "woosync.OrderObserved",
                           body)
        known = await _refunds(runtime, client, store, order.id, body, seen)
        return Seen(body["modified_at"].isoformat(), normalize.digest(body), None, known)
    if resource == "product":
        product = models.Product.model_validate(payload)
        path = (f"/products/{product.parent_id}/variations/{product.id}"
                if product.type == "variation" else f"/products/{product.id}")
        body = await _judged(client, seen, path, lambda raw: normalize.product_observed(
            store, models.Product.model_validate(raw), utcnow()), payload)
        if body is None or not body["sku"]:
            return None
        await runtime.send(topics.COMMERCE_PRODUCTS, body["sku"],
                           "woosync.StorefrontProductObserved", body)
        return Seen(body["modified_at"].isoformat(), normalize.digest(body), body["sku"])
    return None  # coupons and customers: not used by any workflow yet


async def _judged(client: WooClient, seen: Seen | None, path: str,
                  observe: Callable[[Any], Body], payload: Any) -> Body | None:
    """The canonical body to publish for a snapshot, or None to drop it: a conflict (same
    second, other content) is settled by reading the resource again over REST."""
    body = observe(payload)
    verdict = judge(seen, body["modified_at"].isoformat(), normalize.digest(body))
    if verdict is Verdict.CONFLICT:
        return observe(await _retry(lambda: client.get(path)))
    return body if verdict is Verdict.NEW else None


async def _refunds(runtime: Runtime, client: WooClient, store: str, woo_id: int,
                   order: Body, seen: Seen | None) -> tuple[str, ...]:
    """Publish the order's refunds not seen before; return every refund id known."""
    known = set(seen.refund_ids) if seen else set()
    if set(order["refund_ids"]) - known:
        for raw in await _retry(lambda: client.get(f"/orders/{woo_id}/refunds")):
            refund = normalize.refund_observed(store, woo_id, models.Refund.model_validate(raw),
                                               utcnow())
            if refund["refund_id"] not in known:
                await runtime.send(topics.COMMERCE_ORDERS, order["order_id"],
                                   "woosync.RefundObserved", refund)
    return tuple(sorted(set(order["refund_ids"]) | known))


async def _deleted(runtime: Runtime, store: str, resource: str, deleted: models.Deleted,
                   seen: Seen | None, delivery: Body) -> Seen | None:
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


AGENT = AgentSpec("woo_normalize", register, reads=(WOO_VERSIONS,))

"""Reading a WooCommerce delivery (webhook or poll snapshot) into canonical messages.

Consumes a WooDelivery's fields, the resource's last version state (tables.snapshots)
and the store's REST client; produces the messages to publish (OrderObserved and new
RefundObserved on ``commerce.orders``, StorefrontProductObserved on
``commerce.products``, CustomerObserved on ``commerce.customers``) and the new version
state. tables.snapshots judges each
snapshot: a new one is published, a stale or identical one dropped, and a different body
with the same timestamp is re-read over REST, whose answer is published. A snapshot dated
further ahead of this worker's clock than ``max_skew`` is re-read too, and refused
(ValueError, so dead-lettered with the reason) if the store still dates it in the future:
taken as a version, it would make every later snapshot look stale until that date. A
version already remembered from the future is ignored for the same reason. New refund ids
on an order are read from ``/orders/<id>/refunds``. Nothing is published here: the
caller publishes the whole reading, or nothing when reading fails.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from streams import topics
from streams.envelope import utcnow
from streams.resilience import backoff_delay
from streams.topics import TopicSpec
from streams.woo import models, normalize
from streams.woo.client import WooClient, WooError
from tables.snapshots import Seen, Verdict, judge

T = TypeVar("T")
REFETCH_ATTEMPTS = 4
MAX_SKEW = timedelta(minutes=5)
Body = dict[str, Any]


@dataclass
class Reading:
    """What a delivery means: messages to publish, in order, and the new version state."""

    messages: list[tuple[TopicSpec, str, str, Body]] = field(default_factory=list)
    seen: Seen | None = None

    def add(self, spec: TopicSpec, key: str, name: str, body: Body) -> None:
        self.messages.append((spec, key, name, body))


class FutureSnapshot(ValueError):
    """A snapshot the store dates too far ahead of this worker's clock."""


async def read_delivery(client: WooClient, delivery: Body, seen: Seen | None,
                        max_skew: timedelta = MAX_SKEW) -> Reading:
    """What one delivery means: the canonical messages to publish and the resource's new
    version state (None: unchanged). Raises WooError when a re-read keeps failing, and
    pydantic's ValidationError (a ValueError) for JSON that is not the resource."""
    store, resource = delivery["store"], delivery["resource"]
    horizon = utcnow() + max_skew
    if seen is not None and seen.modified and datetime.fromisoformat(seen.modified) > horizon:
        seen = Seen("", "", seen.sku, seen.refund_ids)  # a version from the future: void
    out = Reading()
    payload = json.loads(delivery["body"])
    if isinstance(payload, dict) and set(payload) == {"id"}:
        return _deleted(out, store, resource, models.Deleted.model_validate(payload), seen,
                        delivery)
    if resource == "order":
        order = models.Order.model_validate(payload)
        body = await _judged(client, seen, f"/orders/{order.id}",
                             lambda raw: normalize.order_observed(
                                 store, models.Order.model_validate(raw), utcnow()), payload,
                             horizon)
        if body is None:
            return out
        out.add(topics.COMMERCE_ORDERS, body["order_id"], "woosync.OrderObserved", body)
        known = await _refunds(out, client, store, order.id, body, seen)
        out.seen = Seen(body["modified_at"].isoformat(), normalize.digest(body), None, known)
        return out
    if resource == "product":
        product = models.Product.model_validate(payload)
        path = (f"/products/{product.parent_id}/variations/{product.id}"
                if product.type == "variation" else f"/products/{product.id}")
        body = await _judged(client, seen, path, lambda raw: normalize.product_observed(
            store, models.Product.model_validate(raw), utcnow()), payload, horizon)
        if body is None or not body["sku"]:
            return out
        out.add(topics.COMMERCE_PRODUCTS, body["sku"], "woosync.StorefrontProductObserved", body)
        out.seen = Seen(body["modified_at"].isoformat(), normalize.digest(body), body["sku"])
    if resource == "customer":
        customer = models.Customer.model_validate(payload)
        body = await _judged(client, seen, f"/customers/{customer.id}",
                             lambda raw: normalize.customer_observed(
                                 store, models.Customer.model_validate(raw), utcnow()),
                             payload, horizon)
        if body is None:
            return out
        out.add(topics.COMMERCE_CUSTOMERS, body["customer_id"], "woosync.CustomerObserved",
                body)
        out.seen = Seen(body["modified_at"].isoformat(), normalize.digest(body), None)
    return out  # coupons: not used by any workflow yet


async def _judged(client: WooClient, seen: Seen | None, path: str,
                  observe: Callable[[Any], Body], payload: Any, horizon: datetime) -> Body | None:
    """The canonical body to publish for a snapshot, or None to drop it: a conflict (same
    second, other content) is settled by reading the resource again over REST, and so is
    a snapshot dated after ``horizon`` (refused if the store still dates it so)."""
    body = observe(payload)
    if body["modified_at"] > horizon:
        body = observe(await _retry(lambda: client.get(path)))
        if body["modified_at"] > horizon:
            raise FutureSnapshot(f"{path}: date_modified_gmt {body['modified_at'].isoformat()}"
                                 " is ahead of this worker's clock by more than the allowed"
                                 " skew; refused so it cannot freeze later versions")
    verdict = judge(seen, body["modified_at"].isoformat(), normalize.digest(body))
    if verdict is Verdict.CONFLICT:
        return observe(await _retry(lambda: client.get(path)))
    return body if verdict is Verdict.NEW else None


async def _refunds(out: Reading, client: WooClient, store: str, woo_id: int,
                   order: Body, seen: Seen | None) -> tuple[str, ...]:
    """Publish the order's refunds not seen before; return every refund id known."""
    known = set(seen.refund_ids) if seen else set()
    if set(order["refund_ids"]) - known:
        for raw in await _retry(lambda: client.get(f"/orders/{woo_id}/refunds")):
            refund = normalize.refund_observed(store, woo_id, models.Refund.model_validate(raw),
                                               utcnow())
            if refund["refund_id"] not in known:
                out.add(topics.COMMERCE_ORDERS, order["order_id"], "woosync.RefundObserved",
                        refund)
    return tuple(sorted(set(order["refund_ids"]) | known))


def _deleted(out: Reading, store: str, resource: str, deleted: models.Deleted,
             seen: Seen | None, delivery: Body) -> Reading:
    """``{"id": N}``: only a product we have seen can be reported (its SKU is known)."""
    if resource != "product" or seen is None or seen.sku is None:
        return out
    product = models.Product(id=deleted.id, sku=seen.sku, type="simple", status="trash",
                             date_modified_gmt=delivery["received_at"])
    body = normalize.product_observed(store, product, utcnow(), deleted=True)
    out.add(topics.COMMERCE_PRODUCTS, seen.sku, "woosync.StorefrontProductObserved", body)
    out.seen = Seen(body["modified_at"].isoformat(), "deleted", seen.sku, seen.refund_ids)
    return out


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



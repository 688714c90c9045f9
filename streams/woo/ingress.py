"""The webhook endpoint: ``POST /webhooks/woocommerce/{store}`` on every worker.

Consumes WooCommerce's deliveries; produces one ``WooDelivery`` on ``woo.raw`` (key
``<store>:<resource>:<id>``: the raw body bytes, the X-WC headers, the store, the
receive time) and answers 200 only once the broker has acknowledged it, because
WooCommerce never delivers again. Nothing else happens here; the normalizer reads
``woo.raw``. Refusals, each before anything is published: unknown store 404, body over
the limit 413, missing or wrong signature 401 (HMAC over the raw bytes, constant time,
checked before the body is parsed), malformed body 400. The ping WooCommerce sends when
a webhook is created (form body ``webhook_id=N``, no X-WC headers) gets 200.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from faust.web import Request, Response, View

from streams import topics
from streams.envelope import Cause, utcnow
from streams.metrics import UNKNOWN
from streams.runtime import Runtime
from streams.woo import ids
from streams.woo.signature import verify

log = logging.getLogger("woosync.ingress")
PATH = "/webhooks/woocommerce/{store}"
RESOURCES = ("order", "product", "coupon", "customer")


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    metrics = runtime.metrics

    @runtime.app.page(PATH)
    class WooCommerceWebhook(View):
        async def post(self, request: Request, store: str) -> Response:
            outcome, response = await self._handle(request, store)
            label = store if store in settings.stores else UNKNOWN
            metrics.webhooks_received.labels(label, outcome).inc()
            return response

        async def _handle(self, request: Request, store: str) -> tuple[str, Response]:
            if store not in settings.stores:
                return "unknown_store", self.error(404, f"unknown store {store!r}")
            length = _int(request.headers.get("Content-Length"))
            if length is not None and length > settings.webhook_max_bytes:
                return "too_large", self.error(413, "body too large")
            body: bytes = await request.read()
            if len(body) > settings.webhook_max_bytes:
                return "too_large", self.error(413, "body too large")
            headers = {k: v for k, v in request.headers.items()
                       if k.lower().startswith("x-wc-")}
            if not headers and body.startswith(b"webhook_id="):
                return "ping", self.json({"ok": True})
            webhook_id = _int(request.headers.get("X-WC-Webhook-ID"))
            secret = settings.stores[store].secret_for(webhook_id)
            if secret is None or not verify(body, secret.get_secret_value(),
                                            request.headers.get("X-WC-Webhook-Signature")):
                return "bad_signature", self.error(401, "invalid or missing signature")
            topic = request.headers.get("X-WC-Webhook-Topic", "")
            resource = request.headers.get("X-WC-Webhook-Resource") or topic.partition(".")[0]
            try:
                payload = json.loads(body)
                resource_id = int(payload["id"])
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                # 1e400 is a float infinity to json; 10,000 nested arrays recurse too deep.
                return "malformed", self.error(400, "body is not a JSON object with an id")
            if resource not in RESOURCES:
                return "malformed", self.error(400, f"unknown resource {resource!r}")
            key = ids.raw_key(store, resource, resource_id)
            now = utcnow()
            cause = Cause.observed("webhook", key, body, occurred_at=now,
                                   source=f"woocommerce:{store}",
                                   source_version=str(_modified(payload) or now.isoformat()),
                                   trace_subject=ids.trace_subject(store, resource, resource_id))
            delivery = {
                "store": store, "via": "webhook", "topic": topic or None,
                "resource": resource, "resource_id": str(resource_id),
                "webhook_id": webhook_id,
                "delivery_id": request.headers.get("X-WC-Webhook-Delivery-ID"),
                "headers": headers, "body": body, "received_at": now,
            }
            # WooCommerce will not send this again: answer only once the broker has it.
            await runtime.emit(topics.WOO_RAW, key, "woosync.WooDelivery", delivery, cause,
                               wait=True)
            return "accepted", self.json({"ok": True})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _modified(payload: Any) -> str | None:
    if isinstance(payload, dict):
        value = payload.get("date_modified_gmt")
        return str(value) if value else None
    return None

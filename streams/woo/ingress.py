"""The webhook endpoint: ``POST /webhooks/woocommerce/{store}`` on every worker.

Consumes WooCommerce's deliveries; produces one ``WooDelivery`` on ``woo.raw`` (key
``<store>:<resource>:<id>``: the raw body bytes, the X-WC headers, the store, the
receive time) and answers 200 only once the broker has acknowledged it, because
WooCommerce never delivers again. Nothing else happens here; the normalizer reads
``woo.raw``. Refusals, each before anything is published: unknown store 404, body over
the limit 413, missing or wrong signature 401 (HMAC over the raw bytes, constant time,
checked before the body is parsed), malformed body 400, and 503 when the broker does
not take it within 10 s: nothing is acknowledged that was not stored. WooCommerce does
not send a failed delivery again (it counts the failure); the store sweep reads the
resource on its next run. The ping WooCommerce sends when a webhook is
created (form body ``webhook_id=N``, no X-WC headers) gets 200. With ``ingress_port``
set, the endpoint is served alone on that port and not on the worker's web port.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from mode import Service

from streams import topics
from streams.envelope import Cause, utcnow
from streams.metrics import UNKNOWN
from streams.runtime import Runtime
from streams.woo import ids
from streams.woo.signature import verify

log = logging.getLogger("woosync.ingress")
PATH = "/webhooks/woocommerce/{store}"
RESOURCES = ("order", "product", "coupon", "customer")
STORE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Answer:
    outcome: str  # the metric's label
    status: int
    body: dict[str, Any]


async def accept(runtime: Runtime, store: str, headers: Mapping[str, str],
                 read: Callable[[], Awaitable[bytes]]) -> Answer:
    """One delivery to ``store``: its headers, and ``read`` for its raw body (read only
    once the declared length is known to be within the limit)."""
    answer = await _accept(runtime, store, headers, read)
    label = store if store in runtime.settings.stores else UNKNOWN
    runtime.metrics.webhooks_received.labels(label, answer.outcome).inc()
    return answer


def _refuse(outcome: str, status: int, why: str) -> Answer:
    return Answer(outcome, status, {"error": why})


async def _accept(runtime: Runtime, store: str, headers: Mapping[str, str],
                  read: Callable[[], Awaitable[bytes]]) -> Answer:
    settings = runtime.settings
    if store not in settings.stores:
        return _refuse("unknown_store", 404, f"unknown store {store!r}")
    length = _int(headers.get("Content-Length"))
    if length is not None and length > settings.webhook_max_bytes:
        return _refuse("too_large", 413, "body too large")
    body = await read()
    if len(body) > settings.webhook_max_bytes:
        return _refuse("too_large", 413, "body too large")
    wc = {k: v for k, v in headers.items() if k.lower().startswith("x-wc-")}
    if not wc and body.startswith(b"webhook_id="):
        return Answer("ping", 200, {"ok": True})
    webhook_id = _int(headers.get("X-WC-Webhook-ID"))
    secret = settings.stores[store].secret_for(webhook_id)
    if secret is None or not verify(body, secret.get_secret_value(),
                                    headers.get("X-WC-Webhook-Signature")):
        return _refuse("bad_signature", 401, "invalid or missing signature")
    topic = headers.get("X-WC-Webhook-Topic", "")
    resource = headers.get("X-WC-Webhook-Resource") or topic.partition(".")[0]
    try:
        payload = json.loads(body)
        resource_id = int(payload["id"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        # 1e400 is a float infinity to json; 10,000 nested arrays recurse too deep.
        return _refuse("malformed", 400, "body is not a JSON object with an id")
    if resource not in RESOURCES:
        return _refuse("malformed", 400, f"unknown resource {resource!r}")
    key = ids.raw_key(store, resource, resource_id)
    now = utcnow()
    cause = Cause.observed("webhook", key, body, occurred_at=now,
                           source=f"woocommerce:{store}",
                           source_version=str(_modified(payload) or now.isoformat()),
                           trace_subject=ids.trace_subject(store, resource, resource_id))
    delivery = {
        "store": store, "via": "webhook", "topic": topic or None,
        "resource": resource, "resource_id": str(resource_id), "webhook_id": webhook_id,
        "delivery_id": headers.get("X-WC-Webhook-Delivery-ID"),
        "headers": wc, "body": body, "received_at": now,
    }
    # WooCommerce will not send this again: answer only once the broker has it, and
    # say so when it cannot be stored (the sweep then reads the resource again).
    sending = asyncio.ensure_future(runtime.emit(topics.WOO_RAW, key, "woosync.WooDelivery",
                                                 delivery, cause, wait=True))
    try:
        # Shielded: the answer stops waiting, the send is not cancelled under Faust's
        # producer (if it lands later, the normalizer's versions make it harmless).
        await asyncio.wait_for(asyncio.shield(sending), STORE_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError, OSError) as exc:
        sending.add_done_callback(_quietly)
        log.warning("webhook for %s not stored: %s", key, type(exc).__name__)
        return _refuse("not_stored", 503, "could not store the delivery now")
    return Answer("accepted", 200, {"ok": True})


def register(runtime: Runtime) -> None:
    """The endpoint on Faust's web server, or on a port of its own (``ingress_port``):
    the store then reaches only the ingress, never the operations pages."""
    port = runtime.settings.ingress_port
    if port is None:
        @runtime.app.page(PATH)
        class WooCommerceWebhook(View):
            async def post(self, request: Request, store: str) -> Response:
                answer = await accept(runtime, store, request.headers, request.read)
                return self.json(answer.body, status=answer.status)
        return
    runtime.app.service(IngressServer(runtime, port))  # type: ignore[arg-type]


class IngressServer(Service):
    """The webhook endpoint alone on its own aiohttp server, started and stopped with
    the worker."""

    def __init__(self, runtime: Runtime, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime, self.port = runtime, port
        self.runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        app = web.Application(client_max_size=self.runtime.settings.webhook_max_bytes + 1)
        app.router.add_post(PATH, self._post)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.runtime.settings.web_host, self.port).start()

    async def on_stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        answer = await accept(self.runtime, request.match_info["store"], request.headers,
                              request.read)
        return web.json_response(answer.body, status=answer.status)


def _quietly(done: asyncio.Future[Any]) -> None:
    """Collect the late outcome of a send already answered 503 (never raise it)."""
    if not done.cancelled():
        done.exception()


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

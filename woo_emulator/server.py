"""The emulator's HTTP server: WooCommerce's REST v3 subset under ``/wp-json/wc/v3``
(products and variations, orders, refunds, batch endpoints, webhooks), its
authentication and error shape, pagination headers, ``modified_after`` filters, REST
faults (429, 5xx, latency), and a control API under ``/__emulator`` for the checkout
simulator, fault settings and inspection by tests and the demo."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from woo_emulator import auth, phpjson, rest
from woo_emulator.config import EmulatorConfig, Faults
from woo_emulator.store import Order, Product, Store, StoreError
from woo_emulator.webhooks import Webhook, WebhookEngine

API = "/wp-json/wc/v3"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(code: str, message: str, status: int, **headers: str) -> web.Response:
    body = phpjson.encode({"code": code, "message": message, "data": {"status": status}})
    return web.Response(body=body, status=status, content_type="application/json",
                        headers=headers)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None
          ) -> web.Response:
    return web.Response(body=phpjson.encode(data), status=status,
                        content_type="application/json", headers=headers)


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.rng = random.Random(self.config.seed)
        self.webhooks = WebhookEngine(self.config, self._payload)
        self.store = Store(lambda: datetime.now(UTC), self.webhooks.on_change,
                           hold_minutes=self.config.hold_stock_minutes * self.config.time_scale)
        self._nonces: dict[str, float] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.batch_sizes: list[int] = []
        # The reservation check a store plugin would make at checkout (config).
        self._checks: aiohttp.ClientSession | None = None
        self.reservation_checks = self.reservation_checks_failed = 0
        self.reservation_refusals = 0
        self.check_latencies: list[float] = []  # seconds, each answered check

    # -- payloads ---------------------------------------------------------------------

    @property
    def offset(self) -> int:
        return self.config.site_utc_offset_hours

    def _payload(self, resource: str, resource_id: int) -> dict[str, Any]:
        try:
            if resource == "order":
                return rest.order_json(self.store.order(resource_id), self.offset)
            return rest.product_json(self.store, self.store.product(resource_id), self.offset)
        except StoreError as exc:  # the internal GET failed: WooCommerce sends the error
            return {"code": exc.code, "message": exc.message, "data": {"status": exc.status}}

    # -- the app ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults, self._errors, self._auth])
        r = app.router
        r.add_get(f"{API}/products", self.list_products)
        r.add_post(f"{API}/products", self.create_product)
        r.add_post(f"{API}/products/batch", self.batch_products)
        r.add_get(f"{API}/products/{{id:\\d+}}", self.get_product)
        r.add_put(f"{API}/products/{{id:\\d+}}", self.update_product)
        r.add_get(f"{API}/products/{{parent:\\d+}}/variations", self.list_variations)
        r.add_get(f"{API}/products/{{parent:\\d+}}/variations/{{id:\\d+}}", self.get_product)
        r.add_put(f"{API}/products/{{parent:\\d+}}/variations/{{id:\\d+}}",
                  self.update_product)
        r.add_post(f"{API}/products/{{parent:\\d+}}/variations/batch", self.batch_products)
        r.add_get(f"{API}/orders", self.list_orders)
        r.add_post(f"{API}/orders", self.create_order)
        r.add_post(f"{API}/orders/batch", self.batch_orders)
        r.add_get(f"{API}/orders/{{id:\\d+}}", self.get_order)
        r.add_put(f"{API}/orders/{{id:\\d+}}", self.update_order)
        r.add_get(f"{API}/orders/{{id:\\d+}}/notes", self.list_notes)
        r.add_post(f"{API}/orders/{{id:\\d+}}/notes", self.create_note)
        r.add_get(f"{API}/orders/{{id:\\d+}}/refunds", self.list_refunds)
        r.add_post(f"{API}/orders/{{id:\\d+}}/refunds", self.create_refund)
        r.add_get(f"{API}/webhooks", self.list_webhooks)
        r.add_post(f"{API}/webhooks", self.create_webhook)
        r.add_get(f"{API}/webhooks/{{id:\\d+}}", self.get_webhook)
        r.add_put(f"{API}/webhooks/{{id:\\d+}}", self.update_webhook)
        r.add_delete(f"{API}/webhooks/{{id:\\d+}}", self.delete_webhook)
        r.add_post("/__emulator/checkout", self.checkout)
        r.add_post("/__emulator/faults", self.set_faults)
        r.add_get("/__emulator/state", self.state)
        app.on_shutdown.append(lambda _app: self.webhooks.close())
        app.on_shutdown.append(lambda _app: self._close_checks())
        return app

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        faults = self.config.faults
        status = 0
        try:
            if request.path.startswith(API):
                if faults.rest_latency_seconds:
                    await asyncio.sleep(self.rng.uniform(0, faults.rest_latency_seconds))
                if self.rng.random() < faults.rest_429:
                    status = 429
                    return error("too_many_requests", "Too many requests.", 429,
                                 **{"Retry-After": "1"})
                if self.rng.random() < faults.rest_5xx:
                    status = 503
                    return error("internal_server_error", "Service unavailable.", 503)
            response = await handler(request)
            status = response.status
            return response
        finally:
            self.requests.append((request.method, request.path, status))

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StoreError as exc:
            return error(exc.code, exc.message, exc.status)
        except web.HTTPNotFound:
            return error("rest_no_route", "No route was found matching the URL and request"
                         " method.", 404)
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            return error("rest_invalid_param", f"Invalid parameter(s): {exc}", 400)

    # -- authentication (woocommerce-facts.md 2.9) ------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        refusal = self._check_auth(request)
        if refusal is not None:
            return refusal
        return await handler(request)

    def _check_auth(self, request: web.Request) -> web.Response | None:
        keys = self.config.keys
        if self.config.https:
            key, secret = request.query.get("consumer_key"), request.query.get("consumer_secret")
            if key is None and request.headers.get("Authorization", "").startswith("Basic "):
                import base64

                decoded = base64.b64decode(request.headers["Authorization"][6:]).decode()
                key, _, secret = decoded.partition(":")
            if key is None:
                return error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.",
                             401)
            if key not in keys:
                return error("woocommerce_rest_authentication_error", "Consumer key is invalid.",
                             401, **{"WWW-Authenticate": 'Basic realm="WooCommerce API. Use a'
                                     ' consumer key in the username field and a consumer'
                                     ' secret in the password field."'})
            if secret != keys[key]:
                return error("woocommerce_rest_authentication_error",
                             "Consumer secret is invalid.", 401)
            return None
        given = self._oauth_params(request)
        required = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                    "oauth_signature_method")
        missing = [name for name in required if name not in given]
        if missing:
            return error("woocommerce_rest_authentication_missing_parameter",
                         f"Missing OAuth parameter {missing[0]}", 401)
        secret = keys.get(given["oauth_consumer_key"])
        if secret is None:
            return error("woocommerce_rest_authentication_error", "Consumer key is invalid.",
                         401)
        now = time.time()
        if not given["oauth_timestamp"].isdigit() or \
                abs(now - int(given["oauth_timestamp"])) > 15 * 60:
            return error("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        url = f"http://{request.host}{request.path}"
        try:
            expected = auth.expected_signature(request.method, url, given, secret,
                                               given["oauth_signature_method"])
        except ValueError:
            return error("woocommerce_rest_authentication_error",
                         "Invalid signature - signature method is invalid", 401)
        if not auth.signature_matches(expected, given["oauth_signature"]):
            return error("woocommerce_rest_authentication_error",
                         "Invalid signature - provided signature does not match.", 401)
        nonce_key = f"{given['oauth_consumer_key']}:{given['oauth_nonce']}"
        self._nonces = {k: v for k, v in self._nonces.items() if now - v < 15 * 60}
        if nonce_key in self._nonces:
            return error("woocommerce_rest_authentication_error",
                         "Invalid nonce - nonce has already been used.", 401)
        self._nonces[nonce_key] = now
        return None

    @staticmethod
    def _oauth_params(request: web.Request) -> dict[str, str]:
        header = request.headers.get("Authorization", "")
        pairs = []
        if header.startswith("OAuth "):
            for part in header[6:].split(","):
                name, _, value = part.strip().partition("=")
                pairs.append((unquote(name), unquote(value.strip('"'))))
        return auth.php_params(list(request.query.items()), pairs)

    # -- listing helpers --------------------------------------------------------------

    def _page(self, request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = int(request.query.get("per_page", "10"))
        if not 1 <= per_page <= self.config.per_page_max:
            raise ValueError(f"per_page must be between 1 ({per_page})"
                             f" and {self.config.per_page_max}")
        page = int(request.query.get("page", "1"))
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = f"http://{request.host}{request.path}"
        links = []
        if page < pages:
            links.append(f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"')
        if page > 1:
            links.append(f'<{base}?page={page - 1}&per_page={per_page}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        return chunk, headers

    def _modified_filter(self, request: web.Request) -> Callable[[datetime], bool]:
        gmt = request.query.get("dates_are_gmt", "false") == "true"
        shift = timedelta(0) if gmt else timedelta(hours=self.offset)

        def bound(name: str) -> datetime | None:
            raw = request.query.get(name)
            if raw is None:
                return None
            moment = datetime.fromisoformat(raw.replace("Z", ""))
            return moment.replace(tzinfo=UTC) - shift if moment.tzinfo is None else moment

        after, before = bound("modified_after"), bound("modified_before")
        return lambda m: (after is None or m > after) and (before is None or m < before)

    # -- products ---------------------------------------------------------------------

    def _product_values(self, body: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in ("name", "sku", "status", "backorders", "type", "description",
                     "tax_class"):
            if name in body:
                values[name] = body[name]
        for name, key in (("date_on_sale_from_gmt", "sale_from"),
                          ("date_on_sale_to_gmt", "sale_to")):
            if name in body:  # "" or null clears the date
                values[key] = (datetime.fromisoformat(body[name]).replace(tzinfo=UTC)
                               if body[name] else None)
        if "meta_data" in body:
            # Updated by key, as WooCommerce's update_meta_data does.
            values["meta"] = {str(m["key"]): m.get("value") for m in body["meta_data"]}
        if "regular_price" in body:
            values["regular_price"] = Decimal(body["regular_price"] or "0")
        if "sale_price" in body:
            values["sale_price"] = Decimal(body["sale_price"]) if body["sale_price"] else None
        if "manage_stock" in body:
            values["manage_stock"] = body["manage_stock"]
        if "stock_quantity" in body:
            quantity = body["stock_quantity"]
            values["stock_quantity"] = None if quantity is None else int(quantity)
        return values

    def _product_out(self, product: Product) -> dict[str, Any]:
        return rest.product_json(self.store, product, self.offset)

    async def list_products(self, request: web.Request) -> web.Response:
        modified = self._modified_filter(request)
        q = request.query
        items = [p for p in self.store.products.values()
                 if p.type != "variation" or "sku" in q or "parent" in q]
        if "sku" in q:
            items = [p for p in items if p.sku in q["sku"].split(",")]
        if "type" in q:
            items = [p for p in items if p.type == q["type"]]
        if "parent" in q:
            items = [p for p in items if p.parent_id == int(q["parent"])]
        if "include" in q:
            wanted = {int(i) for i in q["include"].split(",")}
            items = [p for p in items if p.id in wanted]
        items = sorted((p for p in items if modified(p.date_modified)), key=lambda p: p.id)
        chunk, headers = self._page(request, items)
        return reply([self._product_out(p) for p in chunk], headers=headers)

    async def list_variations(self, request: web.Request) -> web.Response:
        parent = self.store.product(int(request.match_info["parent"]))
        modified = self._modified_filter(request)
        items = [self.store.products[v] for v in parent.variations
                 if modified(self.store.products[v].date_modified)]
        chunk, headers = self._page(request, items)
        return reply([self._product_out(p) for p in chunk], headers=headers)

    async def get_product(self, request: web.Request) -> web.Response:
        return reply(self._product_out(self.store.product(int(request.match_info["id"]))))

    async def create_product(self, request: web.Request) -> web.Response:
        body = await request.json()
        product = self.store.add_product(**self._product_values(body))
        return reply(self._product_out(product), 201)

    async def update_product(self, request: web.Request) -> web.Response:
        product = self.store.product(int(request.match_info["id"]))
        self.store.update_product(product, self._product_values(await request.json()))
        return reply(self._product_out(product))

    async def _batch(self, request: web.Request,
                     create: Callable[[dict[str, Any]], dict[str, Any]],
                     update: Callable[[dict[str, Any]], dict[str, Any]]) -> web.Response:
        body = await request.json()
        count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        self.batch_sizes.append(count)
        if count > self.config.batch_limit:
            return error("woocommerce_rest_request_entity_too_large",
                         f"Unable to accept more than {self.config.batch_limit} items for"
                         " this request.", 413)
        result: dict[str, list[dict[str, Any]]] = {}
        for kind, apply in (("create", create), ("update", update)):
            if kind not in body:
                continue
            result[kind] = []
            for item in body[kind]:
                try:
                    result[kind].append(apply(item))
                except StoreError as exc:
                    result[kind].append({"id": item.get("id", 0) if kind == "update" else 0,
                                         "error": {"code": exc.code, "message": exc.message,
                                                   "data": {"status": exc.status}}})
        return reply(result)

    async def batch_products(self, request: web.Request) -> web.Response:
        def create(item: dict[str, Any]) -> dict[str, Any]:
            return self._product_out(self.store.add_product(**self._product_values(item)))

        def update(item: dict[str, Any]) -> dict[str, Any]:
            product = self.store.product(int(item["id"]))
            return self._product_out(self.store.update_product(product,
                                                               self._product_values(item)))

        return await self._batch(request, create, update)

    # -- orders -----------------------------------------------------------------------

    def _order_out(self, order: Order) -> dict[str, Any]:
        return rest.order_json(order, self.offset)

    async def list_orders(self, request: web.Request) -> web.Response:
        modified = self._modified_filter(request)
        statuses = request.query.get("status", "any").split(",")
        items = sorted((o for o in self.store.orders.values()
                        if modified(o.date_modified)
                        and ("any" in statuses or o.status in statuses)),
                       key=lambda o: o.id)
        chunk, headers = self._page(request, items)
        return reply([self._order_out(o) for o in chunk], headers=headers)

    async def get_order(self, request: web.Request) -> web.Response:
        return reply(self._order_out(self.store.order(int(request.match_info["id"]))))

    def _new_order(self, body: dict[str, Any]) -> Order:
        items = [(int(li.get("variation_id") or li["product_id"]), int(li["quantity"]))
                 for li in body.get("line_items", [])]
        status = "processing" if body.get("set_paid") else body.get("status", "pending")
        shipping = sum((Decimal(s.get("total", "0")) for s in body.get("shipping_lines", [])),
                       Decimal(0))
        return self.store.create_order(items, body.get("billing", {}), status=status,
                                       shipping_total=shipping)

    async def create_order(self, request: web.Request) -> web.Response:
        return reply(self._order_out(self._new_order(await request.json())), 201)

    async def update_order(self, request: web.Request) -> web.Response:
        order = self.store.order(int(request.match_info["id"]))
        body = await request.json()
        if body.get("meta_data"):
            self.store.update_meta(order, body["meta_data"])
        if "status" in body:
            self.store.set_status(order, body["status"])
        return reply(self._order_out(order))

    async def list_notes(self, request: web.Request) -> web.Response:
        order = self.store.order(int(request.match_info["id"]))
        return reply([rest.note_json(n, self.offset) for n in reversed(order.notes)])

    async def create_note(self, request: web.Request) -> web.Response:
        order = self.store.order(int(request.match_info["id"]))
        body = await request.json()
        if not str(body.get("note") or "").strip():
            raise StoreError("rest_missing_callback_param", "Missing parameter(s): note")
        note = self.store.add_note(order, str(body["note"]), bool(body.get("customer_note")))
        return reply(rest.note_json(note, self.offset), 201)

    async def batch_orders(self, request: web.Request) -> web.Response:
        def update(item: dict[str, Any]) -> dict[str, Any]:
            order = self.store.order(int(item["id"]))
            if "status" in item:
                self.store.set_status(order, item["status"])
            return self._order_out(order)

        return await self._batch(request, lambda item: self._order_out(self._new_order(item)),
                                 update)

    async def list_refunds(self, request: web.Request) -> web.Response:
        order = self.store.order(int(request.match_info["id"]))
        return reply([rest.refund_json(order, r, self.offset) for r in order.refunds])

    async def create_refund(self, request: web.Request) -> web.Response:
        order = self.store.order(int(request.match_info["id"]))
        body = await request.json()
        lines = [(int(li["id"]), abs(int(li.get("quantity", 0))))
                 for li in body.get("line_items", []) if li.get("quantity")]
        refund = self.store.refund(order, Decimal(str(body.get("amount", "0"))), lines,
                                   body.get("reason", ""), bool(body.get("api_restock", True)))
        return reply(rest.refund_json(order, refund, self.offset), 201)

    # -- webhooks (woocommerce-facts.md 2.10) -----------------------------------------

    def _webhook_out(self, hook: Webhook) -> dict[str, Any]:
        resource, _, event = hook.topic.partition(".")
        created = hook.date_created or datetime.now(UTC)
        return {"id": hook.id, "name": hook.name, "status": hook.status, "topic": hook.topic,
                "resource": resource, "event": event, "hooks": [],
                "delivery_url": hook.delivery_url,
                "date_created": created.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_created_gmt": created.strftime("%Y-%m-%dT%H:%M:%S")}

    def _hook(self, request: web.Request) -> Webhook:
        hook = self.webhooks.hooks.get(int(request.match_info["id"]))
        if hook is None:
            raise StoreError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        return hook

    async def list_webhooks(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "all")
        hooks = [h for h in self.webhooks.hooks.values() if status in ("all", h.status)]
        chunk, headers = self._page(request, hooks)
        return reply([self._webhook_out(h) for h in chunk], headers=headers)

    async def create_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not self.webhooks.valid_topic(body.get("topic", "")):
            raise StoreError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is"
                             " required and must be valid.")
        url = body.get("delivery_url", "")
        if not url.startswith(("http://", "https://")):
            raise StoreError("woocommerce_rest_webhook_invalid_delivery_url",
                             "Webhook delivery URL must be a valid URL starting with http://"
                             " or https://.")
        secret = body.get("secret") or "".join(
            self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()") for _ in range(50))
        hook = Webhook(self.store.next_id(), body.get("name", ""), body["topic"], url, secret,
                       status=body.get("status", "active"), date_created=datetime.now(UTC))
        self.webhooks.hooks[hook.id] = hook
        if self.config.ping_on_create and hook.status == "active":
            await self.webhooks.ping(hook)
        return reply(self._webhook_out(hook), 201)

    async def get_webhook(self, request: web.Request) -> web.Response:
        return reply(self._webhook_out(self._hook(request)))

    async def update_webhook(self, request: web.Request) -> web.Response:
        hook = self._hook(request)
        body = await request.json()
        for name in ("name", "status", "delivery_url", "secret", "topic"):
            if name in body:
                setattr(hook, name, body[name])
        return reply(self._webhook_out(hook))

    async def delete_webhook(self, request: web.Request) -> web.Response:
        hook = self._hook(request)
        if request.query.get("force") != "true":
            raise StoreError("woocommerce_rest_trash_not_supported",
                             "Webhooks do not support trashing.", 501)
        del self.webhooks.hooks[hook.id]
        return reply(self._webhook_out(hook))

    # -- control API (not WooCommerce) ------------------------------------------------

    async def checkout(self, request: web.Request) -> web.Response:
        """A shopper checks out and pays: held stock, then processing (stock reduced)."""
        body = await request.json()
        items = [(int(i["product_id"]), int(i["quantity"])) for i in body["items"]]
        order = self.store.checkout(items, body.get("billing", {}))
        refusal = await self._reservation_refusal(order)
        if refusal is not None:
            self.store.set_status(order, "cancelled")
            raise StoreError("woocommerce_product_not_enough_stock", refusal, 403)
        if body.get("pay", True):
            self.store.pay(order)
        return reply(self._order_out(order), 201)

    async def _close_checks(self) -> None:
        if self._checks is not None:
            await self._checks.close()

    async def _reservation_refusal(self, order: Order) -> str | None:
        """Ask woosync's reservation check, as a store plugin would (config
        ``reservation_check``): why the checkout is refused, or None to go ahead."""
        check = self.config.reservation_check
        if check is None:
            return None
        raw = json.dumps({"store": check.store, "order_id": str(order.id),
                          "hold": check.hold,
                          "lines": [{"sku": line.sku, "quantity": line.quantity}
                                    for line in order.lines if line.sku]}).encode()
        if self._checks is None:
            self._checks = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=check.timeout_seconds))
        self.reservation_checks += 1
        began = time.perf_counter()
        try:
            async with self._checks.post(check.url, data=raw, headers={
                    "Content-Type": "application/json",
                    "X-WooSync-Signature": auth.webhook_signature(raw, check.secret)},
                    ) as response:
                if response.status != 200:
                    return None
                answer = await response.json()
        except (TimeoutError, aiohttp.ClientError):
            self.reservation_checks_failed += 1
            return None
        self.check_latencies.append(time.perf_counter() - began)
        short = [line["sku"] for line in answer["lines"] if not line["fits"]]
        if not short:
            return None
        self.reservation_refusals += 1
        return f"Not enough units of {', '.join(short)} are available in stock to fulfil" \
               " this order."

    async def set_faults(self, request: web.Request) -> web.Response:
        self.config.faults = Faults(**(await request.json()))
        return reply(asdict(self.config.faults))

    async def state(self, request: web.Request) -> web.Response:
        await self.webhooks.drain() if request.query.get("drain") else None
        return reply({
            "products": {p.sku: {"id": p.id, "stock_quantity": p.stock_quantity,
                                 "stock_status": self.store.stock_status(p)}
                         for p in self.store.products.values() if p.sku},
            "webhooks": {h.id: {"status": h.status, "failure_count": h.failure_count,
                                "pending_delivery": h.pending_delivery}
                         for h in self.webhooks.hooks.values()},
            "deliveries": [{"webhook_id": d.webhook_id, "topic": d.topic,
                            "resource_id": d.resource_id, "status": d.status, "fault": d.fault}
                           for d in self.webhooks.log],
            "coalesced": self.webhooks.coalesced,
            "requests": len(self.requests),
        })

"""``POST /reservations/check``: whether a cart fits what woosync can promise, asked by
a store at checkout, answered from the SKUs' owners within milliseconds.

Request (JSON): ``store``, ``lines`` (``[{"sku", "quantity"}]``, store SKUs), and
optionally ``order_id`` (the store's order being checked out), ``hold`` (take a
provisional hold when every line fits) and ``hold_seconds`` (its life, at most
``WOOSYNC_CHECKOUT_HOLD_MAX_SECONDS``; default ``WOOSYNC_CHECKOUT_HOLD_SECONDS``).
Answer: ``fits`` (every line), each line with the units available to this cart and
whether it fits, and the hold taken (``key``, ``expires_at``) or null.

A check that holds must be signed as the store signs its webhooks
(``X-WooSync-Signature``: base64 HMAC-SHA256 of the raw body with the store's webhook
secret): a provisional hold withholds stock from other shoppers, so only the store may
take one. A plain check is not signed (it tells no more than ``/reservations``).

The lines are routed like ``/reservations/{sku}``: each SKU's owner (the worker with its
partition of the ``inventory`` table) answers for it (``POST /reservations/check/local``,
this worker's own SKUs only), the asking worker merges. A hold is all or nothing: when a
line does not fit, the holds the other owners took for the cart are released. 400 for a
malformed request, 401 for a hold without a valid signature, 404 for an unknown store,
503 while partitions move (try again).

The order's own hold (HoldSet, applied by the availability agent on the owner) settles
its provisional hold; an unsettled one expires (tables.checkout).
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from faust.web import View

from streams import topics
from streams.envelope import utcnow
from streams.inventory_config import channels, partition_of, policy
from streams.openapi import CHECK_MAX_LINES, ORDER_NUMBER_PATTERN, SKU_PATTERN
from streams.runtime import AgentSpec, Runtime
from streams.web import settling
from streams.woo.signature import sign, verify
from tables.checkout import LineAnswer, Provisional, answer
from tables.inventory import SkuState
from tables.registry import INVENTORY

SKU = re.compile(SKU_PATTERN)
ORDER = re.compile(ORDER_NUMBER_PATTERN)
SIGNATURE = "X-WooSync-Signature"
MAX_LINES = CHECK_MAX_LINES


class BadCheck(ValueError):
    """A request this endpoint cannot take, with the status to answer."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def parse(runtime: Runtime, raw: bytes) -> dict[str, Any]:
    """The request, checked: a known store, 1 to MAX_LINES lines of well-formed SKUs
    with positive quantities (the same SKU's lines added up)."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadCheck(400, f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        raise BadCheck(400, "expected an object with store and lines")
    store = body.get("store")
    if not isinstance(store, str) or store not in runtime.settings.stores:
        raise BadCheck(404, f"unknown store {store!r}")
    if not 1 <= len(body["lines"]) <= MAX_LINES:
        raise BadCheck(400, f"lines: 1 to {MAX_LINES} of them")
    wanted: dict[str, Decimal] = {}
    for line in body["lines"]:
        sku = line.get("sku") if isinstance(line, dict) else None
        if not isinstance(sku, str) or not SKU.match(sku):
            raise BadCheck(400, f"malformed SKU in {line!r}")
        try:
            quantity = Decimal(str(line.get("quantity")))
        except InvalidOperation as exc:
            raise BadCheck(400, f"quantity of {sku} is not a number") from exc
        if not quantity.is_finite() or quantity <= 0:
            raise BadCheck(400, f"quantity of {sku} must be positive")
        code = runtime.settings.stores[store].erp_code(sku)
        wanted[code] = wanted.get(code, Decimal(0)) + quantity
    order_id = body.get("order_id")
    if order_id is not None and not ORDER.match(str(order_id)):
        raise BadCheck(400, "order_id: the store's numeric order id")
    settings = runtime.settings
    seconds = body.get("hold_seconds", settings.checkout_hold_seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= (
            settings.checkout_hold_max_seconds):
        raise BadCheck(400, f"hold_seconds: above 0, at most"
                            f" {settings.checkout_hold_max_seconds:g}")
    return {"store": store, "lines": {k: str(v) for k, v in wanted.items()},
            "order_id": None if order_id is None else str(order_id),
            "hold": bool(body.get("hold")), "hold_seconds": float(seconds),
            "release": bool(body.get("release")), "key": body.get("key")}


def hold_key(store: str, order_id: str | None) -> str:
    """Whose provisional hold: the order's id as the holds key it (``woo:<store>:<id>``),
    or a fresh id for a cart without an order yet."""
    if order_id is not None:
        return f"woo:{store}:{order_id}"
    return f"cart:{store}:{time.monotonic_ns()}"


def register(runtime: Runtime) -> None:
    app, settings = runtime.app, runtime.settings
    table = runtime.table(INVENTORY)
    provisional = runtime.provisional

    def owned(sku: str) -> bool:
        partition = partition_of(sku.encode(), settings.partitions)
        try:
            return any(tp.partition == partition and tp.topic == topics.ERP_STOCK.name
                       for tp in app.consumer.assignment())
        except Exception:
            return False

    def local(request: dict[str, Any]) -> list[LineAnswer] | None:
        """This worker's answer for its own SKUs (None when one is not owned here)."""
        now = utcnow()
        key, store = str(request.get("key") or ""), request["store"]
        if request.get("release"):
            for sku in request["lines"]:
                provisional.settle(sku, key)
            return []
        if not all(owned(sku) for sku in request["lines"]):
            return None
        answers = []
        for sku, quantity in request["lines"].items():
            state = SkuState.from_json(sku, table.get(sku.encode()))
            channel = next(c for c in channels(settings, sku) if c.store == store)
            answers.append(answer(state, channel, policy(settings, sku),
                                  provisional.units(sku, now, excluding=key),
                                  Decimal(quantity)))
        if request.get("hold") and key and all(a.fits for a in answers):
            expires = now + timedelta(seconds=float(request.get(
                "hold_seconds", settings.checkout_hold_seconds)))
            for a in answers:
                provisional.hold(a.sku, key, Provisional(store, a.quantity, expires))
        return answers

    async def ask(owner: Any, request: dict[str, Any]) -> list[LineAnswer] | None:
        """The owner's answer (over HTTP when it is another worker)."""
        if owner is None:
            return local(request)
        raw = json.dumps(request).encode()
        secret = settings.stores[request["store"]].webhook_secret.get_secret_value()
        async with app.http_client.post(
                f"{str(owner).rstrip('/')}/reservations/check/local", data=raw,
                headers={SIGNATURE: sign(raw, secret),
                         "Content-Type": "application/json"}) as response:
            if response.status != 200:
                return None
            found = await response.json()
        return [LineAnswer(a["sku"], Decimal(a["quantity"]), a["available"], a["fits"])
                for a in found["lines"]]

    def signed(request: Any, raw: bytes, store: str) -> bool:
        secret = settings.stores[store].webhook_secret.get_secret_value()
        return bool(secret) and verify(raw, secret, request.headers.get(SIGNATURE))

    async def check_local(web: Any, request: Any) -> Any:
        raw = await request.read()
        try:
            body = json.loads(raw)
            store = body.get("store") if isinstance(body, dict) else None
        except ValueError:
            store = None
        # Only another worker calls this, signing as the store: whatever is not signed
        # is refused before it is read further.
        if not isinstance(store, str) or store not in settings.stores or not signed(
                request, raw, store):
            return web.json({"error": "invalid or missing signature"}, status=401)
        try:
            asked = {**body, "lines": {str(k): str(Decimal(str(v)))
                                       for k, v in dict(body["lines"]).items()}}
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return web.json({"error": "malformed"}, status=400)
        answers = local(asked)
        if answers is None:
            return web.json({"error": "not this worker's SKU"}, status=409)
        return web.json({"lines": [a.to_json() for a in answers]})

    async def check(web: Any, request: Any) -> Any:
        started = time.perf_counter()
        raw = await request.read()
        try:
            asked = parse(runtime, raw)
        except BadCheck as exc:
            return web.json({"error": str(exc)}, status=exc.status)
        if (asked["hold"] or asked["release"]) and not signed(request, raw, asked["store"]):
            return web.json({"error": f"a hold must be signed ({SIGNATURE}: base64"
                                      " HMAC-SHA256 of the body with the store's webhook"
                                      " secret)"}, status=401)
        busy = settling(web, runtime)
        if busy is not None:
            return busy
        asked["key"] = asked["key"] if asked["release"] else hold_key(asked["store"],
                                                                       asked["order_id"])
        by_owner: dict[Any, dict[str, str]] = {}
        for sku, quantity in asked["lines"].items():
            by_owner.setdefault(_owner(runtime, sku), {})[sku] = quantity
        answers: list[LineAnswer] = []
        held: list[Any] = []
        for owner, lines in by_owner.items():
            found = await ask(owner, {**asked, "lines": lines})
            if found is None:
                for done in held:  # all or nothing
                    await ask(done, {**asked, "lines": by_owner[done], "release": True})
                return web.json({"error": "partitions are moving; try again"},
                                status=503, headers={"Retry-After": "1"})
            answers += found
            if asked["hold"] and all(a.fits for a in found):
                held.append(owner)
        fits = all(a.fits for a in answers)
        if asked["hold"] and not fits:
            for owner in held:
                await ask(owner, {**asked, "lines": by_owner[owner], "release": True})
        runtime.metrics.checkout_checks.labels("fits" if fits else "refused").inc()
        runtime.metrics.checkout_latency.observe(time.perf_counter() - started)
        hold = None
        if asked["hold"] and fits and not asked["release"]:
            hold = {"key": asked["key"], "expires_at": (utcnow() + timedelta(
                seconds=asked["hold_seconds"])).isoformat()}
        return web.json({"store": asked["store"], "fits": fits,
                         "lines": [a.to_json() for a in answers], "hold": hold})

    # Registered before inventory_web's /reservations/{sku}, which "check" would match.
    @app.page("/reservations/check/local")
    class Local(View):
        async def post(self, request: Any) -> Any:
            return await check_local(self, request)

    @app.page("/reservations/check")
    class Check(View):
        async def get(self, request: Any) -> Any:
            return self.json({"error": "the check is a POST with a JSON body"}, status=405)

        async def post(self, request: Any) -> Any:
            return await check(self, request)


def _owner(runtime: Runtime, sku: str) -> Any:
    """The URL of the worker that owns the SKU's row, or None when it is this one."""
    app = runtime.app
    try:
        url = app.router.key_store(INVENTORY.name, sku.encode())
    except KeyError:
        return None  # no assignment known yet: answered here, or refused as not owned
    mine = app.conf.canonical_url
    if (url.host, url.port) == (mine.host, mine.port):
        return None
    return url


AGENT = AgentSpec("checkout", register, reads=(INVENTORY,))

"""Applying store commands to WooCommerce stores through their REST API.

Consumes a batch of canonical store commands (SetAvailability, SetOrderStatus,
AddTracking, SetPrice, SetProduct); produces one Report per command (its delivery: done,
refused, failed, or superseded). Availability within a batch is coalesced per SKU and
sent as absolute values through batch endpoints (streams.woo.sink_plan). A SKU is looked up once per
store (``GET /products?sku=``); a variation whose stock its parent manages is written on
the parent (tables.stock). While a store is unavailable (429, 5xx, no answer) its
circuit breaker holds the caller, so the backlog waits in Kafka instead of failing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from streams.codec import Message
from streams.delivery import Deliverer, Delivery
from streams.metrics import Metrics
from streams.settings import Settings
from streams.woo import ids
from streams.woo.client import StoreClients, WooClient, WooRejected, WooUnavailable
from streams.woo.sink_plan import ProductRef, availability_requests, coalesce, issued_at
from tables.order_status import may_write
from tables.stock import stock_holder

TRACKING_META = "_wc_shipment_tracking_items"
MISSING_TTL = 300.0  # seconds before a SKU the store lacked is looked up again
APPLIED_MAX = 500_000


@dataclass(frozen=True)
class Report:
    command: Message
    delivery: Delivery[Any]
    superseded: bool = False


class StoreSink:
    """Applies store commands through each store's REST API. Keeps, per store, a
    deliverer (backoff, circuit breaker) and where each SKU's stock lives."""

    def __init__(self, settings: Settings, metrics: Metrics, stores: StoreClients) -> None:
        self.stores = stores
        self.deliverers = {store: Deliverer(f"woo:{store}", settings, metrics,
                                            retryable=(WooUnavailable,),
                                            rejected=(WooRejected,))
                           for store in settings.stores}
        self.refs: dict[tuple[str, str], ProductRef] = {}
        self.missing: dict[tuple[str, str], float] = {}
        # When the availability last applied to each (store, SKU) was issued: an older
        # command (late, or replayed from the dead letters) is superseded, not applied.
        # In memory, bounded: after a restart the resync re-establishes the truth.
        self.applied: dict[tuple[str, str], datetime] = {}
        self.reports: list[Report] = []

    async def apply(self, commands: list[Message]) -> list[Report]:
        """Apply one batch; return one report per command, in no particular order."""
        self.reports = []
        plan = coalesce(commands, self.applied)
        for earlier, later in plan.superseded:
            self._report(earlier, Delivery(0, result=f"superseded by "
                                                 f"{later.body['command_id']}"), True)
        for stale in plan.stale:
            self._report(stale, Delivery(0, result="superseded by a newer value applied"),
                         True)
        by_store: dict[str, list[Message]] = {}
        for (store, _sku), command in plan.latest.items():
            by_store.setdefault(store, []).append(command)
        for store, store_commands in by_store.items():
            await self._availability(store, store_commands)
        for command in plan.others:
            await self._other(command)
        return self.reports

    async def _availability(self, store: str, commands: list[Message]) -> None:
        if store not in self.deliverers:
            for command in commands:
                self._report(command, Delivery(0, rejected=f"unknown store {store!r}"))
            return
        client = self.stores[store]
        known: dict[str, ProductRef] = {}
        for command in commands:
            sku = command.body["sku"]
            found = await self.deliverers[store].deliver(partial(self._ref, client, store, sku))
            if found.ok and found.result is not None:
                known[sku] = found.result
            elif found.ok:
                # The ERP has products a store does not sell: nothing to set, no error.
                self._report(command, Delivery(found.attempts,
                                               result=f"not sold in store {store}"))
            else:
                self._report(command, found)
        ready = [c for c in commands if c.body["sku"] in known]
        for path, pairs in availability_requests(ready, known).items():
            delivery = await self.deliverers[store].deliver(
                partial(client.batch_update, path, [item for _, item in pairs]))
            results = {r.get("id"): r for r in (delivery.result or [])}
            for command, item in pairs:
                result = results.get(item["id"], {})
                if not delivery.ok:
                    self._report(command, delivery)
                elif "error" in result:
                    self._report(command, Delivery(delivery.attempts,
                                                         rejected=str(result["error"])))
                else:
                    self._applied(command)
                    self._report(command, Delivery(delivery.attempts,
                                                         result=str(item["id"])))

    def _applied(self, command: Message) -> None:
        if len(self.applied) >= APPLIED_MAX:
            self.applied.clear()  # forgetting only lets an old value through until resync
        key = (command.body["store"], command.body["sku"])
        self.applied[key] = max(issued_at(command), self.applied.get(key, issued_at(command)))

    async def _ref(self, client: WooClient, store: str, sku: str) -> ProductRef | None:
        if (store, sku) in self.refs:
            return self.refs[(store, sku)]
        # A SKU the store lacks is asked again after a while (it may be added later).
        if time.monotonic() - self.missing.get((store, sku), -MISSING_TTL) < MISSING_TTL:
            return None
        found = await client.get("/products", sku=sku)
        if not found:
            self.missing[(store, sku)] = time.monotonic()
            return None
        product = found[0]
        own, parent = int(product["id"]), int(product.get("parent_id") or 0)
        holder = stock_holder(own, parent, product.get("manage_stock"))
        if holder != own:
            ref = ProductRef(holder)  # the parent holds the stock
        elif product.get("type") == "variation":
            ref = ProductRef(own, parent, variation=True)
        else:
            ref = ProductRef(own)
        self.refs[(store, sku)] = ref
        return ref

    async def _other(self, command: Message) -> None:
        body = command.body
        store = body["store"]
        if store not in self.deliverers:
            self._report(command, Delivery(0, rejected=f"unknown store {store!r}"))
            return
        client = self.stores[store]
        if command.short_name in ("SetPrice", "SetProduct"):
            setter = _set_price if command.short_name == "SetPrice" else _set_product
            delivery = await self.deliverers[store].deliver(partial(setter, client, body))
            self._report(command, delivery)
            return
        try:
            woo_id = ids.parse(body.get("order_id", "")).woo_id
        except ValueError as exc:
            self._report(command, Delivery(0, rejected=str(exc)))
            return
        if command.short_name == "SetOrderStatus":
            call = partial(_set_status, client, woo_id, body["status"])
        elif command.short_name == "AddTracking":
            call = partial(_add_tracking, client, woo_id, body)
        else:
            self._report(command, Delivery(0, rejected=f"{command.short_name} is not"
                                                 " handled by the store sink yet"))
            return
        # Reported as delivered, with whether a give-up may be retried (self-healing
        # re-sends those, not refusals).
        self._report(command, await self.deliverers[store].deliver(call))

    def _report(self, command: Message, delivery: Delivery[Any],
                superseded: bool = False) -> None:
        self.reports.append(Report(command, delivery, superseded))


async def _set_price(client: WooClient, command: dict[str, Any]) -> str:
    """The product's own prices (a variation's on the variation, never its parent's):
    WooCommerce takes prices as strings; a sale price comes with its GMT dates."""
    found = await client.get("/products", sku=command["sku"])
    if not found:
        raise WooRejected(404, "woosync_no_product", f"no product with SKU {command['sku']!r}")
    product = found[0]
    own, parent = int(product["id"]), int(product.get("parent_id") or 0)
    path = (f"/products/{parent}/variations/{own}" if product.get("type") == "variation"
            else f"/products/{own}")
    body: dict[str, Any] = {"regular_price": str(command["regular_price"])}
    if command.get("sale_price") is not None:
        body["sale_price"] = str(command["sale_price"])
        for field, name in (("sale_from", "date_on_sale_from_gmt"),
                            ("sale_to", "date_on_sale_to_gmt")):
            if command.get(field) is not None:
                body[name] = command[field].strftime("%Y-%m-%dT%H:%M:%S")
    await client.request("PUT", path, body=body)
    return f"{path}: regular price {body['regular_price']}"


async def _set_product(client: WooClient, command: dict[str, Any]) -> str:
    """The fields that changed, on the product itself (a variation's on the variation);
    ``meta:<key>`` fields as product meta (updated by key). A product the store lacks is
    created when the command says so, else left (not sold there)."""
    body: dict[str, Any] = {}
    meta = []
    for name, value in sorted(command["fields"].items()):
        if name.startswith("meta:"):
            meta.append({"key": name.removeprefix("meta:"), "value": value})
        else:
            body[name] = value
    if meta:
        body["meta_data"] = meta
    found = await client.get("/products", sku=command["sku"])
    if not found:
        if not command["create"]:
            # Like availability: an ERP product this store does not sell is no error.
            return f"not sold in store {command['store']}"
        created, _ = await client.request("POST", "/products", body={
            "sku": command["sku"], "type": "simple", **body})
        return f"/products/{created.get('id')}: created {command['sku']}"
    product = found[0]
    own, parent = int(product["id"]), int(product.get("parent_id") or 0)
    path = (f"/products/{parent}/variations/{own}" if product.get("type") == "variation"
            else f"/products/{own}")
    await client.request("PUT", path, body=body)
    return f"{path}: {', '.join(sorted(command['fields']))}"


async def _set_status(client: WooClient, woo_id: int, status: str) -> str:
    """Set the order's status unless the store has moved it on meanwhile (a status the
    store set later than woosync's decision belongs to the store)."""
    current = str((await client.get(f"/orders/{woo_id}")).get("status", ""))
    if not may_write(current, status):
        return f"{woo_id}: left {current} (not moved to {status})"
    await client.request("PUT", f"/orders/{woo_id}", body={"status": status})
    return f"{woo_id}: {current} -> {status}"


async def _add_tracking(client: WooClient, woo_id: int, command: dict[str, Any]) -> str:
    """Tracking as WooCommerce stores show it (woocommerce-facts.md 2.9b): an item of the
    shipment-tracking meta ``_wc_shipment_tracking_items`` (kept with the order's other
    items) and a customer note. Each part is skipped when already there, so a retry or a
    replay adds nothing twice."""
    number = command["tracking_number"]
    order = await client.get(f"/orders/{woo_id}")
    items = next((m.get("value") or [] for m in order.get("meta_data", [])
                  if m.get("key") == TRACKING_META), [])
    if not any(i.get("tracking_number") == number for i in items):
        item = {"tracking_provider": command.get("carrier") or "",
                "custom_tracking_provider": "", "custom_tracking_link": "",
                "tracking_number": number, "date_shipped": int(time.time()),
                "tracking_id": command["command_id"][:32]}
        await client.request("PUT", f"/orders/{woo_id}", body={
            "meta_data": [{"key": TRACKING_META, "value": [*items, item]}]})
    notes = await client.get(f"/orders/{woo_id}/notes")
    if not any(number in str(n.get("note", "")) for n in notes):
        carrier = f" ({command['carrier']})" if command.get("carrier") else ""
        await client.request("POST", f"/orders/{woo_id}/notes", body={
            "note": f"Your order has shipped. Tracking number: {number}{carrier}.",
            "customer_note": True})
    return f"{woo_id}: tracking {number}"

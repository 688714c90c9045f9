"""push_to_stores: reads ``store.commands`` and applies them to each WooCommerce store
through its REST API; writes every outcome to ``delivery.results`` (CommandDelivered,
CommandFailed) and a refused command also to ``dlq``.

Commands are taken in small batches (``sink_coalesce_seconds``); availability within a
batch is coalesced per SKU and sent as absolute values through batch endpoints
(streams.woo.sink_plan). A SKU is looked up once per store (``GET /products?sku=``);
a variation whose stock its parent manages is written on the parent. While a store
is unavailable (429, 5xx, no answer) its circuit breaker holds the agent, so the
backlog waits in Kafka instead of failing. No tables.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from streams import topics
from streams.codec import Message
from streams.delivery import Deliverer, Delivery, result_message
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.woo import ids
from streams.woo.client import StoreClients, WooClient, WooRejected, WooUnavailable
from streams.woo.sink_plan import ProductRef, availability_requests, coalesce
from tables.stock import stock_holder


def register(runtime: Runtime) -> None:
    settings = runtime.settings
    stores = runtime.stores
    assert stores is not None
    deliverers = {store: Deliverer(f"woo:{store}", settings, runtime.metrics,
                                   retryable=(WooUnavailable,), rejected=(WooRejected,))
                  for store in settings.stores}
    refs: dict[tuple[str, str], ProductRef] = {}

    async def handle(batch: list[Inbound]) -> None:
        sink = _Sink(runtime, stores, deliverers, refs, {id(i.message): i for i in batch})
        await sink.run([i.message for i in batch])

    @runtime.app.agent(runtime.topics[topics.STORE_COMMANDS], name="push_to_stores")
    async def push_to_stores(stream: Any) -> None:
        await runtime.each_batch(stream, "store-sink", handle, settings.sink_batch_max,
                                 settings.sink_coalesce_seconds)


class _Sink:
    def __init__(self, runtime: Runtime, stores: StoreClients,
                 deliverers: dict[str, Deliverer], refs: dict[tuple[str, str], ProductRef],
                 inbound: dict[int, Inbound]) -> None:
        self.runtime = runtime
        self.stores = stores
        self.deliverers = deliverers
        self.refs = refs
        self.inbound = inbound

    async def run(self, commands: list[Message]) -> None:
        plan = coalesce(commands)
        for earlier, later in plan.superseded:
            await self._report(earlier, Delivery(0, result=f"superseded by "
                                                 f"{later.body['command_id']}"), True)
        by_store: dict[str, list[Message]] = {}
        for (store, _sku), command in plan.latest.items():
            by_store.setdefault(store, []).append(command)
        for store, store_commands in by_store.items():
            await self._availability(store, store_commands)
        for command in plan.others:
            await self._other(command)

    async def _availability(self, store: str, commands: list[Message]) -> None:
        if store not in self.deliverers:
            for command in commands:
                await self._report(command, Delivery(0, rejected=f"unknown store {store!r}"))
            return
        client = self.stores[store]
        known: dict[str, ProductRef] = {}
        for command in commands:
            sku = command.body["sku"]
            found = await self.deliverers[store].deliver(partial(self._ref, client, store, sku))
            if found.ok and found.result is not None:
                known[sku] = found.result
            else:
                await self._report(command, found if not found.ok else Delivery(
                    found.attempts, rejected=f"no product with SKU {sku!r} in store {store}"))
        ready = [c for c in commands if c.body["sku"] in known]
        for path, pairs in availability_requests(ready, known).items():
            delivery = await self.deliverers[store].deliver(
                partial(client.batch_update, path, [item for _, item in pairs]))
            results = {r.get("id"): r for r in (delivery.result or [])}
            for command, item in pairs:
                result = results.get(item["id"], {})
                if not delivery.ok:
                    await self._report(command, delivery)
                elif "error" in result:
                    await self._report(command, Delivery(delivery.attempts,
                                                         rejected=str(result["error"])))
                else:
                    await self._report(command, Delivery(delivery.attempts,
                                                         result=str(item["id"])))

    async def _ref(self, client: WooClient, store: str, sku: str) -> ProductRef | None:
        if (store, sku) in self.refs:
            return self.refs[(store, sku)]
        found = await client.get("/products", sku=sku)
        if not found:
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
            await self._report(command, Delivery(0, rejected=f"unknown store {store!r}"))
            return
        client = self.stores[store]
        try:
            woo_id = ids.parse(body.get("order_id", "")).woo_id
        except ValueError as exc:
            await self._report(command, Delivery(0, rejected=str(exc)))
            return
        if command.short_name == "SetOrderStatus":
            call = partial(client.request, "PUT", f"/orders/{woo_id}",
                           body={"status": body["status"]})
        elif command.short_name == "AddTracking":
            call = partial(client.request, "PUT", f"/orders/{woo_id}", body={"meta_data": [
                {"key": "_tracking_number", "value": body["tracking_number"]},
                {"key": "_tracking_provider", "value": body.get("carrier") or ""}]})
        else:
            await self._report(command, Delivery(0, rejected=f"{command.short_name} is not"
                                                 " handled by the store sink yet"))
            return
        delivery = await self.deliverers[store].deliver(call)
        await self._report(command, Delivery(delivery.attempts, result=woo_id,
                                             rejected=delivery.rejected, failed=delivery.failed))

    async def _report(self, command: Message, delivery: Delivery[Any],
                      superseded: bool = False) -> None:
        target = f"woo:{command.body.get('store', '?')}"
        error = delivery.error
        ref = None if delivery.result is None else str(delivery.result)
        name, fields = result_message(command.body, command.short_name, target, delivery, ref,
                                      duplicate=superseded)
        inbound = self.inbound[id(command)]
        await self.runtime.emit(topics.DELIVERY_RESULTS, command.body["command_id"], name,
                                fields, inbound.cause, delivery.attempts, superseded)
        if error is not None:
            await self.runtime.dead_letter(inbound.event, "store-sink", error,
                                           attempts=delivery.attempts)


AGENT = AgentSpec("store_sink", register)

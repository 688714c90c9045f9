"""sync_customers: store customers -> ERP parties. Reads ``commerce.customers``
(CustomerObserved: the normalizer publishes only snapshots newer than the last one seen)
and sends UpsertParty to ``erp.commands``, keyed by the customer id, so one customer's
commands reach the ERP one at a time. The ERP adapter finds the party by the store
customer id, then by e-mail, and adds the addresses it lacks: a customer who moves stays
one party. No tables.
"""

from __future__ import annotations

from typing import Any

from streams import topics
from streams.envelope import deterministic_id
from streams.runtime import AgentSpec, Inbound, Runtime


def register(runtime: Runtime) -> None:
    source = runtime.app.topic(topics.COMMERCE_CUSTOMERS.name, key_serializer="raw",
                               value_serializer="raw")

    async def handle(inbound: Inbound) -> None:
        body = inbound.body
        if body["store"] not in runtime.settings.stores:
            return  # a store no longer configured: its customers are not ours to sync
        await runtime.emit(topics.ERP_COMMANDS, body["customer_id"], "woosync.UpsertParty", {
            "command_id": deterministic_id("UpsertParty", body["envelope"]["event_id"]),
            "customer_id": body["customer_id"], "store": body["store"],
            "woo_id": body["woo_id"],
            # The account's e-mail is the one to match by (an address may carry another).
            "billing": {**body["billing"], "email": body["email"] or body["billing"]["email"],
                        "first_name": body["billing"]["first_name"] or body["first_name"],
                        "last_name": body["billing"]["last_name"] or body["last_name"]},
            "shipping": body["shipping"]}, inbound.cause)

    @runtime.app.agent(source, name="sync_customers")
    async def sync_customers(stream: Any) -> None:
        await runtime.each(stream, "customers", handle, ("CustomerObserved",))


AGENT = AgentSpec("customers", register)

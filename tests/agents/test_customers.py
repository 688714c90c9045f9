"""The customers agent's glue: a store customer's snapshot becomes one UpsertParty for
the ERP, keyed by the customer (so its commands go one at a time), matched by the
account's e-mail; a store no longer configured is left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents import customers
from streams.woo import models, normalize
from tests.agents.conftest import Harness

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
KEYS = {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "wh"}


def _customer(store: str, woo_id: int) -> dict[str, Any]:
    return normalize.customer_observed(store, models.Customer.model_validate({
        "id": woo_id, "email": "ada@example.com", "first_name": "Ada", "last_name": "L",
        "billing": {"city": "Lyon", "address_1": "1 Rue A"},
        "shipping": {"city": "Paris", "address_1": "2 Rue B"},
        "date_modified_gmt": "2026-12-02T09:00:00"}), NOW)


async def test_a_store_customer_becomes_one_upsert_party(make_harness: Any) -> None:
    h: Harness = await make_harness([customers.AGENT], partitions=1, stores={"north": KEYS})
    async with h.agent("sync_customers").test_context() as agent:
        await agent.put(h.encode("woosync.CustomerObserved", _customer("gone", 8)),
                        key=b"woo:gone:customer:8")
        await agent.put(h.encode("woosync.CustomerObserved", _customer("north", 7)),
                        key=b"woo:north:customer:7")
        await h.until(lambda: len(h.out("erp.commands")) == 1)
    (key, command), = h.out("erp.commands")
    assert key == "woo:north:customer:7" and command.short_name == "UpsertParty"
    assert command.body["woo_id"] == 7 and command.body["store"] == "north"
    # The account's e-mail and name fill an address without them.
    assert (command.body["billing"]["email"], command.body["billing"]["first_name"]) == (
        "ada@example.com", "Ada")
    assert command.body["shipping"]["city"] == "Paris"

"""Reading deliveries against a version: a snapshot dated in the future is re-read, and
refused if the store keeps dating it so; a remembered version from the future no longer
freezes the resource."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from streams.envelope import utcnow
from streams.woo.reading import FutureSnapshot, read_delivery
from tables.snapshots import Seen
from woo_emulator import phpjson, rest
from woo_emulator.store import Store


class OneResource:
    """A store client whose every GET answers the resource as the store has it now."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload, self.gets = payload, 0

    async def get(self, path: str, **params: Any) -> Any:
        self.gets += 1
        return self.payload


def _order_at(modified: datetime) -> dict[str, Any]:
    store = Store(lambda: modified)
    mug = store.add_product(name="Mug", sku="MUG", regular_price=Decimal("9.50"),
                            stock_quantity=5)
    order = store.create_order([(mug.id, 1)], {"email": "a@example.com"},
                               status="processing")
    data: dict[str, Any] = json.loads(phpjson.encode(rest.order_json(order, 2)))
    return data


def _delivery(payload: dict[str, Any]) -> dict[str, Any]:
    return {"store": "demo", "resource": "order", "body": json.dumps(payload).encode(),
            "received_at": utcnow()}


async def test_a_snapshot_from_2099_is_reread_and_refused() -> None:
    future = _order_at(datetime(2099, 1, 1, tzinfo=UTC))
    client = OneResource(future)
    with pytest.raises(FutureSnapshot, match="ahead of this worker's clock"):
        await read_delivery(client, _delivery(future), None)  # type: ignore[arg-type]
    assert client.gets == 1


async def test_a_future_snapshot_the_store_corrects_on_reread_is_published() -> None:
    now = utcnow().replace(microsecond=0)
    client = OneResource(_order_at(now))
    stale: Any = client
    reading = await read_delivery(stale, _delivery(_order_at(now + timedelta(days=3))), None)
    assert [m[2] for m in reading.messages] == ["woosync.OrderObserved"]
    assert reading.seen is not None and reading.seen.modified == now.isoformat()


async def test_a_remembered_future_version_does_not_freeze_the_order() -> None:
    now = utcnow().replace(microsecond=0)
    payload = _order_at(now)
    frozen = Seen(datetime(2099, 1, 1, tzinfo=UTC).isoformat(), "digest")
    client: Any = OneResource(payload)
    reading = await read_delivery(client, _delivery(payload), frozen)
    assert [m[2] for m in reading.messages] == ["woosync.OrderObserved"]


async def test_a_customer_delivery_becomes_customer_observed_once() -> None:
    now = utcnow().replace(microsecond=0)
    payload = {"id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "L",
               "billing": {"city": "Lyon"}, "shipping": {"city": "Paris"},
               "date_modified_gmt": now.strftime("%Y-%m-%dT%H:%M:%S")}
    delivery = {**_delivery(payload), "resource": "customer"}
    client: Any = OneResource(payload)
    reading = await read_delivery(client, delivery, None)
    (topic, key, name, body), = reading.messages
    assert (topic.name, key, name) == ("commerce.customers", "woo:demo:customer:7",
                                       "woosync.CustomerObserved")
    assert body["shipping"]["city"] == "Paris" and body["email"] == "ada@example.com"
    again = await read_delivery(client, delivery, reading.seen)
    assert again.messages == []  # the same snapshot: nothing new

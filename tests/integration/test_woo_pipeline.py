"""The WooCommerce edge through a real broker and a worker: webhooks from the emulator
become canonical snapshots once, whatever WooCommerce's faults; the sweep heals a lost
webhook; the ingress refuses what it must; the sink converges through 429s and 5xx."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack import seed_data
from devstack.kafka_broker import free_port
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.codec import Codec, Message
from streams.compacted import read_topic
from streams.envelope import deterministic_id, envelope
from streams.errors import DecodeError
from streams.settings import Settings
from streams.woo.signature import sign
from tests.integration.conftest import worker_env
from tests.integration.kafka_io import read_until
from woo_emulator import phpjson
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread

pytestmark = pytest.mark.integration
SECRET = "whsec-test"


@dataclass
class Shop:
    store: str
    emulator: EmulatorThread
    worker: ManagedProcess
    settings: Settings
    ingress_port: int

    @property
    def ingress(self) -> str:
        # The worker serves the webhook endpoint on a port of its own here.
        return f"http://127.0.0.1:{self.ingress_port}/webhooks/woocommerce/{self.store}"

    def control(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"{self.emulator.url}/__emulator/{path}",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def hook(self, topic: str) -> None:
        from woo_emulator.webhooks import Webhook

        engine = self.emulator.emulator.webhooks
        hook_id = 9000 + len(engine.hooks)
        engine.hooks[hook_id] = Webhook(hook_id, topic, topic, self.ingress, SECRET)

    def sku_id(self, sku: str) -> int:
        product = self.emulator.emulator.store.by_sku(sku)
        assert product is not None
        return product.id


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Iterator[Shop]:
    store = f"shop{uuid.uuid4().hex[:6]}"
    emulator = EmulatorThread(EmulatorConfig(time_scale=0.05),
                              catalogue=seed_data.store_catalogue()).start()
    stores = {store: {"rest_url": emulator.api, "consumer_key": "ck_demo",
                      "consumer_secret": "cs_demo", "webhook_secret": SECRET}}
    ingress_port = free_port()
    env = {**worker_env(settings), "WOOSYNC_STORES": json.dumps(stores),
           "WOOSYNC_INGRESS_PORT": str(ingress_port),
           "WOOSYNC_WOO_SWEEP_INTERVAL": "1", "WOOSYNC_WOO_SWEEP_OVERLAP_SECONDS": "5",
           "WOOSYNC_ERP_POLL_INTERVAL": "3600", "WOOSYNC_SINK_COALESCE_SECONDS": "0.2",
           "WOOSYNC_RETRY_CAP_SECONDS": "0.5", "WOOSYNC_BREAKER_RESET_SECONDS": "0.5",
           # Start at the end of the topics, not behind every earlier test's history on
           # the shared broker (a flash sale before this left thousands of events).
           "WOOSYNC_CONSUMER_OFFSET_RESET": "latest"}
    worker = worker_process(tmp_path / "worker.log", env).start(WORKER_READY)
    yield Shop(store, emulator, worker, settings.model_copy(update={"stores": {}}),
               ingress_port)
    worker.stop()
    emulator.stop()


async def _order_json(shop: Shop, woo_id: int) -> dict[str, Any]:
    """The order as the store's REST API shows it (run on the emulator's loop)."""
    from woo_emulator.rest import order_json

    order = shop.emulator.emulator.store.orders[woo_id]
    return json.loads(phpjson.encode(order_json(order, 2)))  # type: ignore[no-any-return]


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _signed(body: bytes, topic: str = "order.updated", secret: str = SECRET
            ) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": topic.partition(".")[0],
            "X-WC-Webhook-Event": topic.partition(".")[2], "X-WC-Webhook-ID": "77",
            "X-WC-Webhook-Signature": sign(body, secret),
            "X-WC-Webhook-Delivery-ID": "0" * 32}


def _orders(shop: Shop, order_id: str, done: Any, timeout: float = 60) -> list[Any]:
    return [m for _, m in read_until(shop.settings, t.COMMERCE_ORDERS.name, done,
                                     keep=lambda key, m: key == order_id, timeout=timeout)]


def test_a_checkout_arrives_as_one_order_observed(shop: Shop) -> None:
    shop.hook("order.created")
    shop.hook("order.updated")
    order = shop.control("checkout", {"items": [{"product_id": shop.sku_id("MUG"),
                                                 "quantity": 2}],
                                      "billing": {"email": "a@example.com"}})
    order_id = f"woo:{shop.store}:{order['id']}"
    _orders(shop, order_id, lambda got: len(got) >= 1)
    # Both webhooks (created, updated) delivered, and answered: they are on woo.raw.
    engine = shop.emulator.emulator.webhooks
    deadline = time.monotonic() + 30
    while len([d for d in engine.log if d.resource_id == order["id"] and d.status == 200]) < 2:
        assert time.monotonic() < deadline, "the store did not deliver both webhooks"
        time.sleep(0.1)
    # A barrier: a newer snapshot of the same order, on the same partition, is handled
    # after everything before it, so once it is out every earlier delivery is judged.
    # (Two minutes ahead: within the clock skew a snapshot may have before it is re-read.)
    later = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S")
    barrier = phpjson.encode({**shop.emulator.call(_order_json(shop, order["id"])),
                              "status": "completed", "date_modified_gmt": later})
    assert _post(shop.ingress, barrier, _signed(barrier)) == 200
    seen = _orders(shop, order_id, lambda got: any(m.body["status"] == "completed"
                                                   for _, m in got))
    assert [m.body["status"] for m in seen] == ["processing", "completed"]
    assert seen[0].body["lines"][0]["sku"] == "MUG" and seen[0].body["lines"][0]["quantity"] == 2


def test_duplicated_and_out_of_order_deliveries_yield_the_right_snapshots(shop: Shop) -> None:
    base = shop.emulator.emulator.store
    mug = base.by_sku("MUG")
    assert mug is not None
    order = shop.emulator.run(base.create_order, [(mug.id, 1)], {"email": "b@example.com"})
    from woo_emulator.rest import order_json

    snapshot = order_json(order, 2)
    # An id the store does not have, so that the sweep cannot interfere.
    first = {**snapshot, "id": 990001, "status": "pending",
             "date_modified_gmt": "2026-11-28T07:00:00"}
    second = {**first, "status": "processing", "date_modified_gmt": "2026-11-28T07:00:05"}
    newer, older = phpjson.encode(second), phpjson.encode(first)
    # Updated before created, three times over, then the stale one twice.
    for _ in range(3):
        assert _post(shop.ingress, newer, _signed(newer)) == 200
    for _ in range(2):
        assert _post(shop.ingress, older, _signed(older, "order.created")) == 200
    order_id = f"woo:{shop.store}:990001"
    # A later snapshot is news again; it is also the barrier: handled after all the
    # duplicates and stale ones before it on the same partition.
    third = phpjson.encode({**second, "status": "completed",
                            "date_modified_gmt": "2026-11-28T07:00:09"})
    assert _post(shop.ingress, third, _signed(third)) == 200
    seen = _orders(shop, order_id, lambda got: any(m.body["status"] == "completed"
                                                   for _, m in got))
    assert [(m.body["status"], m.body["modified_at"]) for m in seen] == [
        ("processing", datetime(2026, 11, 28, 7, 0, 5, tzinfo=UTC)),
        ("completed", datetime(2026, 11, 28, 7, 0, 9, tzinfo=UTC))]


def test_a_dropped_webhook_is_healed_by_the_sweep(shop: Shop) -> None:
    shop.hook("order.created")
    shop.control("faults", {"drop": 1.0})
    order = shop.control("checkout", {"items": [{"product_id": shop.sku_id("CAP"),
                                                 "quantity": 1}]})
    order_id = f"woo:{shop.store}:{order['id']}"
    seen = _orders(shop, order_id, lambda got: len(got) >= 1, timeout=30)
    assert seen[0].body["status"] == "processing"
    dropped = [d for d in shop.emulator.emulator.webhooks.log if d.fault == "dropped"]
    assert dropped, "the fault was not exercised"


def test_bad_input_is_refused_and_nothing_is_published(shop: Shop) -> None:
    body = phpjson.encode({"id": 424242, "status": "processing"})
    assert _post(shop.ingress, body, _signed(body, secret="wrong")) == 401
    unsigned = {k: v for k, v in _signed(body).items() if k != "X-WC-Webhook-Signature"}
    assert _post(shop.ingress, body, unsigned) == 401
    malformed = b"{not json"
    assert _post(shop.ingress, malformed, _signed(malformed)) == 400
    no_id = b'{"status":"processing"}'
    assert _post(shop.ingress, no_id, _signed(no_id)) == 400
    huge = b'{"id":424242,"pad":"' + b"x" * 1_100_000 + b'"}'
    assert _post(shop.ingress, huge, _signed(huge)) == 413
    unknown = shop.ingress.replace(shop.store, "nostore")
    assert _post(unknown, body, _signed(body)) == 404
    ping = b"webhook_id=12"
    assert _post(shop.ingress, ping, {"Content-Type": "application/x-www-form-urlencoded"}
                 ) == 200
    # The ingress has its own port: the worker's web port does not take webhooks.
    on_web_port = shop.ingress.replace(str(shop.ingress_port), str(shop.settings.web_port))
    assert _post(on_web_port, body, _signed(body)) == 404
    # The one valid delivery is published; none of the refused ones are.
    assert _post(shop.ingress, body, _signed(body)) == 200
    # Each refusal was answered before the valid post was made, and anything published
    # for this key is on the valid one's partition before it.
    raw = read_until(shop.settings, t.WOO_RAW.name,
                     lambda got: any(m.body["body"] == body for _, m in got),
                     keep=lambda key, m: key == f"{shop.store}:order:424242", timeout=20)
    assert len(raw) == 1 and raw[0][1].body["body"] == body
    # That body is not a valid order: the normalizer dead-letters it with the reason.
    letters = read_until(shop.settings, t.DLQ.name, lambda got: len(got) >= 1,
                         keep=lambda key, m: key == f"{shop.store}:order:424242", timeout=20)
    assert letters[0][1].body["stage"] == "woo-normalize"
    assert letters[0][1].body["error"].startswith("ValidationError: ")


def _to_end(settings: Settings, topic: str, keep: Callable[[str, Message], bool]
            ) -> list[tuple[str, Message]]:
    codec, kept = Codec(), []

    def visit(record: Any) -> None:
        try:
            message = codec.decode(record.value)
        except DecodeError:
            return  # other tests put undecodable bytes on topics on purpose
        key = record.key.decode() if record.key else ""
        if keep(key, message):
            kept.append((key, message))
    read_topic(settings, topic, visit, deadline_seconds=60)
    return kept


def test_sink_converges_through_429s_and_5xx_in_batches_of_at_most_100(shop: Shop) -> None:
    skus = sorted(p.sku for p in shop.emulator.emulator.store.products.values()
                  if p.sku and p.type != "variable")
    shop.control("faults", {"rest_429": 0.3, "rest_5xx": 0.2})
    now = datetime.now(UTC)
    ids = []
    with CanonicalProducer(shop.settings) as producer:
        for n in range(400):
            sku = skus[n % len(skus)]
            quantity = (n * 7) % 50
            command_id = deterministic_id("set", shop.store, n)
            ids.append(command_id)
            producer.send(t.STORE_COMMANDS, sku, "woosync.SetAvailability", {
                "envelope": envelope(event_id=command_id, occurred_at=now, observed_at=now,
                                     source="woosync", source_version=str(n),
                                     trace_id=command_id),
                "command_id": command_id, "store": shop.store, "sku": sku,
                "quantity": quantity, "stock_status": "instock" if quantity else "outofstock"})
    wanted = set(ids)
    results = read_until(shop.settings, t.DELIVERY_RESULTS.name,
                         lambda got: len({m.body["command_id"] for _, m in got}) >= len(ids),
                         keep=lambda key, m: key in wanted, timeout=120)
    assert {m.short_name for _, m in results} == {"CommandDelivered"}
    # The worker's own availability agent may also command this store (it reads the
    # ERP stock other tests left on the broker): the truth is the last command per SKU in
    # topic order, once every command for the store has its result.
    deadline = time.monotonic() + 60
    while True:
        # Read to the ends (the shared broker's topics grow with the run; a fixed time
        # can stop short of this store's commands).
        commands = _to_end(shop.settings, t.STORE_COMMANDS.name,
                           lambda key, m: m.body["store"] == shop.store)
        every = {m.body["command_id"] for _, m in commands}
        done = {m.body["command_id"] for _, m in _to_end(
            shop.settings, t.DELIVERY_RESULTS.name,
            lambda key, m, every=every: key in every)}  # type: ignore[misc]
        if every <= done or time.monotonic() > deadline:
            break
    assert every <= done
    last = {m.body["sku"]: m.body["quantity"] for _, m in commands
            if m.short_name == "SetAvailability"}
    store = shop.emulator.emulator.store
    for sku, quantity in last.items():
        product = store.by_sku(sku)
        if product is None:
            continue  # a SKU from other tests' ERP data: refused, as checked above
        assert store.stock_owner(product).stock_quantity == quantity, sku
    assert set(skus) <= set(last)
    emulator = shop.emulator.emulator
    assert emulator.batch_sizes and max(emulator.batch_sizes) <= 100
    assert any(status == 429 for _, _, status in emulator.requests)
    assert any(status == 503 for _, _, status in emulator.requests)

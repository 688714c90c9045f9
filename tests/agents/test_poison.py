"""Every agent, fed a value it cannot handle, dead-letters that value with a reason and
goes on to handle the next one (DESIGN.md section 4: a worker never crashes on a bad
message)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agents import (
    availability,
    erp_commands,
    erp_feed,
    holds,
    stock_owners,
    store_sink,
    trace,
    woo_normalize,
)
from devstack import samples
from streams.codec import Message
from streams.envelope import deterministic_id, envelope
from streams.erp.adapter import CanonicalOutput, ChangeBatch, CommandRejected, Outcome
from tables.registry import ORDER_HOLDS, ORDERS, STOCK_OWNERS
from tests.agents.conftest import Harness
from woo_emulator import phpjson, rest
from woo_emulator.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _order(number: int, sku: str = "MUG", quantity: int = 1) -> dict[str, Any]:
    body = samples.order_observed("demo", number, NOW, sku=sku)
    body["status"] = "processing"
    body["lines"] = [{**line, "quantity": quantity} for line in body["lines"]]
    return body


async def test_holds_dead_letters_a_quantity_no_hold_can_carry(make_harness: Any) -> None:
    h: Harness = await make_harness([stock_owners.AGENT, holds.AGENT])
    poison, good = _order(1, quantity=10**17), _order(2)
    async with h.agent("track_holds").test_context() as agent:
        await agent.put(h.encode("woosync.OrderObserved", poison), key=b"woo:demo:1")
        await agent.put(h.encode("woosync.OrderObserved", good), key=b"woo:demo:2")
    letters = h.dead_letters()
    assert [m.body["stage"] for m in letters] == ["holds"]
    assert "does not fit the schema" in letters[0].body["error"]
    assert letters[0].body["value"] == h.encode("woosync.OrderObserved", poison)
    held = h.out("inventory.holds", "HoldSet")
    assert [(key, m.body["order_id"]) for key, m in held] == [("MUG", "woo:demo:2")]
    assert h.runtime.table(ORDER_HOLDS).get(b"woo:demo:2")


async def test_stock_owners_dead_letters_a_message_that_does_not_belong(
        make_harness: Any) -> None:
    h: Harness = await make_harness([stock_owners.AGENT])
    product = {
        "envelope": envelope(event_id="p1", occurred_at=NOW, observed_at=NOW,
                             source="woocommerce:demo", source_version="v", trace_id="t"),
        "store": "demo", "sku": "TSHIRT-S", "product_id": 11, "parent_id": 10,
        "product_type": "variation", "status": "publish", "manage_stock": False,
        "stock_managed_by": 10, "stock_quantity": None, "stock_status": "instock",
        "backorders": "no", "price": None, "regular_price": None, "sale_price": None,
        "modified_at": NOW, "deleted": False}
    async with h.agent("track_stock_owners").test_context() as agent:
        await agent.put(h.encode("woosync.OrderObserved", _order(1)), key=b"x")
        await agent.put(b"\xc3\x01not avro", key=b"y")
        await agent.put(h.encode("woosync.StorefrontProductObserved", product), key=b"z")
    assert len(h.dead_letters()) == 2
    assert h.runtime.table(STOCK_OWNERS).get("demo|11")["managed_by"] == 10


async def test_availability_dead_letters_a_level_no_availability_can_carry(
        make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], inventory_batch_seconds=0.01)
    # Each level fits the 8 bytes of a decimal(18,4); their sum, the ATP, does not.
    huge = samples.stock_level_observed("HOT-01", NOW, Decimal("900000000000000"))
    huge["warehouses"].append({"warehouse": "WH2", "on_hand": Decimal("900000000000000"),
                               "forecast": Decimal("900000000000000")})
    good = samples.stock_level_observed("HOT-02", NOW, Decimal(7))
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved", huge), key=b"HOT-01")
        await agent.put(h.encode("woosync.StockLevelObserved", good), key=b"HOT-02")
        await h.until(lambda: h.dead_letters() and h.out("store.commands"))
    letters = h.dead_letters()
    assert [m.body["stage"] for m in letters] == ["availability"]
    assert "AvailabilityChanged" in letters[0].body["error"]
    commands = h.out("store.commands", "SetAvailability")
    # The feed has sent no heartbeat: stale, so the buffer (5) is kept back.
    assert [(m.body["sku"], m.body["quantity"]) for _, m in commands] == [("HOT-02", 2)]


def _delivery(payload: dict[str, Any], number: int) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    return {"envelope": envelope(event_id=deterministic_id("d", number), occurred_at=NOW,
                                 observed_at=NOW, source="woocommerce:demo",
                                 source_version="v", trace_id="t"),
            "store": "demo", "via": "webhook", "topic": "order.updated",
            "resource": "order", "resource_id": str(payload["id"]), "webhook_id": 1,
            "delivery_id": None, "headers": {}, "body": body, "received_at": NOW}


def _woo_order(store: Store, total: str | None = None) -> dict[str, Any]:
    product = store.add_product(name="Mug", sku=f"MUG-{len(store.products)}",
                                regular_price=Decimal("9.50"), stock_quantity=5)
    order = store.create_order([(product.id, 1)], {"email": "ann@example.com"},
                               status="processing")
    payload: dict[str, Any] = json.loads(phpjson.encode(rest.order_json(order, 0)))
    return {**payload, "total": total} if total else payload


async def test_normalizer_dead_letters_money_no_schema_holds(make_harness: Any) -> None:
    h: Harness = await make_harness([woo_normalize.AGENT])
    store = Store(lambda: NOW)
    poison, good = _woo_order(store, total="1e30"), _woo_order(store)
    async with h.agent("normalize_woo_deliveries").test_context() as agent:
        await agent.put(h.encode("woosync.WooDelivery", _delivery(poison, 1)),
                        key=f"demo:order:{poison['id']}".encode())
        await agent.put(h.encode("woosync.WooDelivery", _delivery(good, 2)),
                        key=f"demo:order:{good['id']}".encode())
    letters = h.dead_letters()
    assert [m.body["stage"] for m in letters] == ["woo-normalize"]
    assert letters[0].body["error"].startswith("ValidationError: total:")
    assert "@" not in letters[0].body["error"]  # no customer e-mail in the reason
    orders = h.out("commerce.orders", "OrderObserved")
    assert [m.body["order_id"] for _, m in orders] == [f"woo:demo:{good['id']}"]


class FakeErp:
    """An ERP adapter that refuses one order, accepts the rest, and normalizes a record
    into a stock level unless its body is not JSON."""

    name = "fake"

    async def execute(self, command: Message) -> Outcome:
        if command.body["order_id"].endswith(":1"):
            raise CommandRejected("unknown SKU")
        return Outcome("SO-1")

    @staticmethod
    def normalize(model: str, record_id: str, body: bytes, read_at: datetime
                  ) -> list[CanonicalOutput]:
        level = json.loads(body)
        from streams import topics
        return [CanonicalOutput(topics.ERP_STOCK, level["sku"], "woosync.StockLevelObserved",
                                samples.stock_level_observed(level["sku"], read_at,
                                                             Decimal(level["qty"])))]

    async def read_changes(self, cursors: Any) -> ChangeBatch:
        return ChangeBatch([], {}, NOW)

    def acknowledge(self, batch: ChangeBatch) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_erp_commands_dead_letters_a_refused_command(make_harness: Any) -> None:
    h: Harness = await make_harness([erp_commands.AGENT], retry_base_seconds=0.01)
    h.runtime.erp = FakeErp()
    h.runtime.app.agents.clear()
    erp_commands.AGENT.register(h.runtime)
    refused = samples.create_sales_order("woo:demo:1", NOW, [("MUG", 1)])
    accepted = samples.create_sales_order("woo:demo:2", NOW, [("MUG", 1)])
    async with h.agent("apply_erp_commands").test_context() as agent:
        await agent.put(h.encode("woosync.CreateSalesOrder", refused), key=b"woo:demo:1")
        await agent.put(h.encode("woosync.CreateSalesOrder", accepted), key=b"woo:demo:2")
    assert [m.body["stage"] for m in h.dead_letters()] == ["erp-command"]
    results = {m.short_name: m.body["command_id"] for _, m in h.out("delivery.results")}
    assert results == {"CommandFailed": refused["command_id"],
                       "CommandDelivered": accepted["command_id"]}


async def test_erp_normalizer_dead_letters_a_record_it_cannot_read(make_harness: Any) -> None:
    h: Harness = await make_harness([erp_feed.AGENT])
    h.runtime.erp = FakeErp()
    h.runtime.app.agents.clear()
    erp_feed.AGENT.register(h.runtime)

    def record(body: bytes, n: int) -> bytes:
        return h.encode("woosync.ErpRecord", {
            "envelope": envelope(event_id=f"r{n}", occurred_at=NOW, observed_at=NOW,
                                 source="erp:fake", source_version="v", trace_id="t"),
            "model": "stock", "record_id": str(n), "body": body, "read_at": NOW})
    async with h.agent("normalize_erp_records").test_context() as agent:
        await agent.put(record(b"{not json", 1), key=b"stock:1")
        await agent.put(record(b'{"sku": "MUG", "qty": 3}', 2), key=b"stock:2")
    letters = h.dead_letters()
    assert [m.body["stage"] for m in letters] == ["erp-normalize"]
    assert letters[0].body["error"].startswith("JSONDecodeError")
    assert [key for key, _ in h.out("erp.stock", "StockLevelObserved")] == ["MUG"]


async def test_store_sink_reports_and_dead_letters_a_command_for_no_known_order(
        make_harness: Any) -> None:
    h: Harness = await make_harness([store_sink.AGENT], sink_coalesce_seconds=0.01)

    def status(order_id: str, n: int, store: str = "demo") -> bytes:
        return h.encode("woosync.SetOrderStatus", {
            "envelope": envelope(event_id=f"c{n}", occurred_at=NOW, observed_at=NOW,
                                 source="woosync", source_version="v", trace_id="t"),
            "command_id": f"cmd-{n}", "store": store, "order_id": order_id,
            "status": "completed"})
    async with h.agent("push_to_stores").test_context() as agent:
        await agent.put(status("not-an-order", 1), key=b"x")
        await agent.put(status("woo:nowhere:2", 2, store="nowhere"), key=b"y")
        await h.until(lambda: len(h.dead_letters()) == 2)
    letters = h.dead_letters()
    assert [m.body["stage"] for m in letters] == ["store-sink", "store-sink"]
    assert "not a canonical store order" in letters[0].body["error"]
    failed = [m.body["command_id"] for _, m in h.out("delivery.results", "CommandFailed")]
    assert failed == ["cmd-1", "cmd-2"]


async def test_trace_dead_letters_bytes_that_are_not_a_message(make_harness: Any) -> None:
    h: Harness = await make_harness([trace.AGENT])
    async with h.agent("log_canonical_events").test_context() as agent:
        await agent.put(b"", key=b"a")
        await agent.put(h.encode("woosync.OrderObserved", _order(1)), key=b"woo:demo:1")
    assert len(h.dead_letters()) == 1
    sample = h.runtime.metrics.registry.get_sample_value
    assert sample("woosync_events_in_total",
                  {"topic": "<internal>", "type": "OrderObserved"}) == 1


async def test_orders_sends_a_paid_order_to_the_erp_once_and_dead_letters_poison(
        make_harness: Any) -> None:
    from agents import orders

    h: Harness = await make_harness([orders.AGENT])
    poison, good = _order(1, quantity=10**17), _order(2)
    async with h.agent("track_orders").test_context() as agent:
        await agent.put(h.encode("woosync.OrderObserved", poison), key=b"woo:demo:1")
        await agent.put(h.encode("woosync.OrderObserved", good), key=b"woo:demo:2")
        await agent.put(h.encode("woosync.OrderObserved", good), key=b"woo:demo:2")
    assert [m.body["stage"] for m in h.dead_letters()] == ["orders"]
    sent = h.out("erp.commands", "CreateSalesOrder")
    assert [(key, m.body["order_id"]) for key, m in sent] == [("woo:demo:2", "woo:demo:2")]
    assert sent[0][1].body["warehouse"] == "WH"
    row = h.runtime.table(ORDERS).get(b"woo:demo:2")
    assert row["commands"]["sale"]["command_id"] == sent[0][1].body["command_id"]
    # The poison order's row was not written: its command never left.
    assert not h.runtime.table(ORDERS).get(b"woo:demo:1")

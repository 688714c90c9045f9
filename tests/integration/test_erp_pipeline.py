"""The ERP edge through a real broker: commands on erp.commands reach a real Tryton once
however often they are delivered; changes made in Tryton come out as canonical events;
an ERP outage delays commands but loses none."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from devstack import samples, seed_data
from devstack.kafka_broker import free_port
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams import topics as t
from streams.codec import Message
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import Settings
from tests.integration.conftest import worker_env
from tests.integration.erp_actions import count_stock, warehouse_id
from tests.integration.kafka_io import read_until

pytestmark = pytest.mark.integration


def _erp_worker(settings: Settings, server: TrytonServer, log: Path,
                **extra: str) -> ManagedProcess:
    env = {**worker_env(settings), **extra, "WOOSYNC_ERP_URL": server.url,
           "WOOSYNC_ERP_POLL_INTERVAL": "0.5", "WOOSYNC_BREAKER_RESET_SECONDS": "1",
           "WOOSYNC_RETRY_CAP_SECONDS": "1"}
    return worker_process(log, env).start(WORKER_READY)


@pytest.fixture
def erp_worker(settings: Settings, tryton: TrytonServer,
               tmp_path: Path) -> Iterator[ManagedProcess]:
    worker = _erp_worker(settings, tryton, tmp_path / "worker.log")
    yield worker
    worker.stop()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _results(settings: Settings, command_ids: set[str], count: int) -> list[Message]:
    found = read_until(settings, t.DELIVERY_RESULTS.name, lambda got: len(got) >= count,
                       keep=lambda key, m: m.body["command_id"] in command_ids, timeout=90)
    return [m for _, m in found]


async def test_commands_delivered_three_times_apply_once_and_changes_come_back(
    settings: Settings, erp_worker: ManagedProcess, erp_admin: TrytonClient
) -> None:
    order_id = f"woo:pipe{uuid.uuid4().hex[:6]}:501"
    command = samples.create_sales_order(order_id, _now(), [("TSHIRT-L", 2)])
    with CanonicalProducer(settings) as producer:
        for _ in range(3):
            producer.send(t.ERP_COMMANDS, order_id, "woosync.CreateSalesOrder", command)

    results = _results(settings, {command["command_id"]}, 3)
    assert [r.short_name for r in results] == ["CommandDelivered"] * 3
    assert sorted(r.body["duplicate"] for r in results) == [False, True, True]
    sales = await erp_admin.model("sale.sale", "search_read",
                                  [("woosync_reference", "=", order_id)], 0, None, None,
                                  ["shipments", "invoices"])
    assert len(sales) == 1

    # A person in the ERP ships the order with a tracking number and posts the invoice,
    # counts stock in the second warehouse, and changes a list price.
    shipment = sales[0]["shipments"][0]
    await erp_admin.model("stock.shipment.out", "write", [shipment], {"reference": "TRACK-123"})
    for button in ("assign_try", "pick", "pack", "do"):
        await erp_admin.model("stock.shipment.out", button, [shipment])
    await erp_admin.model("account.invoice", "post", sales[0]["invoices"])
    await count_stock(erp_admin, "HOT-05", "WH2", 7)
    template = (await erp_admin.model("product.product", "search_read",
                                      [("code", "=", "CAP")], 0, 1, None, ["template"]))[0]
    await erp_admin.model("product.template", "write", [template["template"]],
                          {"list_price": Decimal("15.5000")})

    documents = read_until(
        settings, t.ERP_DOCUMENTS.name,
        # Raw records of one order come from several erp.raw partitions: the document
        # types may arrive in any order, so wait for all of them.
        lambda got: any(m.short_name == "SalesOrderObserved" for _, m in got)
        and any(m.body.get("state") == "done" for _, m in got
                if m.short_name == "ShipmentObserved")
        and any(m.body.get("state") == "posted" for _, m in got
                if m.short_name == "InvoiceObserved"),
        keep=lambda key, m: key == order_id, timeout=60)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for _, message in documents:
        by_type.setdefault(message.short_name, []).append(message.body)
    assert by_type["SalesOrderObserved"][-1]["state"] == "processing"
    assert by_type["SalesOrderObserved"][-1]["lines"][0]["sku"] == "TSHIRT-L"
    shipped = [s for s in by_type["ShipmentObserved"] if s["state"] == "done"]
    assert shipped[-1]["tracking_reference"] == "TRACK-123"
    assert shipped[-1]["warehouse"] == "WH"
    posted = [i for i in by_type["InvoiceObserved"] if i["state"] == "posted"]
    assert posted[-1]["total"] == Decimal("53.64")  # (2 x 19.90 + 4.90) x 1.2

    catalog = read_until(settings, t.ERP_CATALOG.name,
                         lambda got: any(m.body["list_price"] == Decimal("15.5") for _, m in got),
                         keep=lambda key, m: key == "CAP", timeout=60)
    assert catalog[-1][1].body["list_price"] == Decimal("15.5000")

    stock = read_until(
        settings, t.ERP_STOCK.name,
        lambda got: any(_level(m, "WH2")["on_hand"] == 7 for _, m in got),
        keep=lambda key, m: key == "HOT-05" and m.short_name == "StockLevelObserved",
        timeout=60)
    level = stock[-1][1]
    for code in ("WH", "WH2"):
        own = await erp_admin.model(
            "product.product", "search_read", [("code", "=", "HOT-05")], 0, 1, None,
            ["quantity", "forecast_quantity"],
            context={"locations": [await warehouse_id(erp_admin, code)],
                     "stock_date_end": date.today()})
        assert _level(level, code)["on_hand"] == Decimal(str(own[0]["quantity"]))
        assert _level(level, code)["forecast"] == Decimal(str(own[0]["forecast_quantity"]))

    beats = read_until(settings, t.ERP_STOCK.name,
                       lambda got: len({m.body["partition"] for _, m in got})
                       >= settings.partitions,
                       keep=lambda key, m: m.short_name == "ErpFeedPolled", timeout=30)
    assert {m.body["partition"] for _, m in beats} == set(range(settings.partitions))


def _level(message: Message, warehouse: str) -> dict[str, Any]:
    return next(w for w in message.body["warehouses"] if w["warehouse"] == warehouse)


async def test_erp_outage_delays_commands_and_loses_none(
    settings: Settings, tmp_path: Path
) -> None:
    server = TrytonServer(tmp_path / "erp", port=free_port()).start()
    # Commands only: this ERP is a copy of its own, and its stock must not reach the
    # erp.stock topic the other tests read (they compare with the shared ERP).
    # Its commands come after it starts: it begins at the end of erp.commands rather
    # than replaying earlier tests' commands against its own copy of the ERP.
    worker = _erp_worker(settings, server, tmp_path / "worker.log",
                         WOOSYNC_AGENTS='["erp_commands"]',
                         WOOSYNC_CONSUMER_OFFSET_RESET="latest")
    admin = TrytonClient(server.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    store = f"down{uuid.uuid4().hex[:6]}"
    commands = [samples.create_sales_order(f"woo:{store}:{n}", _now(), [("MUG", 1)])
                for n in range(1, 7)]
    try:
        server.stop()
        with CanonicalProducer(settings) as producer:
            for command in commands:
                producer.send(t.ERP_COMMANDS, command["order_id"], "woosync.CreateSalesOrder",
                              command)
            # The same commands again while the ERP is still down: duplicates in the queue.
            for command in commands[:3]:
                producer.send(t.ERP_COMMANDS, command["order_id"], "woosync.CreateSalesOrder",
                              command)
        metrics = _wait_for_metric(settings, 'woosync_circuit_open{target="erp:tryton"} 1.0')
        assert 'outcome="unavailable"' in metrics

        server.start()
        back = time.monotonic()
        ids = {c["command_id"] for c in commands}
        results = _results(settings, ids, len(commands) + 3)
        print(f"ERP outage: {len(commands) + 3} commands in flight (3 duplicates), all"
              f" delivered {time.monotonic() - back:.1f} s after the ERP came back")
        assert {r.short_name for r in results} == {"CommandDelivered"}
        assert {r.body["command_id"] for r in results} == ids
        for command in commands:
            found = await admin.model("sale.sale", "search",
                                      [("woosync_reference", "=", command["order_id"])],
                                      0, None, None)
            assert len(found) == 1, command["order_id"]
    finally:
        await admin.close()
        worker.stop()
        server.stop()


def _wait_for_metric(settings: Settings, line: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics",
                                    timeout=10) as response:
            text = str(response.read().decode())
        if line in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"{line!r} not in /metrics after {timeout}s:\n{text[-2000:]}")

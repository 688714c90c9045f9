"""``woosync bench-orders``: how long order to cash takes, end to end, on this machine.
Not a test: it prints and saves numbers (bench-results/orders.json).

A real broker, a real Tryton, the WooCommerce emulator and one worker. Shoppers check
out and pay at a stated rate; a warehouse ships every sale as soon as it is confirmed,
with a tracking number. Then, per order, from its row (``GET /orders/...``):

- store order observed -> ERP sale confirmed: woosync's receipt of the store's first
  snapshot of the order, to the ERP's own time of the confirmed sale it then made;
- ERP shipment done -> store status updated: the ERP's time of the done shipment, to
  the store's time of its last change (the status written and the tracking added).

Both ends of each figure are read from clocks of this one machine.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from devstack import seed_data
from devstack.flash_sale import ship
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams.admin import ensure_topics
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import load_settings
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread
from woo_emulator.webhooks import Webhook

SECRET = "bench-webhook-secret"


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1], 1)}


def _ms(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() \
        * 1000


async def _shop(emulator: EmulatorThread, orders: int, rate: float) -> list[int]:
    store = emulator.emulator.store
    products = [p.id for p in store.products.values() if p.sku and p.type != "variable"]
    placed = []
    for n in range(orders):
        order = emulator.run(store.checkout, [(products[n % len(products)], 1)],
                             {"email": f"bench{n}@example.com", "first_name": f"B{n}"})
        emulator.run(store.pay, order)
        placed.append(order.id)
        await asyncio.sleep(1 / rate)
    return placed


async def _warehouse(admin: TrytonClient, until: float) -> None:
    """Ship every confirmed store sale as soon as it is seen, with a tracking number."""
    while time.monotonic() < until:
        sales = await admin.model(
            "sale.sale", "search_read",
            [("woosync_reference", "like", "woo:bench:%"), ("state", "=", "processing"),
             ("shipments.state", "in", ["waiting", "assigned"])], 0, 10, None, ["shipments"])
        for sale in sales:
            for shipment in sale["shipments"]:
                await ship(admin, shipment, f"BENCH{shipment:06d}")
        await asyncio.sleep(0.5)


async def _wait(done: Any, seconds: float) -> None:
    """Poll ``done()`` once a second until it is true or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a thread)
        await asyncio.sleep(1)


def _row(port: int, woo_id: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/bench/{woo_id}/trace",
                                    timeout=10) as response:
            trace = json.loads(response.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/bench/{woo_id}",
                                    timeout=10) as response:
            return {**json.loads(response.read()), "events": trace["events"]}
    except (OSError, ValueError):
        return None


def _latencies(rows: list[dict[str, Any]], store_modified: dict[int, str]
               ) -> tuple[list[float], list[float]]:
    to_sale, to_store = [], []
    for row in rows:
        events = row["events"]
        observed = min((e["observed_at"] for e in events if e["type"] == "OrderObserved"),
                       default=None)
        sales = [e["occurred_at"] for e in events if e["type"] == "SalesOrderObserved"]
        if observed and sales:
            to_sale.append(_ms(min(sales), observed))
        done = [e["occurred_at"] for e in events if e["type"] == "ShipmentObserved"]
        woo_id = int(row["order_id"].rsplit(":", 1)[-1])
        if done and (row["snapshot"] or {}).get("status") == "completed":
            to_store.append(_ms(store_modified[woo_id], max(done)))
    return to_sale, to_store


async def _measure(workdir: Path, orders: int, rate: float) -> dict[str, Any]:
    kafka = LocalKafka(workdir / "kafka", port=free_port()).start()
    erp = TrytonServer(workdir / "erp", port=free_port()).start()
    emulator = EmulatorThread(EmulatorConfig(), catalogue=seed_data.store_catalogue()).start()
    port = free_port()
    env = {"WOOSYNC_BROKER": f"kafka://{kafka.bootstrap}", "WOOSYNC_ERP_URL": erp.url,
           "WOOSYNC_WEB_PORT": str(port), "WOOSYNC_DATA_DIR": str(workdir / "worker"),
           "WOOSYNC_STORES": json.dumps({"bench": {
               **seed_data.EMULATOR_KEYS, "rest_url": emulator.api, "webhook_secret": SECRET}}),
           "WOOSYNC_ERP_PASSWORD": seed_data.INTEGRATION_PASSWORD,
           "WOOSYNC_ERP_POLL_INTERVAL": "0.5", "WOOSYNC_SINK_COALESCE_SECONDS": "0.1"}
    ensure_topics(load_settings(broker=env["WOOSYNC_BROKER"]))
    worker = worker_process(workdir / "worker.log", env).start(WORKER_READY)
    ingress = f"http://127.0.0.1:{port}/webhooks/woocommerce/bench"
    for n, topic in enumerate(("order.created", "order.updated")):
        emulator.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress, SECRET)
    admin = TrytonClient(erp.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    try:
        budget = orders / rate + 60 + orders * 2.0
        shipping = asyncio.create_task(_warehouse(admin, time.monotonic() + budget))
        placed = await _shop(emulator, orders, rate)
        store = emulator.emulator.store
        await _wait(lambda: all(store.orders[i].status == "completed" for i in placed),
                    budget)
        shipping.cancel()
        rows = [r for i in placed if (r := _row(port, i)) is not None]
        modified = {i: store.orders[i].date_modified.isoformat() for i in placed}
        to_sale, to_store = _latencies(rows, modified)
        return {"orders": orders, "rate_per_s": rate,
                "completed": sum(store.orders[i].status == "completed" for i in placed),
                "store_order_observed_to_erp_sale_confirmed": percentiles(to_sale),
                "erp_shipment_done_to_store_status_updated": percentiles(to_store)}
    finally:
        await admin.close()
        worker.stop()
        emulator.stop()
        erp.stop()
        kafka.stop()


def run(orders: int = 40, rate: float = 1.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="woosync-bench-orders-") as tmp:
        result = asyncio.run(_measure(Path(tmp), orders, rate))
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "orders.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result

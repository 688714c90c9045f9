"""``woosync bench-erp``: how fast the ERP edge is, measured against a real Tryton and
a real broker. Not a test: it prints and saves numbers (bench-results/erp.json).

- command latency: CreateSalesOrder through the Tryton adapter (create, quote, confirm),
  fresh orders and repeated deliveries of the same command;
- change-feed delay: a stock count committed in Tryton until its StockLevelObserved is
  read back from erp.stock, through a worker polling at the configured interval.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from devstack import samples, seed_data
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams import topics as t
from streams.admin import ensure_topics
from streams.codec import Codec, Message
from streams.erp.tryton import TrytonAdapter
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import load_settings


def _summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
            "max_ms": round(ordered[-1], 1)}


async def _commands(server: TrytonServer, count: int) -> dict[str, Any]:
    adapter = TrytonAdapter(load_settings(erp_url=server.url,
                                          erp_password=seed_data.INTEGRATION_PASSWORD))
    fresh: list[float] = []
    repeated: list[float] = []
    try:
        for n in range(count):
            now = datetime.now(UTC)
            command = Message("woosync.CreateSalesOrder", samples.create_sales_order(
                f"woo:bench:{n + 1}", now, [("MUG", 1), ("HOT-04", 1)]))
            started = time.perf_counter()
            await adapter.execute(command)
            fresh.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await adapter.execute(command)
            repeated.append((time.perf_counter() - started) * 1000)
    finally:
        await adapter.close()
    return {"create_sales_order": _summary(fresh), "duplicate_delivery": _summary(repeated)}


async def _feed_delay(server: TrytonServer, bootstrap: str, workdir: Path, changes: int,
                      interval: float) -> dict[str, Any]:
    from kafka.consumer import KafkaConsumer

    settings = load_settings(broker=f"kafka://{bootstrap}", web_port=free_port(),
                             data_dir=workdir / "worker", erp_url=server.url,
                             erp_poll_interval=interval)
    ensure_topics(settings)
    worker = worker_process(workdir / "worker.log", {
        "WOOSYNC_BROKER": settings.broker, "WOOSYNC_WEB_PORT": str(settings.web_port),
        "WOOSYNC_DATA_DIR": str(settings.data_dir), "WOOSYNC_ERP_URL": server.url,
        "WOOSYNC_ERP_POLL_INTERVAL": str(interval),
        "WOOSYNC_ERP_PASSWORD": seed_data.INTEGRATION_PASSWORD,
        "WOOSYNC_STORES": json.dumps({"demo": {**seed_data.EMULATOR_KEYS,
                                               "webhook_secret": "bench-webhook-secret"}}),
        }).start(WORKER_READY)
    admin = TrytonClient(server.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    consumer = KafkaConsumer(t.ERP_STOCK.name, bootstrap_servers=bootstrap,
                             auto_offset_reset="latest", group_id=None)
    codec = Codec()
    delays: list[float] = []
    try:
        consumer.poll(timeout_ms=2000)  # join the topic before the first change
        wh = (await admin.model("stock.location", "search", [("code", "=", "WH")], 0, 1,
                                None))[0]
        storage = (await admin.model("stock.location", "read", [wh],
                                     ["storage_location"]))[0]["storage_location"]
        product = (await admin.model("product.product", "search", [("code", "=", "CAP")],
                                     0, 1, None))[0]
        for n in range(changes):
            quantity = 500 + n
            inventory, = await admin.model("stock.inventory", "create", [{
                "location": storage,
                "lines": [["create", [{"product": product, "quantity": float(quantity)}]]]}])
            await admin.model("stock.inventory", "confirm", [inventory])
            committed = time.perf_counter()
            seen = False
            while not seen and time.perf_counter() - committed < 30:
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        body = codec.decode(record.value).body
                        if body.get("sku") == "CAP" and any(
                                w["warehouse"] == "WH" and w["on_hand"] == quantity
                                for w in body["warehouses"]):
                            seen = True
            delays.append((time.perf_counter() - committed) * 1000)
    finally:
        consumer.close()
        await admin.close()
        worker.stop()
    return {"poll_interval_s": interval, "stock_change_to_event": _summary(delays)}


def run(commands: int = 40, changes: int = 15, interval: float = 1.0,
        out: Path = Path("bench-results/erp.json")) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-bench-erp-"))
    with LocalKafka(workdir / "kafka") as kafka, TrytonServer(workdir / "erp") as server:
        result = {"run_id": uuid.uuid4().hex[:8], "at": datetime.now(UTC).isoformat(),
                  "commands": asyncio.run(_commands(server, commands)),
                  "feed": asyncio.run(_feed_delay(server, kafka.bootstrap, workdir, changes,
                                                  interval))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result

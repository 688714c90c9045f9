"""``woosync demo``: the inventory workflow running on a laptop.

Starts a Kafka broker, a seeded Tryton, the WooCommerce emulator (store ``demo``, the
same SKUs), one worker with every agent, and webhooks from the store to the worker;
then runs flash-sale waves (shoppers checking out on the store, most on 8 hot SKUs, and
stock counts in the ERP) and prints, every few seconds, what sold and how the store's
stock compares with what woosync computed. Ctrl-C (or ``--seconds``) stops everything
it started.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from devstack import seed_data
from devstack.flash_sale import SaleStats, shoppers, stock_counts, warehouse
from devstack.kafka_broker import LocalKafka, free_port, port_in_use
from devstack.supervise import WORKER_READY, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams.admin import ensure_topics
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import load_settings
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread
from woo_emulator.webhooks import Webhook

SECRET = "demo-webhook-secret"
WAVE = 30.0  # seconds per flash-sale wave
BURST = 4.0  # seconds of shoppers at the start of each wave


def _port(preferred: int) -> int:
    return preferred if not port_in_use(preferred) else free_port()


def run_demo(seconds: float = 0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-demo-"))
    kafka = LocalKafka(workdir / "kafka", port=_port(9092))
    erp = TrytonServer(workdir / "erp", port=_port(8000))
    store = EmulatorThread(EmulatorConfig(), port=_port(8090),
                           catalogue=seed_data.store_catalogue())
    worker = None
    try:
        print("starting Kafka, Tryton (the first run builds its database: about a minute)"
              " and the store...", flush=True)
        kafka.start()
        erp.start()
        store.start()
        web_port = _port(6066)
        stores = {"demo": {"rest_url": store.api, **seed_data.EMULATOR_KEYS,
                           "webhook_secret": SECRET,
                           "warehouses": ["WH", "WH2"], "ship_from": "WH"}}
        admin_token = secrets.token_urlsafe(18)  # a fresh one each run, printed below
        env = {"WOOSYNC_BROKER": f"kafka://{kafka.bootstrap}", "WOOSYNC_ERP_URL": erp.url,
               "WOOSYNC_ADMIN_TOKEN": admin_token,
               "WOOSYNC_ERP_PASSWORD": seed_data.INTEGRATION_PASSWORD,
               "WOOSYNC_WEB_PORT": str(web_port), "WOOSYNC_DATA_DIR": str(workdir / "worker"),
               "WOOSYNC_STORES": json.dumps(stores), "WOOSYNC_ERP_POLL_INTERVAL": "1",
               "WOOSYNC_WOO_SWEEP_INTERVAL": "15", "WOOSYNC_DEFAULT_SAFETY_STOCK": "1"}
        settings = load_settings(broker=env["WOOSYNC_BROKER"])
        ensure_topics(settings)
        worker = worker_process(workdir / "worker.log", env).start(WORKER_READY)
        ingress = f"http://127.0.0.1:{web_port}/webhooks/woocommerce/demo"
        for n, topic in enumerate(("order.created", "order.updated", "product.updated")):
            store.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress, SECRET)
        print(f"""
woosync demo is running: watch it at http://127.0.0.1:{web_port}/dashboard
(logs in {workdir})
  Kafka            {kafka.bootstrap}
  Tryton (ERP)     {erp.url}   database {seed_data.DATABASE}, admin / {ADMIN_PASSWORD}
  WooCommerce      {store.api}   (emulator; keys ck_demo / cs_demo)
  worker           http://127.0.0.1:{web_port}
    dashboard      http://127.0.0.1:{web_port}/dashboard  (promotion and operations)
    risk           http://127.0.0.1:{web_port}/risk
    reservations   http://127.0.0.1:{web_port}/reservations/HOT-01
    availability   http://127.0.0.1:{web_port}/availability
    metrics        http://127.0.0.1:{web_port}/metrics
    ready          http://127.0.0.1:{web_port}/ready
    orders, dlq    http://127.0.0.1:{web_port}/orders/demo/<id>, /dlq
                   (header Authorization: Bearer {admin_token})
Flash sale waves: bursts of shoppers on 8 hot SKUs (HOT-01..08), stock counts in
the ERP, and a warehouse shipping a third of the ERP's sales. Every paid order becomes
an ERP sale; shipped ones come back to the store as completed, with tracking.
Ctrl-C stops everything.
""", flush=True)
        asyncio.run(_sales(store, erp, web_port, seconds, worker))
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
        store.stop()
        erp.stop()
        kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def _sales(store: EmulatorThread, erp: TrytonServer, web_port: int, seconds: float,
                 worker: object) -> None:
    admin = TrytonClient(erp.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    products = {sku: p.id for p in store.emulator.store.products.values()
                if (sku := p.sku) and p.type != "variable"}
    rng = random.Random(1)
    stats = SaleStats()
    started = time.monotonic()
    try:
        while not seconds or time.monotonic() - started < seconds:
            wave = WAVE if not seconds else min(WAVE, seconds - (time.monotonic() - started))
            if wave <= 0:
                break
            # A burst, then time for the ERP (about 1.4 sales a second on SQLite) to
            # make the sales: its holds convert, and open holds stay bounded.
            await asyncio.gather(
                shoppers(store.url, products, min(BURST, wave), 8, stats, rng),
                stock_counts(admin, sorted(products), wave, 3.0, stats, rng),
                warehouse(admin, wave, 2.0, 3, stats),
                _report(store, admin, web_port, wave, stats))
    finally:
        await admin.close()


async def _report(store: EmulatorThread, admin: TrytonClient, web_port: int,
                  seconds: float, stats: SaleStats) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await asyncio.sleep(min(5.0, max(0.1, end - loop.time())))
        hot = store.emulator.store.by_sku("HOT-01")
        shown = hot.stock_quantity if hot else None
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{web_port}/reservations/HOT-01") as response:
                body = json.loads(await response.text())
            published = body["stores"]["demo"]["published"]
            # Holds that still count: converted ones the ERP's figures now include do not.
            holds = str(sum(1 for h in body["holds"] if h["counts"]))
        except (aiohttp.ClientError, ValueError, KeyError, TypeError):
            published, holds = None, "?"
        sales = await admin.model("sale.sale", "search_count",
                                  [("woosync_reference", "like", "woo:demo:%")])
        completed = sum(1 for o in list(store.emulator.store.orders.values())
                        if o.status == "completed")
        if stats.first_order is not None and not stats.announced:
            stats.announced = True
            print(f"  an order, both sides: http://127.0.0.1:{web_port}/orders/demo/"
                  f"{stats.first_order}  (and .../trace)", flush=True)
        print(f"orders placed {stats.placed}, refused (out of stock) {stats.refused}, "
              f"ERP sales {sales}, shipped {stats.shipped}, store completed {completed}, "
              f"ERP stock counts {stats.counts} | HOT-01: store shows {shown}, woosync "
              f"published {published and published['quantity']}, {holds} open holds",
              file=sys.stdout, flush=True)

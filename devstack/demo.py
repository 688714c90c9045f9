"""``woosync demo``: the inventory workflow running on a laptop.

Starts a Kafka broker, a seeded Tryton, two WooCommerce emulators on the one ERP (store
``demo``, served by warehouses WH and WH2, and store ``outlet``, served by WH2 alone,
with its sale prices from the ERP price list "Outlet prices"), one worker with every
agent, and webhooks from the stores to the worker; then runs flash-sale waves (shoppers
checking out on both stores, most on 8 hot SKUs, and stock counts in the ERP) and
prints, every few seconds, what sold and how each store's stock compares with what
woosync computed. Ctrl-C (or ``--seconds``) stops everything it started.
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
from datetime import date, timedelta
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
OUTLET_PRICES = "Outlet prices"


def _port(preferred: int) -> int:
    return preferred if not port_in_use(preferred) else free_port()


def run_demo(seconds: float = 0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-demo-"))
    kafka = LocalKafka(workdir / "kafka", port=_port(9092))
    erp = TrytonServer(workdir / "erp", port=_port(8000))
    store = EmulatorThread(EmulatorConfig(), port=_port(8090),
                           catalogue=seed_data.store_catalogue())
    outlet = EmulatorThread(EmulatorConfig(), port=_port(8091),
                            catalogue=seed_data.store_catalogue())
    worker = None
    try:
        print("starting Kafka, Tryton (the first run builds its database: about a minute)"
              " and the store...", flush=True)
        kafka.start()
        erp.start()
        store.start()
        outlet.start()
        asyncio.run(_outlet_price_list(erp))
        web_port = _port(6066)
        stores = {"demo": {"rest_url": store.api, **seed_data.EMULATOR_KEYS,
                           "webhook_secret": SECRET,
                           "warehouses": ["WH", "WH2"], "ship_from": "WH"},
                  "outlet": {"rest_url": outlet.api, **seed_data.EMULATOR_KEYS,
                             "webhook_secret": SECRET, "warehouses": ["WH2"],
                             "ship_from": "WH2", "price_list": OUTLET_PRICES}}
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
        for name, shop in (("demo", store), ("outlet", outlet)):
            ingress = f"http://127.0.0.1:{web_port}/webhooks/woocommerce/{name}"
            for n, topic in enumerate(("order.created", "order.updated", "product.updated")):
                shop.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress,
                                                              SECRET)
        print(f"""
woosync demo is running: watch it at http://127.0.0.1:{web_port}/dashboard
(logs in {workdir})
  Kafka            {kafka.bootstrap}
  Tryton (ERP)     {erp.url}   database {seed_data.DATABASE}, admin / {ADMIN_PASSWORD}
  WooCommerce      {store.api}   (store demo: warehouses WH and WH2)
                   {outlet.api}   (store outlet: WH2 only, "{OUTLET_PRICES}";
                   emulators, keys ck_demo / cs_demo)
  worker           http://127.0.0.1:{web_port}
    dashboard      http://127.0.0.1:{web_port}/dashboard  (promotion and operations)
    risk           http://127.0.0.1:{web_port}/risk
    reservations   http://127.0.0.1:{web_port}/reservations/HOT-01
    availability   http://127.0.0.1:{web_port}/availability
    metrics        http://127.0.0.1:{web_port}/metrics
    ready          http://127.0.0.1:{web_port}/ready
    orders, dlq    http://127.0.0.1:{web_port}/orders/demo/<id>, /dlq
                   (header Authorization: Bearer {admin_token})
Flash sale waves: bursts of shoppers on 8 hot SKUs (HOT-01..08) in both stores, stock
counts in the ERP, and a warehouse shipping a third of the ERP's sales. Every paid
order becomes an ERP sale; shipped ones come back to the store as completed, with
tracking. Each store shows its own warehouses' stock less the holds of the stores
sharing them; the outlet shows HOT-01..04 on sale now and HOT-05 from in three days.
Ctrl-C stops everything.
""", flush=True)
        asyncio.run(_sales(store, outlet, erp, web_port, seconds, worker))
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
        store.stop()
        outlet.stop()
        erp.stop()
        kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def _outlet_price_list(erp: TrytonServer) -> None:
    """The outlet's price list in the ERP, as a person would make it: HOT-01..04 15 % off
    for a week from today, HOT-05 20 % off for two days from in three days."""
    admin = TrytonClient(erp.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    try:
        if await admin.model("product.price_list", "search", [("name", "=", OUTLET_PRICES)],
                             0, 1, None):
            return
        ids = {p["code"]: p["id"] for p in await admin.model(
            "product.product", "search_read", [("code", "in", [f"HOT-0{n}" for n in
                                                              range(1, 6)])],
            0, None, None, ["code"])}
        today = date.today()
        lines = [{"product": ids[f"HOT-0{n}"], "formula": "unit_price * 0.85",
                  "start_date": today, "end_date": today + timedelta(days=6)}
                 for n in range(1, 5)]
        lines.append({"product": ids["HOT-05"], "formula": "unit_price * 0.8",
                      "start_date": today + timedelta(days=3),
                      "end_date": today + timedelta(days=4)})
        await admin.model("product.price_list", "create", [{
            "name": OUTLET_PRICES, "price": "list_price", "lines": [["create", lines]]}])
    finally:
        await admin.close()


async def _sales(store: EmulatorThread, outlet: EmulatorThread, erp: TrytonServer,
                 web_port: int, seconds: float, worker: object) -> None:
    admin = TrytonClient(erp.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    products = {sku: p.id for p in store.emulator.store.products.values()
                if (sku := p.sku) and p.type != "variable"}
    outlet_products = {sku: p.id for p in outlet.emulator.store.products.values()
                       if (sku := p.sku) and p.type != "variable"}
    rng = random.Random(1)
    stats, outlet_stats = SaleStats(), SaleStats()
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
                shoppers(outlet.url, outlet_products, min(BURST, wave), 3, outlet_stats, rng),
                stock_counts(admin, sorted(products), wave, 3.0, stats, rng),
                warehouse(admin, wave, 2.0, 3, stats),
                _report({"demo": store, "outlet": outlet}, admin, web_port, wave, stats,
                        outlet_stats))
    finally:
        await admin.close()


async def _report(stores: dict[str, EmulatorThread], admin: TrytonClient, web_port: int,
                  seconds: float, stats: SaleStats, outlet_stats: SaleStats) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await asyncio.sleep(min(5.0, max(0.1, end - loop.time())))
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{web_port}/reservations/HOT-01") as response:
                body = json.loads(await response.text())
            # Holds that still count: converted ones the ERP's figures now include do not.
            holds = str(sum(1 for h in body["holds"] if h["counts"]))
            views = body["stores"]
        except (aiohttp.ClientError, ValueError, KeyError, TypeError):
            views, holds = {}, "?"
        sales = await admin.model("sale.sale", "search_count",
                                  [("woosync_reference", "like", "woo:%")])
        completed = sum(1 for shop in stores.values()
                        for o in list(shop.emulator.store.orders.values())
                        if o.status == "completed")
        if stats.first_order is not None and not stats.announced:
            stats.announced = True
            print(f"  an order, both sides: http://127.0.0.1:{web_port}/orders/demo/"
                  f"{stats.first_order}  (and .../trace)", flush=True)
        shown = []
        for name, shop in stores.items():
            hot = shop.emulator.store.by_sku("HOT-01")
            published = (views.get(name) or {}).get("published") or {}
            shown.append(f"{name} shows {hot.stock_quantity if hot else None}"
                         f" (published {published.get('quantity')},"
                         f" ATP {(views.get(name) or {}).get('atp')})")
        print(f"orders placed {stats.placed} + outlet {outlet_stats.placed}, refused (out of"
              f" stock) {stats.refused + outlet_stats.refused}, ERP sales {sales}, shipped"
              f" {stats.shipped}, stores completed {completed}, ERP stock counts"
              f" {stats.counts} | HOT-01: {'; '.join(shown)}; {holds} open holds",
              file=sys.stdout, flush=True)

"""``woosync bench-oversell``: units oversold on one flash-sale trace, three ways. Not a
test: it prints and saves numbers (bench-results/oversell.json).

One trace (seeded): shoppers checking out on a few hot SKUs at a steady rate, and the
ERP losing stock underneath them (inventories that count a few units fewer each time:
shrinkage, or another channel selling the same goods), played three times on a real
broker, a real Tryton and a fresh emulated store, each time from the same ERP stock:

- ``woosync + check``: woosync publishes availability and the store asks
  ``POST /reservations/check`` at each checkout (a provisional hold; a line that does
  not fit is refused, as a store plugin would);
- ``woosync``: the same without the check: the store sells what it shows;
- ``poll 60 s``: no woosync; every 60 s the store's stock is set to the ERP's available
  less the store's own orders not yet in the ERP, the best a peer's periodic stock sync
  can do (peers.md: hourly to daily in practice, and most forget those orders).

Oversold units are counted against the truth, the same way for all three: replaying the
trace in time order, a checkout accepted when the ERP's latest count less the units the
store had already accepted (and safety stock) was short of it oversold the difference.
Store orders stay out of the ERP here (order to cash off), so the ERP's figure moves only
with the counts. Also reported: the reservation check's latency, as the store saw it
(client round trip) and as woosync answered it (``woosync_checkout_check_seconds``).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from benchmarks.order_bench import percentiles
from devstack import seed_data
from devstack.flash_sale import count, counting_places
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams import dashboard
from streams.admin import ensure_topics
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import load_settings
from woo_emulator.config import EmulatorConfig, ReservationCheck
from woo_emulator.runner import EmulatorThread
from woo_emulator.webhooks import Webhook

SECRET = "oversell-bench-secret"
SKUS = ("HOT-01", "HOT-02", "HOT-03", "HOT-04")
SAFETY = 0
MODES = ("woosync + check", "woosync", "poll 60 s")
POLL_SECONDS = 60.0


@dataclass(frozen=True)
class Trace:
    start: int  # units of each SKU in the ERP when the sale begins
    checkouts: list[tuple[float, str, int]]  # (second, sku, quantity)
    losses: list[tuple[float, str, int]]  # (second, sku, units the ERP loses)


def make_trace(seconds: float, rate: float, seed: int, start: int = 150) -> Trace:
    rng = random.Random(seed)
    checkouts, losses = [], []
    t = 0.0
    while (t := t + rng.expovariate(rate)) < seconds:
        checkouts.append((t, rng.choice(SKUS), rng.randint(1, 2)))
    t = 0.0
    while (t := t + rng.uniform(0.6, 1.4)) < seconds:
        losses.append((t, rng.choice(SKUS), rng.randint(2, 6)))
    return Trace(start, checkouts, losses)


@dataclass
class Played:
    """What happened when the trace was played: each accepted checkout and each ERP
    count, with when it took effect (monotonic seconds from the start)."""

    accepted: list[tuple[float, str, int]] = field(default_factory=list)
    refused: int = 0
    counts: list[tuple[float, str, int]] = field(default_factory=list)  # new ERP level
    errors: list[str] = field(default_factory=list)


def oversold(trace: Trace, played: Played) -> dict[str, int]:
    """Units accepted beyond what was truly available when each checkout was accepted."""
    level = dict.fromkeys(SKUS, trace.start)
    taken = dict.fromkeys(SKUS, 0)
    out = dict.fromkeys(SKUS, 0)
    events = sorted([(t, 1, sku, n) for t, sku, n in played.accepted]
                    + [(t, 0, sku, n) for t, sku, n in played.counts])
    for _, kind, sku, n in events:
        if kind == 0:
            level[sku] = n
            continue
        available = max(0, level[sku] - taken[sku] - SAFETY)
        out[sku] += max(0, n - available)
        taken[sku] += n
    return out


class Bench:
    def __init__(self, workdir: Path, erp: TrytonServer, kafka: LocalKafka) -> None:
        self.workdir, self.erp, self.kafka = workdir, erp, kafka
        self.admin = TrytonClient(erp.url, seed_data.DATABASE, "admin",
                                  SecretStr(ADMIN_PASSWORD))

    async def reset(self, storage: dict[str, int], products: dict[str, int],
                    start: int) -> None:
        for sku in SKUS:
            await count(self.admin, storage["WH"], products[sku], start)
            await count(self.admin, storage["WH2"], products[sku], 0)

    async def play(self, mode: str, n: int, trace: Trace) -> dict[str, Any]:
        store_id = f"over{n}{int(time.time()) % 100000}"
        web_port = free_port()
        check = ReservationCheck(f"http://127.0.0.1:{web_port}/reservations/check",
                                 store_id, SECRET) if mode == "woosync + check" else None
        emulator = EmulatorThread(EmulatorConfig(time_scale=0.05, reservation_check=check),
                                  catalogue=seed_data.store_catalogue()).start()
        storage, products = await counting_places(self.admin, list(SKUS))
        worker = None
        try:
            if mode != "poll 60 s":
                worker = self._worker(store_id, web_port, emulator)
            await self.reset(storage, products, trace.start)
            store = emulator.emulator.store
            ids = {sku: store.by_sku(sku).id for sku in SKUS}  # type: ignore[union-attr]
            if worker is None:
                await self._peer_sync(emulator, dict.fromkeys(SKUS, trace.start), {})
            await self._converged(emulator, trace.start)
            played = Played()
            runs = [self._shoppers(emulator, ids, trace, played),
                    self._losses(storage, products, trace, played)]
            if worker is None:
                runs.append(self._poller(emulator, trace, played))
            await asyncio.gather(*runs)
            lost = oversold(trace, played)
            server = self._check_latency(web_port) if check else None
            client = emulator.emulator.check_latencies if check else []
            return {"mode": mode, "checkouts": len(trace.checkouts),
                    "accepted": len(played.accepted), "refused": played.refused,
                    "units_sold": sum(q for _, _, q in played.accepted),
                    "oversold_units": sum(lost.values()), "oversold_by_sku": lost,
                    "errors": played.errors[:5],
                    "check_latency_store_ms": percentiles([s * 1000 for s in client])
                    if check else None,
                    "check_latency_woosync_ms": server}
        finally:
            if worker is not None:
                worker.stop()
            emulator.stop()

    def _worker(self, store_id: str, web_port: int, emulator: EmulatorThread) -> Any:
        stores = {store_id: {"rest_url": emulator.api, **seed_data.EMULATOR_KEYS,
                             "webhook_secret": SECRET, "warehouses": ["WH", "WH2"],
                             "ship_from": "WH"}}
        env = {"WOOSYNC_BROKER": f"kafka://{self.kafka.bootstrap}",
               "WOOSYNC_APP_ID": f"woosync-{store_id}",
               "WOOSYNC_ERP_URL": self.erp.url,
               "WOOSYNC_ERP_PASSWORD": seed_data.INTEGRATION_PASSWORD,
               "WOOSYNC_WEB_PORT": str(web_port),
               "WOOSYNC_DATA_DIR": str(self.workdir / store_id),
               "WOOSYNC_STORES": json.dumps(stores), "WOOSYNC_ERP_POLL_INTERVAL": "0.5",
               "WOOSYNC_CONSUMER_OFFSET_RESET": "latest",
               "WOOSYNC_ORDER_SEND_STATUSES": "[]",
               "WOOSYNC_DEFAULT_SAFETY_STOCK": str(SAFETY),
               "WOOSYNC_SINK_COALESCE_SECONDS": "0.05"}
        worker = worker_process(self.workdir / f"{store_id}.log", env).start(WORKER_READY)
        ingress = f"http://127.0.0.1:{web_port}/webhooks/woocommerce/{store_id}"
        for n, topic in enumerate(("order.created", "order.updated")):
            emulator.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress,
                                                              SECRET)
        return worker

    async def _converged(self, emulator: EmulatorThread, start: int) -> None:
        """Wait until the store shows the starting stock of every SKU."""
        store = emulator.emulator.store
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            shown = {sku: store.by_sku(sku).stock_quantity  # type: ignore[union-attr]
                     for sku in SKUS}
            if all(v == start - SAFETY for v in shown.values()):
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"the store never showed the starting stock: {shown}")

    async def _shoppers(self, emulator: EmulatorThread, ids: dict[str, int], trace: Trace,
                        played: Played) -> None:
        began = time.monotonic()
        async with aiohttp.ClientSession() as session:
            async def one(at: float, sku: str, quantity: int) -> None:
                await asyncio.sleep(max(0.0, began + at - time.monotonic()))
                body = {"items": [{"product_id": ids[sku], "quantity": quantity}],
                        "billing": {"email": "bench@example.com", "first_name": "B"}}
                try:
                    async with session.post(f"{emulator.url}/__emulator/checkout",
                                            json=body) as response:
                        if response.status == 201:
                            played.accepted.append((time.monotonic() - began, sku,
                                                    quantity))
                        else:
                            played.refused += 1
                except aiohttp.ClientError as exc:
                    played.errors.append(str(exc))
            await asyncio.gather(*(one(*c) for c in trace.checkouts))

    async def _losses(self, storage: dict[str, int], products: dict[str, int],
                      trace: Trace, played: Played) -> None:
        began = time.monotonic()
        level = dict.fromkeys(SKUS, trace.start)
        for at, sku, units in trace.losses:
            await asyncio.sleep(max(0.0, began + at - time.monotonic()))
            level[sku] = max(0, level[sku] - units)
            await count(self.admin, storage["WH"], products[sku], level[sku])
            played.counts.append((time.monotonic() - began, sku, level[sku]))

    async def _poller(self, emulator: EmulatorThread, trace: Trace, played: Played) -> None:
        """The peer: every 60 s, the ERP's level less the store's orders since."""
        began = time.monotonic()
        end = began + max(at for at, _, _ in trace.checkouts)
        tick = 1
        while (at := began + POLL_SECONDS * tick) < end:
            tick += 1
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            levels = dict.fromkeys(SKUS, trace.start)
            for _, sku, n in played.counts:
                levels[sku] = n
            taken: dict[str, int] = {}
            for _, sku, n in played.accepted:
                taken[sku] = taken.get(sku, 0) + n
            await self._peer_sync(emulator, levels, taken)

    async def _peer_sync(self, emulator: EmulatorThread, levels: dict[str, int],
                         taken: dict[str, int]) -> None:
        store = emulator.emulator.store

        def apply() -> None:
            for sku in SKUS:
                product = store.by_sku(sku)
                assert product is not None
                product.stock_quantity = max(0, levels[sku] - taken.get(sku, 0) - SAFETY)
        emulator.run(apply)

    def _check_latency(self, web_port: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics",
                                    timeout=10) as response:
            families = list(text_string_to_metric_families(response.read().decode()))
        samples = dashboard.samples_of(families)
        cumulative = sorted((float(labels["le"]), value) for labels, value in
                            samples.get("woosync_checkout_check_seconds_bucket", []))
        return {"n": cumulative[-1][1] if cumulative else 0,
                **{f"p{int(q * 100)}_ms": None if (v := dashboard.quantile(q, cumulative))
                   is None else round(v * 1000, 2) for q in (0.5, 0.99)}}


async def _run(workdir: Path, seconds: float, rate: float, seed: int) -> dict[str, Any]:
    kafka = LocalKafka(workdir / "kafka")
    erp = TrytonServer(workdir / "erp")
    kafka.start()
    erp.start()
    try:
        ensure_topics(load_settings(broker=f"kafka://{kafka.bootstrap}"))
        bench = Bench(workdir, erp, kafka)
        trace = make_trace(seconds, rate, seed)
        results = []
        for n, mode in enumerate(MODES):
            print(f"playing the trace: {mode}...", flush=True)
            results.append(await bench.play(mode, n, trace))
            await asyncio.to_thread(time.sleep, 2)
        await bench.admin.close()
        return {"trace": {"seconds": seconds, "rate": rate, "seed": seed,
                          "skus": list(SKUS), "start_units": trace.start,
                          "checkouts": len(trace.checkouts),
                          "units_lost_in_erp": sum(u for _, _, u in trace.losses)},
                "results": results}
    finally:
        erp.stop()
        kafka.stop()


def run(seconds: float = 90.0, rate: float = 8.0, seed: int = 3,
        out: Path = Path("bench-results/oversell.json")) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-oversell-"))
    report = asyncio.run(_run(workdir, seconds, rate, seed))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\ntrace: {report['trace']['checkouts']} checkouts over {seconds:g} s on"
          f" {len(SKUS)} SKUs ({report['trace']['start_units']} units each), the ERP losing"
          f" {report['trace']['units_lost_in_erp']} units underneath")
    print(f"{'way':<18}{'accepted':>10}{'refused':>9}{'sold':>7}{'oversold':>10}")
    for r in report["results"]:
        print(f"{r['mode']:<18}{r['accepted']:>10}{r['refused']:>9}{r['units_sold']:>7}"
              f"{r['oversold_units']:>10}")
    checked = report["results"][0]
    print(f"reservation check latency: store round trip {checked['check_latency_store_ms']};"
          f" woosync {checked['check_latency_woosync_ms']}")
    print(f"saved to {out}")
    return report

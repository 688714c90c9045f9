"""The broker stopped in the middle of a flash sale and started again, on a broker of
this test's own (the shared one stays up for the others). While it is down the ingress
answers 503 to the store's webhooks (nothing is acknowledged that was not stored); the
worker keeps running; afterwards the sweep reads what the refused webhooks carried, and
every SKU's holds equal the store's own open holds: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from devstack import seed_data
from devstack.flash_sale import SaleStats, shoppers
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.admin import ensure_topics
from streams.settings import Settings, load_settings
from tests.integration.conftest import worker_env
from tests.integration.kafka_io import read_until
from tests.integration.test_inventory_e2e import _open_holds
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread
from woo_emulator.webhooks import Webhook

pytestmark = pytest.mark.integration
SECRET = "whsec-restart"
STORE = "restart"


@dataclass
class Rig:
    broker: LocalKafka
    settings: Settings
    emulator: EmulatorThread
    worker: ManagedProcess


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    broker = LocalKafka(tmp_path / "kafka").start()
    settings = load_settings(broker=f"kafka://{broker.bootstrap}", app_id="woosync-restart",
                             web_port=free_port(), data_dir=tmp_path / "worker", partitions=4)
    ensure_topics(settings)
    emulator = EmulatorThread(EmulatorConfig(time_scale=0.05),
                              catalogue=seed_data.store_catalogue()).start()
    stores = {STORE: {"rest_url": emulator.api, **seed_data.EMULATOR_KEYS,
                      "webhook_secret": SECRET}}
    env = {**worker_env(settings), "WOOSYNC_STORES": json.dumps(stores),
           "WOOSYNC_WOO_SWEEP_INTERVAL": "2", "WOOSYNC_WOO_SWEEP_OVERLAP_SECONDS": "10",
           "WOOSYNC_ERP_POLL_INTERVAL": "3600"}
    worker = worker_process(tmp_path / "worker.log", env).start(WORKER_READY)
    ingress = f"http://127.0.0.1:{settings.web_port}/webhooks/woocommerce/{STORE}"
    for n, topic in enumerate(("order.created", "order.updated")):
        emulator.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress, SECRET)
    yield Rig(broker, settings, emulator, worker)
    worker.stop()
    emulator.stop()
    broker.stop()


def _held(port: int, sku: str) -> Decimal | None:
    """The SKU's holds as the worker serves them; None while it says to try again."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/reservations/{sku}",
                                    timeout=10) as response:
            return Decimal(json.loads(response.read())["held"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return Decimal(0)  # no hold ever on this SKU
        if exc.code == 503:
            return None  # taking over partitions after the restart
        raise


async def test_a_broker_restart_mid_sale_loses_and_doubles_nothing(rig: Rig) -> None:
    skus = [item.sku for item in seed_data.products()]
    products = {sku: rig.emulator.emulator.store.by_sku(sku).id  # type: ignore[union-attr]
                for sku in skus}
    stats = SaleStats()

    async def outage() -> float:
        await asyncio.sleep(8)
        await asyncio.to_thread(rig.broker.stop)
        down = time.monotonic()
        await asyncio.sleep(12)
        await asyncio.to_thread(rig.broker.start)
        return time.monotonic() - down

    _, down_for = await asyncio.gather(
        shoppers(rig.emulator.url, products, 35, 8, stats, random.Random(3)), outage())
    assert stats.placed > 100 and not stats.errors
    assert rig.worker.running, "the worker stopped with the broker"

    began = time.monotonic()
    expected: dict[str, int] = {}
    held: dict[str, Decimal | None] = {}
    while time.monotonic() - began < 150:
        expected = _open_holds(rig.emulator)
        held = {sku: await asyncio.to_thread(_held, rig.settings.web_port, sku)
                for sku in skus}
        if all(held[sku] == expected.get(sku, 0) for sku in skus):
            break
        await asyncio.sleep(2)
    assert held == {s: expected.get(s, 0) for s in skus}
    converged = time.monotonic() - began

    log = rig.emulator.emulator.webhooks.log
    refused = [d for d in log if d.status != 200]
    accepted = {d.resource_id for d in log if d.status == 200}
    assert refused, "the ingress took every webhook although the broker was down"
    stored = {int(m.body["resource_id"]) for _, m in read_until(
        rig.settings, t.WOO_RAW.name, lambda got: False,
        keep=lambda key, m: m.body["via"] == "webhook", timeout=20)}
    assert accepted <= stored  # every webhook answered 200 is on woo.raw
    print(f"broker restart: down {down_for:.1f} s, {stats.placed} orders placed,"
          f" {len(refused)} webhooks refused while down, holds converged"
          f" {converged:.1f} s after the sale, lost 0, doubled 0")

"""Broker faults in the middle of a flash sale, on brokers of these tests' own (the
shared one stays up for the others):

- the single broker stopped and started again: while it is down the ingress answers 503
  to the store's webhooks (nothing is acknowledged that was not stored), the worker keeps
  running, and afterwards the sweep reads what the refused webhooks carried;
- the production shape, a three-node KRaft cluster with topics replicated three times
  and two replicas in sync: one node SIGKILLed and brought back, writes carry on.

Either way, every SKU's holds end equal to the store's own open holds: nothing lost,
nothing doubled; and every webhook answered 200 is on woo.raw."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from devstack import seed_data
from devstack.flash_sale import SaleStats, shoppers
from devstack.kafka_broker import LocalKafka, LocalKafkaCluster, free_port
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
    settings: Settings
    emulator: EmulatorThread
    worker: ManagedProcess


@contextmanager
def rig(broker: str, tmp_path: Path, replicas: int = 1) -> Iterator[Rig]:
    """Topics, the store emulator and one worker on ``broker``, webhooks pointed at it."""
    settings = load_settings(broker=broker, app_id="woosync-faults", web_port=free_port(),
                             data_dir=tmp_path / "worker", partitions=4,
                             replication_factor=replicas)
    ensure_topics(settings)
    emulator = EmulatorThread(EmulatorConfig(time_scale=0.05),
                              catalogue=seed_data.store_catalogue()).start()
    stores = {STORE: {"rest_url": emulator.api, **seed_data.EMULATOR_KEYS,
                      "webhook_secret": SECRET}}
    env = {**worker_env(settings), "WOOSYNC_STORES": json.dumps(stores),
           "WOOSYNC_REPLICATION_FACTOR": str(replicas),
           "WOOSYNC_WOO_SWEEP_INTERVAL": "2", "WOOSYNC_WOO_SWEEP_OVERLAP_SECONDS": "10",
           "WOOSYNC_ERP_POLL_INTERVAL": "3600"}
    worker = worker_process(tmp_path / "worker.log", env).start(WORKER_READY, timeout=180)
    ingress = f"http://127.0.0.1:{settings.web_port}/webhooks/woocommerce/{STORE}"
    for n, topic in enumerate(("order.created", "order.updated")):
        emulator.emulator.webhooks.hooks[n + 1] = Webhook(n + 1, topic, topic, ingress, SECRET)
    try:
        yield Rig(settings, emulator, worker)
    finally:
        worker.stop()
        emulator.stop()


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


async def _sale_through(rig: Rig, fault: Callable[[], Awaitable[str]]
                        ) -> tuple[SaleStats, str, float, int]:
    """A 35 s flash sale with ``fault`` running beside it; then wait until every SKU's
    holds equal the store's open holds, and check that every webhook the ingress
    accepted is on woo.raw. Returns the sale, what the fault did, how long after the
    sale the holds converged, and how many webhooks were refused."""
    skus = [item.sku for item in seed_data.products()]
    products = {sku: rig.emulator.emulator.store.by_sku(sku).id  # type: ignore[union-attr]
                for sku in skus}
    stats = SaleStats()
    _, did = await asyncio.gather(
        shoppers(rig.emulator.url, products, 35, 8, stats, random.Random(3)), fault())
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
    accepted = {d.resource_id for d in log if d.status == 200}
    stored = {int(m.body["resource_id"]) for _, m in read_until(
        rig.settings, t.WOO_RAW.name, lambda got: False,
        keep=lambda key, m: m.body["via"] == "webhook", timeout=20)}
    assert accepted <= stored  # every webhook answered 200 is on woo.raw
    return stats, did, converged, len([d for d in log if d.status != 200])


async def _down(stop: Callable[[], object], start: Callable[[], object], what: str) -> str:
    """Eight seconds into the sale, ``stop``; twelve seconds later, ``start`` again."""
    await asyncio.sleep(8)
    await asyncio.to_thread(stop)
    down = time.monotonic()
    await asyncio.sleep(12)
    await asyncio.to_thread(start)
    return f"{what} down {time.monotonic() - down:.1f} s"


async def test_a_broker_restart_mid_sale_loses_and_doubles_nothing(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka").start()
    try:
        with rig(f"kafka://{broker.bootstrap}", tmp_path) as running:
            stats, did, converged, refused = await _sale_through(
                running, lambda: _down(broker.stop, broker.start, "the broker"))
    finally:
        broker.stop()
    assert refused, "the ingress took every webhook although the broker was down"
    print(f"broker restart: {did}, {stats.placed} orders placed, {refused} webhooks"
          f" refused while down, holds converged {converged:.1f} s after the sale,"
          " lost 0, doubled 0")


async def test_one_node_of_three_killed_mid_sale_loses_and_doubles_nothing(
        tmp_path: Path) -> None:
    cluster = LocalKafkaCluster(tmp_path / "cluster").start()
    try:
        # The admin step made every topic as the production shape wants it.
        broker = ";".join(f"kafka://{node.bootstrap}" for node in cluster.nodes)
        with rig(broker, tmp_path, replicas=3) as running:
            layout = ensure_topics(running.settings)  # checks replicas and in-sync too
            assert layout == []  # all there already, all as registered

            victim = cluster.nodes[1]
            stats, did, converged, refused = await _sale_through(
                running, lambda: _down(victim.kill, victim.start, "node 2 (SIGKILL)"))
    finally:
        cluster.stop()
    print(f"cluster node killed: {did}, {stats.placed} orders placed, {refused} webhooks"
          f" refused, holds converged {converged:.1f} s after the sale, lost 0, doubled 0")


async def test_a_worker_killed_before_its_first_commit_loses_and_doubles_nothing(
        tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka").start()
    try:
        with rig(f"kafka://{broker.bootstrap}", tmp_path) as running:
            async def kill_worker() -> str:
                # Two seconds into the sale: before the worker commits what it has read
                # (Faust commits every 2.8 s), so its successor reads it all again.
                await asyncio.sleep(2)
                await asyncio.to_thread(running.worker.kill)
                await asyncio.to_thread(running.worker.start, WORKER_READY, 180)
                return "worker SIGKILLed 2 s into the sale and restarted"

            stats, did, converged, refused = await _sale_through(running, kill_worker)
    finally:
        broker.stop()
    print(f"{did}: {stats.placed} orders placed,"
          f" {refused} webhooks refused while it was down, holds converged"
          f" {converged:.1f} s after the sale, lost 0, doubled 0")

"""Fixtures for integration tests: one real Kafka broker and one real Tryton per test
session (Kafka from the jars the project resolves from Maven Central, Tryton on a copy of
the seeded template; tests use unique order references, so they share it), settings
unique to each test (its own app id, web port and data dir) with the registry's topics
created, and an admin client for tests to act in the ERP as a person would."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from devstack import seed_data
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams.admin import ensure_topics
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import Settings, load_settings
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread
from woo_emulator.webhooks import Webhook

_app_ids = itertools.count(1)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(tmp_path_factory.mktemp("kafka")).start()
    yield broker
    broker.stop()


@pytest.fixture
def settings(kafka: LocalKafka, tmp_path: Path) -> Settings:
    settings = load_settings(
        broker=f"kafka://{kafka.bootstrap}", app_id=f"woosync-test-{next(_app_ids)}",
        web_port=free_port(), data_dir=tmp_path / "worker", partitions=4,
    )
    ensure_topics(settings)
    return settings


def worker_env(settings: Settings, send_orders: bool = False) -> dict[str, str]:
    """The environment that makes a worker process use these settings.

    Store orders are sent to the ERP only where a test asks for it: the broker and the
    ERP are shared by the whole run, and a test that checks out thousands of orders for
    the inventory would otherwise leave thousands of sales for the ERP to make."""
    return {
        "WOOSYNC_BROKER": settings.broker,
        "WOOSYNC_APP_ID": settings.app_id,
        "WOOSYNC_WEB_PORT": str(settings.web_port),
        "WOOSYNC_DATA_DIR": str(settings.data_dir),
        "WOOSYNC_PARTITIONS": str(settings.partitions),
        # Secrets have no defaults: the tests set theirs (a test's own WOOSYNC_STORES
        # replaces this one and carries its own).
        "WOOSYNC_ERP_PASSWORD": seed_data.INTEGRATION_PASSWORD,
        "WOOSYNC_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
        "WOOSYNC_STORES": json.dumps({"demo": TEST_STORE}),
        **({} if send_orders else {"WOOSYNC_ORDER_SEND_STATUSES": "[]"}),
    }


TEST_ADMIN_TOKEN = "test-admin-token-4f9c2e"
# The emulator's keys; a webhook secret of the tests' own.
TEST_STORE = {"consumer_key": "ck_demo", "consumer_secret": "cs_demo",
              "webhook_secret": "test-webhook-secret"}


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    server = TrytonServer(tmp_path_factory.mktemp("tryton")).start()
    yield server
    server.stop()


@pytest.fixture
async def erp_admin(tryton: TrytonServer) -> AsyncIterator[TrytonClient]:
    client = TrytonClient(tryton.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    yield client
    await client.close()


# -- the whole stack, for end-to-end tests: the emulator (webhooks pointed at the worker),
# the shared Tryton, one worker with fast feeds. A test marked ``fresh`` starts its
# worker at the end of the topics; one marked ``orders`` has store orders sent to the ERP.

SECRET = "whsec-e2e"
SAFETY = 1


@dataclass
class Stack:
    store: str
    emulator: EmulatorThread
    worker: ManagedProcess
    settings: Settings

    def get(self, path: str, token: str | None = TEST_ADMIN_TOKEN) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.settings.web_port}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=30) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), json.loads(exc.read())


def store_config(emulator: EmulatorThread, warehouses: tuple[str, ...] = ("WH", "WH2"),
                 ship_from: str = "WH", **more: Any) -> dict[str, Any]:
    """One store's settings: the emulator's REST keys and the stack's webhook secret."""
    return {"rest_url": emulator.api, "consumer_key": "ck_demo",
            "consumer_secret": "cs_demo", "webhook_secret": SECRET,
            "warehouses": list(warehouses), "ship_from": ship_from, **more}


def start_worker(settings: Settings, tryton: TrytonServer, tmp_path: Path,
                 request: pytest.FixtureRequest, stores: dict[str, Any]) -> ManagedProcess:
    """A worker with fast feeds serving ``stores``; a test marked ``fresh`` starts it at
    the end of the topics, one marked ``orders`` has store orders sent to the ERP, and
    ``env`` markers add settings."""
    env = {**worker_env(settings, send_orders=bool(request.node.get_closest_marker("orders"))),
           "WOOSYNC_STORES": json.dumps(stores),
           "WOOSYNC_ERP_URL": tryton.url, "WOOSYNC_ERP_POLL_INTERVAL": "0.5",
           "WOOSYNC_WOO_SWEEP_INTERVAL": "2", "WOOSYNC_WOO_SWEEP_OVERLAP_SECONDS": "5",
           "WOOSYNC_DEFAULT_SAFETY_STOCK": str(SAFETY), "WOOSYNC_SINK_COALESCE_SECONDS": "0.2",
           # A test marked "fresh" starts its worker at the end of the topics, not
           # working through what earlier tests left on the shared broker.
           "WOOSYNC_CONSUMER_OFFSET_RESET": "latest" if request.node.get_closest_marker(
               "fresh") else "earliest"}
    extra = request.node.get_closest_marker("env")
    env.update(extra.kwargs if extra else {})
    return worker_process(tmp_path / "worker.log", env).start(WORKER_READY)


def hook_up(emulator: EmulatorThread, settings: Settings, store: str) -> None:
    """The store's order webhooks pointed at the worker's ingress for ``store``."""
    ingress = f"http://127.0.0.1:{settings.web_port}/webhooks/woocommerce/{store}"
    hooks = emulator.emulator.webhooks
    for n, topic in enumerate(("order.created", "order.updated")):
        hooks.hooks[100 + n] = Webhook(100 + n, topic, topic, ingress, SECRET)


@pytest.fixture
def stack(settings: Settings, tryton: TrytonServer, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[Stack]:
    store = f"flash{uuid.uuid4().hex[:6]}"
    emulator = EmulatorThread(EmulatorConfig(time_scale=0.05),
                              catalogue=seed_data.store_catalogue()).start()
    worker = start_worker(settings, tryton, tmp_path, request,
                          {store: store_config(emulator)})
    hook_up(emulator, settings, store)
    yield Stack(store, emulator, worker, settings)
    worker.stop()
    emulator.stop()


def erp_settings(server: TrytonServer) -> Settings:
    """Settings that reach the test ERP as the integration user."""
    return load_settings(erp_url=server.url, erp_password=seed_data.INTEGRATION_PASSWORD)

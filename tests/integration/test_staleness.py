"""The ERP feed's freshness drives availability without any SKU event: when the feed's
heartbeats stop, a quiet SKU is republished conservatively (less the stale buffer) and
marked stale; when they come back, it is republished in full."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devstack.kafka_broker import free_port
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.codec import Message
from streams.envelope import deterministic_id, envelope
from streams.settings import Settings
from tests.integration.conftest import TEST_STORE, worker_env
from tests.integration.kafka_io import read_until

pytestmark = pytest.mark.integration
STALE_SECONDS = 4


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[ManagedProcess]:
    stores = {"st": {**TEST_STORE, "rest_url": "http://127.0.0.1:9/none",
                     "warehouses": ["WH"],
                     "ship_from": "WH"}}
    env = {**worker_env(settings), "WOOSYNC_WEB_PORT": str(free_port()),
           "WOOSYNC_STORES": json.dumps(stores), "WOOSYNC_AGENTS": '["availability"]',
           "WOOSYNC_ERP_STALE_SECONDS": str(STALE_SECONDS),
           "WOOSYNC_CONSUMER_OFFSET_RESET": "latest"}
    process = worker_process(tmp_path / "worker.log", env).start(WORKER_READY)
    yield process
    process.stop()


def _env(key: str, n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return envelope(event_id=deterministic_id("stale-test", key, n, now.isoformat()),
                    occurred_at=now, observed_at=now, source="test", source_version=str(n),
                    trace_id=key)


def _heartbeats(settings: Settings, n: int) -> None:
    with CanonicalProducer(settings) as producer:
        for p in range(settings.partitions):
            producer.send(t.ERP_STOCK, "erp:test:heartbeat", "woosync.ErpFeedPolled", {
                "envelope": _env("hb", n * 100 + p), "feed": "erp:test",
                "polled_at": datetime.now(UTC), "partition": p}, partition=p)


def _published(settings: Settings, sku: str, count: int) -> list[tuple[int, bool]]:
    """The first ``count`` availabilities published for ``sku``: (quantity, stale)."""
    def keep(key: str, message: Message) -> bool:
        return key == sku

    got = read_until(settings, t.INVENTORY_AVAILABILITY.name,
                     lambda kept: len(kept) >= count, keep=keep, timeout=40)
    return [(m.body["stores"][0]["quantity"], m.body["stores"][0]["stale"]) for _, m in got]


def test_a_quiet_sku_goes_stale_with_the_feed_and_back(settings: Settings,
                                                       worker: ManagedProcess) -> None:
    sku = f"ST-{uuid.uuid4().hex[:6]}"
    _heartbeats(settings, 1)
    with CanonicalProducer(settings) as producer:
        producer.send(t.ERP_STOCK, sku, "woosync.StockLevelObserved", {
            "envelope": _env(sku, 1), "sku": sku, "read_at": datetime.now(UTC),
            "warehouses": [{"warehouse": "WH", "on_hand": Decimal(20),
                            "forecast": Decimal(20)}]})
    # Fresh, then (no heartbeat, no event for the SKU) stale: 20 less the buffer of 5.
    assert _published(settings, sku, 2) == [(20, False), (15, True)]
    _heartbeats(settings, 2)
    assert _published(settings, sku, 3)[2] == (20, False)

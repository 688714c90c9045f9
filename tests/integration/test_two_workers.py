"""Two workers on one broker: partitions split between them, and either answers for
every SKU (table-routed to the owner); when one is killed, the survivor takes over its
partitions and answers right for every SKU."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devstack.kafka_broker import free_port
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.envelope import deterministic_id, envelope
from streams.settings import Settings
from tests.integration.conftest import TEST_STORE, worker_env
from tests.integration.kafka_io import end_offsets, wait_committed

pytestmark = pytest.mark.integration
SKUS = [f"TW-{n:02d}" for n in range(1, 13)]


def _get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return int(exc.code), json.loads(body)
        except ValueError:  # e.g. a 500 while the group is still rebalancing
            return int(exc.code), {"error": body.decode(errors="replace")}


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[tuple[ManagedProcess, int]]]:
    stores = {"tw": {**TEST_STORE, "rest_url": "http://127.0.0.1:9/none",
                     "warehouses": ["WH"],
                     "ship_from": "WH"}}
    started = []
    for n in range(2):
        port = free_port()
        env = {**worker_env(settings), "WOOSYNC_WEB_PORT": str(port),
               "WOOSYNC_DATA_DIR": str(tmp_path / f"w{n}"), "WOOSYNC_STORES": json.dumps(stores),
               "WOOSYNC_ERP_POLL_INTERVAL": "3600", "WOOSYNC_WOO_SWEEP_INTERVAL": "3600",
               "WOOSYNC_ERP_STALE_SECONDS": "3600", "WOOSYNC_SESSION_TIMEOUT_SECONDS": "10",
               # The events come after both workers are up: skip earlier tests' history.
               "WOOSYNC_CONSUMER_OFFSET_RESET": "latest",
               # The store is unreachable here: its sink gives up quickly (a sink that
               # waits holds rebalances).
               "WOOSYNC_DELIVERY_MAX_WAIT_SECONDS": "2", "WOOSYNC_BREAKER_RESET_SECONDS": "1",
               "WOOSYNC_RETRY_CAP_SECONDS": "0.5"}
        started.append((worker_process(tmp_path / f"w{n}.log", env).start(WORKER_READY), port))
    yield started
    for worker, _ in started:
        worker.stop()


def _publish(settings: Settings, base: int) -> dict[str, int]:
    """A stock read and one hold per SKU; returns the expected ATP."""
    now = datetime.now(UTC)
    expected = {}
    with CanonicalProducer(settings) as producer:
        for n, sku in enumerate(SKUS):
            env = envelope(event_id=deterministic_id("tw", sku, base), occurred_at=now,
                           observed_at=now, source="test", source_version=str(base),
                           trace_id=sku)
            producer.send(t.ERP_STOCK, sku, "woosync.StockLevelObserved", {
                "envelope": env, "sku": sku, "read_at": now + timedelta(seconds=base),
                "warehouses": [{"warehouse": "WH", "on_hand": Decimal(base + n),
                                "forecast": Decimal(base + n)}]})
            producer.send(t.INVENTORY_HOLDS, sku, "woosync.HoldSet", {
                "envelope": env, "sku": sku, "order_id": f"woo:tw:{n}", "line_id": "1",
                "store": "tw", "quantity": Decimal(2), "order_version": now})
            expected[sku] = base + n - 2
    return expected


def _answers(port: int, expected: dict[str, int], within: float = 60,
             skus: list[str] = SKUS) -> dict[str, Any]:
    deadline = time.monotonic() + within
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = {}
        for sku in skus:
            status, body = _get(port, f"/reservations/{sku}")
            seen[sku] = int(Decimal(body["stores"]["tw"]["atp"])) if status == 200 else (
                status, body)
        if seen == expected:
            return seen
        time.sleep(1)
    return seen


def test_either_worker_answers_for_every_sku_and_survives_the_other(
    settings: Settings, workers: list[tuple[ManagedProcess, int]]
) -> None:
    (first, first_port), (_, second_port) = workers
    # Wait until the group is stable: both workers ready, each owning part of the
    # inventory's partitions.
    deadline = time.monotonic() + 60
    owned: dict[int, set[int]] = {}
    while time.monotonic() < deadline:
        owned = {}
        for port in (first_port, second_port):
            status, ready = _get(port, "/ready")
            if status == 200:
                owned[port] = set(ready["assigned"].get(t.ERP_STOCK.name, []))
        if len(owned) == 2 and all(owned.values()):
            break
        time.sleep(1)
    assert len(owned) == 2 and all(owned.values()), owned
    assert set.union(*owned.values()) == set(range(settings.partitions))
    mark = end_offsets(settings, [t.ERP_STOCK.name, t.INVENTORY_HOLDS.name])
    expected = _publish(settings, 100)
    assert _answers(first_port, expected) == expected
    assert _answers(second_port, expected) == expected

    # One worker dies: the survivor takes over its partitions (the broker notices after
    # the session timeout), restores their rows from the changelogs, and answers right
    # for every SKU, including new events on the partitions it took over.
    # Faust commits consumed offsets every 2.8 s: let the first worker commit what it
    # has done (a partition with no committed offset would start at the end of the
    # topic when taken over, as this group's workers start at the end).
    wait_committed(settings, settings.app_id, mark)
    first.kill()
    expected = _publish(settings, 200)
    answers = _answers(second_port, expected, within=120)
    assert answers == expected

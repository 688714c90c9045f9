"""A store down longer than the sink's wait: the sink dead-letters its availability
commands, and the store still converges, twice over: the anti-entropy resync sends every
value again once the store is back, and the operator replays the dead letters with the
CLI (each replayed once; asking again replays nothing). Operations pages need the token;
the worker's log holds none of the configured secrets nor a shopper's e-mail address,
and its shutdown leaves no HTTP client open."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack import seed_data
from devstack.flash_sale import SaleStats, shoppers
from streams import dlq
from streams.codec import Codec
from streams.erp.tryton_rpc import TrytonClient
from tests.integration.conftest import SECRET, TEST_ADMIN_TOKEN, TEST_STORE, Stack
from tests.integration.erp_actions import count_stock
from tests.integration.test_inventory_e2e import _converged
from woo_emulator.config import Faults

pytestmark = [pytest.mark.integration, pytest.mark.fresh,
              pytest.mark.env(WOOSYNC_DELIVERY_MAX_WAIT_SECONDS="3",
                              WOOSYNC_BREAKER_RESET_SECONDS="1",
                              WOOSYNC_AVAILABILITY_RESYNC_SECONDS="5")]


def _dlq_cli(stack: Stack, *args: str) -> str:
    env = {**os.environ, "WOOSYNC_BROKER": stack.settings.broker}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "dlq", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _store_letters(stack: Stack, since: datetime) -> list[dlq.Letter]:
    letters, _, _ = dlq.load(stack.settings, Codec())
    return dlq.select(letters, dlq.Selection(topic="store.commands", stage="store-sink",
                                             since=since))


async def test_a_long_store_outage_ends_with_the_store_converged(
        stack: Stack, erp_admin: TrytonClient) -> None:
    # The worker starts at the end of the topics: count these SKUs in the ERP now, so
    # that it reads their stock (and only these are sold here).
    skus = ["HOT-01", "HOT-02", "HOT-03", "HOT-04", "MUG"]
    for sku in skus:
        await count_stock(erp_admin, sku, "WH", 300)
    expected, actual = await _converged(stack, erp_admin, skus, within=90)
    assert actual == expected
    began = datetime.now(UTC)
    assert stack.get("/ready")[0] == 200

    # The store's REST API answers 503 to everything; shoppers keep checking out.
    outage = Faults(rest_5xx=1.0)
    await asyncio.to_thread(stack.emulator.run, setattr, stack.emulator.emulator.config,
                            "faults", outage)
    stats = SaleStats()
    products = {sku: stack.emulator.emulator.store.by_sku(sku).id  # type: ignore[union-attr]
                for sku in skus}
    await shoppers(stack.emulator.url, products, 8, 10, stats, random.Random(11))
    assert stats.placed > 20
    # The ERP counts new stock meanwhile: a number the store cannot find out by itself
    # (its own checkouts it tracks; this only woosync can tell it).
    for sku in skus:
        await count_stock(erp_admin, sku, "WH", 250)
    letters: list[dlq.Letter] = []
    for _ in range(90):
        letters = await asyncio.to_thread(_store_letters, stack, began)
        if {x.key for x in letters} >= {sku.encode() for sku in skus}:
            break  # every SKU's newest value has been given up on
        await asyncio.sleep(1)
    assert letters, "the sink never gave up on the store"
    assert all("unavailable for more than" in x.error for x in letters)
    expected, actual = await _converged(stack, erp_admin, skus, within=3)
    assert actual != expected  # the store really missed the ERP's count

    # Back up: the resync alone brings the store to the right numbers.
    await asyncio.to_thread(stack.emulator.run, setattr, stack.emulator.emulator.config,
                            "faults", Faults())
    back = time.monotonic()
    expected, actual = await _converged(stack, erp_admin, skus, within=60)
    assert actual == expected
    print(f"store outage: {stats.placed} orders placed and {len(skus)} stock counts while"
          f" down, {len(letters)}+ commands dead-lettered, store converged (resync)"
          f" {time.monotonic() - back:.1f} s after it came back")

    # The operator replays them; a second replay finds nothing left to do.
    letters = await asyncio.to_thread(_store_letters, stack, began)
    since = began.isoformat()
    dry = await asyncio.to_thread(_dlq_cli, stack, "replay", "--all", "--topic",
                                  "store.commands", "--since", since, "--dry-run")
    assert f"dry run: {len(letters)} letters selected, nothing sent" in dry
    out = await asyncio.to_thread(_dlq_cli, stack, "replay", "--all", "--topic",
                                  "store.commands", "--since", since, "--by", "test-ops")
    assert f"replayed {len(letters)} of {len(letters)}" in out
    again = await asyncio.to_thread(_dlq_cli, stack, "replay", "--all", "--topic",
                                    "store.commands", "--since", since)
    assert f"replayed 0 of {len(letters)}" in again
    listed = await asyncio.to_thread(_dlq_cli, stack, "list", "--topic", "store.commands",
                                     "--since", since, "--not-replayed")
    assert listed.strip().splitlines()[-1].startswith("0 of ")
    expected, actual = await _converged(stack, erp_admin, skus, within=60)
    assert actual == expected  # the replayed (older) values did not undo the newer ones

    # Operations pages: the token, or nothing.
    assert stack.get("/dlq", token=None)[0] == 401
    status, page = stack.get(f"/dlq?topic=store.commands&since={since.replace('+', '%2B')}")
    assert status == 200 and page["total"] == len(letters)
    assert all(item["replays"][0]["by"] == "test-ops" for item in page["items"])

    # A clean stop: every outside client closed.
    log_file = Path(stack.worker.log_file)
    await asyncio.to_thread(stack.worker.stop)
    log = await asyncio.to_thread(log_file.read_text, errors="replace")
    assert "Unclosed client session" not in log and "Unclosed connector" not in log
    for secret in (TEST_STORE["consumer_secret"], SECRET, TEST_ADMIN_TOKEN,
                   seed_data.INTEGRATION_PASSWORD):
        assert secret not in log
    assert "@example.com" not in log

"""The dashboard as a person sees it, in Debian's headless Chromium (driven by selenium
through Debian's chromedriver; nothing is downloaded at run time): during a flash sale on
a real broker, Tryton and the emulator, the promotion view lists the hot SKUs in the
order of ``/risk``, its numbers move between two looks, the operations view shows the
workflows' latency, and the page logs no console error. A screenshot of each view is
saved (``WOOSYNC_SCREENSHOTS``, default ``.state/screenshots``)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from devstack import seed_data
from devstack.flash_sale import SaleStats, shoppers
from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.fresh]

SHOTS = Path(os.environ.get("WOOSYNC_SCREENSHOTS", ".state/screenshots"))


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("Debian's chromium and chromium-driver are missing: `make browser`"
                    " installs them (the test command runs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def _hot(browser: Any) -> list[tuple[str, str, str]]:
    """The promotion table as shown: each row's SKU, level and the rest of its text."""
    # Read in one script: the page redraws the table every poll, so elements found one
    # call earlier may be gone.
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#hot tbody tr')]"
        ".map(r => [r.dataset.sku, r.dataset.level, r.innerText]);")
    return [(sku, level, text) for sku, level, text in rows]


async def _until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.5)


async def test_the_dashboard_shows_the_flash_sale_as_it_happens(stack: Stack) -> None:
    skus = [item.sku for item in seed_data.products()]
    products = {sku: stack.emulator.emulator.store.by_sku(sku).id  # type: ignore[union-attr]
                for sku in skus}
    stats = SaleStats()
    sale = asyncio.gather(*(shoppers(stack.emulator.url, products, 45, 8, stats,
                                     random.Random(seed)) for seed in (11, 12)))
    browser = await asyncio.to_thread(_browser)
    try:
        url = f"http://127.0.0.1:{stack.settings.web_port}/dashboard"
        await asyncio.to_thread(browser.get, url)
        first = await _until(lambda: len(_hot(browser)) >= 3 and _hot(browser), 60,
                             "no hot SKUs on the dashboard during the sale")
        updates = int(browser.find_element("css selector", "body").get_attribute(
            "data-updates") or 0)
        await asyncio.sleep(6)  # three polls
        assert int(browser.find_element("css selector", "body").get_attribute(
            "data-updates")) >= updates + 2
        # The hot SKUs sell out within seconds, and a sold-out row stops changing; on a
        # slow machine three polls can all fall in such a lull, so the numbers get 30 s
        # more to move (a page that never redraws, or a sale that moves nothing, fails).
        await _until(lambda: _hot(browser) != first, 30,
                     "the numbers did not move during the sale")

        # The order a person sees is the order /risk gives.
        status, page = stack.get("/risk?per_page=20")
        assert status == 200
        ranked = [r["sku"] for r in page["items"] if r["level"] != "none"]
        shown = [sku for sku, _, _ in _hot(browser)]
        assert shown[:3] == ranked[:3], (shown, ranked)
        levels = [level for _, level, _ in _hot(browser)]
        order = ["critical", "high", "medium", "low"]
        assert levels == sorted(levels, key=order.index)
        await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(browser.save_screenshot, str(SHOTS / "dashboard-promotion.png"))

        await asyncio.to_thread(browser.find_element("id", "tab-operations").click)
        await _until(lambda: "availability" in browser.find_element(
            "id", "latency").text, 20, "no latency shown for the availability workflow")
        assert browser.find_element("id", "orders-rate").text not in ("", "-")
        await asyncio.to_thread(browser.save_screenshot,
                                str(SHOTS / "dashboard-operations.png"))

        errors = [entry for entry in browser.get_log("browser")
                  if entry["level"] in ("SEVERE", "ERROR")]
        assert errors == []
    finally:
        await asyncio.to_thread(browser.quit)
        await sale
    assert stats.placed > 0 and not stats.errors

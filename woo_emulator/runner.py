"""Running the emulator: seeded with the same catalogue as the demo ERP, either in a
thread of its own (tests, which then inspect and drive its store directly) or as a
process (``python -m woo_emulator``, the demo and benchmarks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Any, TypeVar

from aiohttp import web

from streams.erp import seed_data
from woo_emulator.config import EmulatorConfig
from woo_emulator.server import Emulator

T = TypeVar("T")


def seed(emulator: Emulator) -> None:
    """The demo catalogue: the ERP's SKUs, the T-shirt as a variable product."""
    store = emulator.store
    parents: dict[str, int] = {}
    for item in seed_data.products():
        stock = sum(item.stock.values())
        if item.sku.startswith("TSHIRT-"):
            if item.template not in parents:
                parents[item.template] = store.add_product(
                    name=item.template, sku="TSHIRT", type="variable", manage_stock=False,
                    stock_quantity=None, regular_price=item.list_price).id
            store.add_product(name=f"{item.template} {item.sku[-1]}", sku=item.sku,
                              type="variation", parent_id=parents[item.template],
                              regular_price=item.list_price, stock_quantity=stock)
        else:
            store.add_product(name=item.template, sku=item.sku,
                              regular_price=item.list_price, stock_quantity=stock)


class EmulatorThread:
    """The emulator serving on 127.0.0.1:<port> from a thread with its own event loop."""

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0,
                 seeded: bool = True) -> None:
        self.emulator = Emulator(config)
        if seeded:
            seed(self.emulator)
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/wp-json/wc/v3"

    def start(self) -> EmulatorThread:
        self._thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.emulator.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    def call(self, coro: Awaitable[T], timeout: float = 60) -> T:
        """Run a coroutine on the emulator's loop and wait for it (from another thread)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def run(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the emulator's loop (store changes queue webhooks)."""
        async def wrapper() -> Any:
            return fn(*args)
        return self.call(wrapper())

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

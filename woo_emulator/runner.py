"""Running the emulator, seeded with a catalogue its caller gives (the demo's comes from
the project's seed data; the emulator itself imports nothing of the project), either in
a thread of its own (tests and the demo, which then inspect and drive its store
directly) or as a process (``python -m woo_emulator --catalogue FILE``)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from woo_emulator.config import EmulatorConfig
from woo_emulator.server import Emulator

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogueItem:
    """One product to create: a simple product, or a variation of the variable product
    named ``variation_of`` (created, without stock of its own, with its first variation)."""

    name: str
    sku: str
    price: Decimal
    stock: int
    variation_of: str | None = None
    parent_sku: str | None = None


def seed(emulator: Emulator, catalogue: Sequence[CatalogueItem]) -> None:
    store = emulator.store
    parents: dict[str, int] = {}
    for item in catalogue:
        if item.variation_of is None:
            store.add_product(name=item.name, sku=item.sku, regular_price=item.price,
                              stock_quantity=item.stock)
            continue
        if item.variation_of not in parents:
            parents[item.variation_of] = store.add_product(
                name=item.variation_of, sku=item.parent_sku or "", type="variable",
                manage_stock=False, stock_quantity=None, regular_price=item.price).id
        store.add_product(name=item.name, sku=item.sku, type="variation",
                          parent_id=parents[item.variation_of], regular_price=item.price,
                          stock_quantity=item.stock)


def load_catalogue(path: str) -> list[CatalogueItem]:
    """A catalogue from a JSON list of objects with CatalogueItem's fields."""
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh)
    return [CatalogueItem(**{**row, "price": Decimal(str(row["price"]))}) for row in rows]


class EmulatorThread:
    """The emulator serving on 127.0.0.1:<port> from a thread with its own event loop."""

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0,
                 catalogue: Sequence[CatalogueItem] = ()) -> None:
        self.emulator = Emulator(config)
        seed(self.emulator, catalogue)
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

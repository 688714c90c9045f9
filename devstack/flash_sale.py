"""The flash-sale traffic generator of the demo: shoppers checking out on the store
(the emulator's checkout, against its own stock, so a stale figure oversells as on a
real store), most of them on a few hot SKUs, stock counts in the ERP meanwhile, and a
warehouse shipping a share of the ERP's sales with tracking numbers. Bounded in count
and time; only talks to 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from streams.erp.tryton_rpc import TrytonClient


@dataclass
class SaleStats:
    placed: int = 0
    refused: int = 0
    counts: int = 0
    shipped: int = 0
    first_order: int | None = None
    announced: bool = False
    errors: list[str] = field(default_factory=list)


async def shoppers(emulator_url: str, products: dict[str, int], seconds: float,
                   rate: float, stats: SaleStats, rng: random.Random,
                   orders: int | None = None, gate: asyncio.Event | None = None) -> None:
    """About ``rate`` checkouts a second for ``seconds``; 70 % on the first 8 SKUs.
    With ``orders``, stop as soon as that many are placed in ``stats`` (shared by every
    crowd), so a test's load is a number of orders, not whatever a busy machine manages
    in the time; ``seconds`` is then the cap. With ``gate``, each checkout waits until
    the gate is open (a caller that paces the shoppers to what another system keeps up
    with)."""
    skus = sorted(products)
    hot = skus[:8]
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    async with aiohttp.ClientSession() as session:
        n = 0
        while loop.time() < end and (orders is None or stats.placed < orders):
            if gate is not None:
                await gate.wait()
                if loop.time() >= end:
                    break
            n += 1
            sku = rng.choice(hot) if rng.random() < 0.7 else rng.choice(skus)
            body: dict[str, Any] = {"items": [{"product_id": products[sku],
                                               "quantity": rng.randint(1, 2)}],
                                    "billing": {"email": f"shopper{n % 500}@example.com",
                                                "first_name": f"Shopper{n % 500}"}}
            try:
                async with session.post(f"{emulator_url}/__emulator/checkout",
                                        json=body) as response:
                    if response.status == 201:
                        stats.placed += 1
                        if stats.first_order is None:
                            stats.first_order = int((await response.json())["id"])
                    else:
                        stats.refused += 1
            except aiohttp.ClientError as exc:
                stats.errors.append(str(exc))
            await asyncio.sleep(rng.expovariate(rate))


async def stock_counts(erp: TrytonClient, skus: list[str], seconds: float, every: float,
                       stats: SaleStats, rng: random.Random,
                       counted: tuple[int, int] = (5, 60),
                       until: asyncio.Event | None = None) -> None:
    """A stock count in a random warehouse every ``every`` seconds (ERP inventories),
    finding between ``counted`` units; 70 % of them on the first 8 SKUs, where the
    shoppers' demand is. Stops after ``seconds``, or earlier once ``until`` is set."""
    storage, products = await counting_places(erp, skus)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end and not (until and until.is_set()):
        await asyncio.sleep(every)
        ordered = sorted(skus)
        sku = rng.choice(ordered[:8]) if rng.random() < 0.7 else rng.choice(ordered)
        await count(erp, storage[rng.choice(["WH", "WH2"])], products[sku],
                    rng.randint(*counted))
        stats.counts += 1


async def counting_places(erp: TrytonClient, skus: list[str]
                          ) -> tuple[dict[str, int], dict[str, int]]:
    """Each warehouse's storage location (where inventories count) and each SKU's ERP
    product id."""
    storage = {}
    for code in ("WH", "WH2"):
        wid = (await erp.model("stock.location", "search", [("code", "=", code)], 0, 1,
                               None))[0]
        storage[code] = (await erp.model("stock.location", "read", [wid],
                                         ["storage_location"]))[0]["storage_location"]
    products = {p["code"]: p["id"] for p in await erp.model(
        "product.product", "search_read", [("code", "in", skus)], 0, None, None, ["code"])}
    return storage, products


async def count(erp: TrytonClient, storage: int, product: int, quantity: int) -> None:
    """An inventory in the ERP: the product counted at ``quantity`` in that storage."""
    inventory, = await erp.model("stock.inventory", "create", [{
        "location": storage,
        "lines": [["create", [{"product": product, "quantity": float(quantity)}]]]}])
    await erp.model("stock.inventory", "confirm", [inventory])


async def warehouse(erp: TrytonClient, seconds: float, every: float, share: int,
                    stats: SaleStats, reference: str = "woo:%") -> None:
    """Every ``every`` seconds, ship one in ``share`` of the store's ERP sales that are
    waiting (the sale's id decides which; ``reference`` picks the store's sales), with a
    tracking number in the shipment's reference, as a warehouse does in Tryton."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await asyncio.sleep(every)
        sales = await erp.model(
            "sale.sale", "search_read",
            [("woosync_reference", "like", reference), ("state", "=", "processing"),
             ("shipments.state", "in", ["waiting", "assigned"])], 0, 5, None, ["shipments"])
        for sale in sales:
            if sale["id"] % share:
                continue
            for shipment in sale["shipments"]:
                await ship(erp, shipment, f"DEMO{shipment:06d}")
            stats.shipped += 1


async def ship(erp: TrytonClient, shipment: int, tracking: str) -> None:
    """What a warehouse does in Tryton: type the carrier's tracking number into the
    shipment's reference, then assign, pick, pack and finish it."""
    await erp.model("stock.shipment.out", "write", [shipment], {"reference": tracking})
    await erp.model("stock.shipment.out", "assign_force", [shipment])
    for button in ("pick", "pack", "do"):
        await erp.model("stock.shipment.out", button, [shipment])

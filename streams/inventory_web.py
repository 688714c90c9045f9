"""The inventory's web pages.

``GET /reservations/{sku}``: the SKU's holds with their orders (at most MAX_LISTED of
them listed; ``held`` is the sum of all that count), the ERP's levels per
warehouse and the time of that read, ATP and the last value published to each store
(and when), and whether the ERP feed is stale. Table-routed: any worker answers, by
proxying to the worker that owns the SKU's partition. 400 for a malformed SKU, 404 for
one never seen.

``GET /availability?page=&per_page=``: every SKU's availability, read from the compacted
``inventory.availability`` topic (the last record of each SKU), so any worker answers for
all SKUs without asking the others; cached for a second.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from streams import topics
from streams.compacted import read_compacted
from streams.inventory_config import channels, feed_stale, partition_of, policy
from streams.openapi import SKU_PATTERN
from streams.runtime import AgentSpec, Runtime
from streams.table_scan import keys_with_prefix
from streams.web import paging, settling, takes
from tables.inventory import Hold, SkuState, atp, counting, held
from tables.registry import HOLD_LINES, INVENTORY, feed_key

SKU = re.compile(SKU_PATTERN)


# A SKU's page lists at most this many holds (the sums always cover all of them).
MAX_LISTED = 1000


def sku_holds(holds: Any, sku: str, partitions: int) -> list[tuple[str, Hold]]:
    """The SKU's hold rows on this worker with a quantity, by order and line: a seek to
    the SKU's rows in its partition (they sort together, streams.table_scan)."""
    prefix = f"{sku}|".encode()
    out = []
    for row in keys_with_prefix(holds, partition_of(sku.encode(), partitions), prefix):
        hold = Hold.from_json(holds.get(row))
        if hold is not None and hold.quantity:
            out.append((row[len(prefix):].decode(), hold))
    return out


def reservation(runtime: Runtime, state: SkuState, holds: list[tuple[str, Hold]],
                feed: dict[str, Any] | None) -> dict[str, Any]:
    settings = runtime.settings
    rules = policy(settings, state.sku)
    return {
        "sku": state.sku,
        "erp": {"read_at": state.read_at,
                "warehouses": {w: {"on_hand": str(a), "forecast": str(b)}
                               for w, (a, b) in sorted(state.levels.items())}},
        "held": str(held(state)),
        "holds_listed": min(len(holds), MAX_LISTED), "holds_total": len(holds),
        "holds": [{"order_id": key.split("|")[0], "line_id": key.split("|")[1],
                   "store": h.store, "quantity": str(h.quantity), "order_version": h.version,
                   "converted_at": h.converted_at,
                   "counts": counting(state, key, h)}
                  for key, h in holds[:MAX_LISTED]],
        "stores": {c.store: {"atp": str(atp(state, c, rules)),
                             # The holds that reduce this store's stock: its own and
                             # those of stores sharing a warehouse with it.
                             "held": str(held(state, c)),
                             "warehouses": list(c.warehouses),
                             "published": (lambda p: {"quantity": p.quantity,
                                                      "stock_status": p.status,
                                                      "stale": p.stale, "at": p.at}
                                           if p else None)(state.published.get(c.store))}
                   for c in channels(settings, state.sku)},
        # A partition's feed row may exist before any heartbeat (judged stale first).
        "feed": {"polled_at": (feed or {}).get("polled_at"),
                 "stale": feed_stale(settings, feed, datetime.now(UTC))},
    }


def register(runtime: Runtime) -> None:
    table, hold_lines = runtime.table(INVENTORY), runtime.table(HOLD_LINES)
    app = runtime.app
    settings = runtime.settings
    cache: dict[str, Any] = {"at": 0.0, "read": {"rows": []}}

    @app.page("/reservations/{sku}")
    @app.table_route(table=table, match_info="sku")
    async def reservations(web: Any, request: Any, sku: str) -> Any:
        if not SKU.match(sku):
            return web.json({"error": f"malformed SKU {sku!r}"}, status=400)
        busy = settling(web, runtime)
        if busy is not None:
            return busy
        data = table.get(sku.encode())
        if not data:
            return web.json({"error": f"unknown SKU {sku!r}"}, status=404)
        state = SkuState.from_json(sku, data)
        feed = table.get(feed_key(partition_of(sku.encode(), settings.partitions)))
        holds = await asyncio.to_thread(sku_holds, hold_lines, sku, settings.partitions)
        return web.json(reservation(runtime, state, holds, feed))

    @app.page("/availability")
    @takes("page", "per_page")
    async def availability(web: Any, request: Any) -> Any:
        try:
            page, per_page = paging(request.query, 100)
        except ValueError:
            return web.json({"error": "page and per_page must be integers"}, status=400)
        if time.monotonic() - cache["at"] > 1.0:
            cache["read"] = await asyncio.to_thread(_read_availability, runtime)
            cache["at"] = time.monotonic()
        read = cache["read"]
        rows = read["rows"]
        chunk = rows[(page - 1) * per_page: page * per_page]
        return web.json({"page": page, "per_page": per_page, "total": len(rows),
                         "items": chunk, "undecodable": read.get("undecodable", 0),
                         "complete": read.get("complete", True)})


def _read_availability(runtime: Runtime) -> dict[str, Any]:
    """The last AvailabilityChanged of every SKU, from the compacted topic, with how many
    records could not be read and whether the read finished before its deadline."""
    read = read_compacted(runtime.settings, runtime.codec, topics.INVENTORY_AVAILABILITY.name)
    rows = []
    for message in read.latest.values():
        body = message.body
        rows.append({"sku": body["sku"], "atp": str(body["atp"]),
                     "at": body["envelope"]["observed_at"].isoformat(),
                     "stores": {s["store"]: {"quantity": s["quantity"],
                                             "stock_status": s["stock_status"],
                                             "stale": s["stale"],
                                             # None in events from before it was carried
                                             "atp": None if s.get("atp") is None
                                             else str(s["atp"])}
                                for s in body["stores"]}})
    return {"rows": sorted(rows, key=lambda row: str(row["sku"])),
            "undecodable": read.undecodable, "complete": read.complete}


AGENT = AgentSpec("inventory_web", register, reads=(INVENTORY, HOLD_LINES))

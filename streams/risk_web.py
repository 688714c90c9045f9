"""Oversell risk pages, answered by any worker for every SKU.

``GET /risk?level=&page=&per_page=``: SKUs by risk, most at risk first (level, then
time to stock-out, then velocity; tables.risk.rank), each with velocities, time to
stock-out, ATP, oversold units and each store's published and shown stock; ``level``
filters (comma separated). ``GET /risk/{sku}``: one SKU's, with the orders that were
oversold and its units per minute. Read from the live view of ``inventory.risk``
(streams.topic_view), so as fresh as the owners' last judgement (every
``WOOSYNC_RISK_INTERVAL_SECONDS``); ``caught_up`` is false while a worker that just
started is still reading the topic. 400 for a malformed SKU or level, 404 for a SKU never
judged.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from streams import topics
from streams.openapi import SKU_PATTERN
from streams.runtime import AgentSpec, Runtime
from streams.web import paging, takes
from tables.risk import LEVELS, rank

SKU = re.compile(SKU_PATTERN)


def jsonable(value: Any) -> Any:
    """A SkuRisk body as JSON: decimals as strings (exact), the rest as they are."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def ranked(records: list[dict[str, Any]], levels: set[str] | None = None
           ) -> list[dict[str, Any]]:
    chosen = [r for r in records if levels is None or r["level"] in levels]
    return sorted(chosen, key=rank)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """A SKU's line in the top list (the orders and the minutes stay on its own page)."""
    out: dict[str, Any] = jsonable({k: v for k, v in record.items() if k != "oversold_orders"})
    return out


def register(runtime: Runtime) -> None:
    app = runtime.app
    view = runtime.view(topics.INVENTORY_RISK)

    @app.page("/risk")
    @takes("level", "page", "per_page")
    async def risk(web: Any, request: Any) -> Any:
        try:
            page, per_page = paging(request.query, 50)
        except ValueError:
            return web.json({"error": "page and per_page must be integers"}, status=400)
        levels = None
        if request.query.get("level"):
            levels = set(request.query["level"].split(","))
            if levels - set(LEVELS):
                return web.json({"error": f"unknown level(s) {sorted(levels - set(LEVELS))};"
                                          f" levels are {list(LEVELS)}"}, status=400)
        rows = ranked(view.values(), levels)
        return web.json({"page": page, "per_page": per_page, "total": len(rows),
                         "caught_up": view.caught_up,
                         "items": [summary(r) for r in
                                   rows[(page - 1) * per_page: page * per_page]]})

    @app.page("/risk/{sku}")
    async def one(web: Any, request: Any, sku: str) -> Any:
        if not SKU.match(sku):
            return web.json({"error": f"malformed SKU {sku!r}"}, status=400)
        record = view.get(sku.encode())
        if record is None:
            return web.json({"error": f"no risk judged for SKU {sku!r}",
                             "caught_up": view.caught_up}, status=404)
        return web.json({**jsonable(record), "caught_up": view.caught_up})


AGENT = AgentSpec("risk_web", register)

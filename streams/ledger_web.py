"""``GET /ledger/{day}?store=&format=csv``: the reconciliation ledger of one day (of
one store, or of all) (streams.ledger:
both sides' totals and every difference linked, in flight or unexplained), as JSON or
CSV. Operations endpoint: the admin token is required (streams.web). 400 for a day
that is not YYYY-MM-DD or ``today``, 404 for one that is no calendar day.
"""

from __future__ import annotations

import asyncio
from typing import Any

from streams import ledger
from streams.envelope import utcnow
from streams.runtime import Runtime
from streams.web import operations, takes


def register(runtime: Runtime) -> None:
    guard = operations(runtime.settings)

    @runtime.app.page("/ledger/{day}")
    @guard
    @takes("format", "store")
    async def day_ledger(web: Any, request: Any, day: str) -> Any:
        shape = request.query.get("format", "json")
        try:
            chosen = ledger.parse_day(day)
        except ledger.NoSuchDay as exc:
            return web.json({"error": str(exc)}, status=404)
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        if shape not in ("json", "csv"):
            return web.json({"error": "format is json or csv"}, status=400)
        found = await asyncio.to_thread(ledger.build, runtime.settings, runtime.codec,
                                        chosen, utcnow(), request.query.get("store"))
        if shape == "csv":
            return web.bytes(ledger.to_csv(found).encode(), content_type="text/csv")
        return web.json(found)

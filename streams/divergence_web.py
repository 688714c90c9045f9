"""``GET /divergences?kind=&open=&since=&page=&per_page=&format=csv``: the divergence
windows, read from the compacted ``divergence.windows`` topic (every window in its last
state, whichever worker holds its subject), newest first; ``open=1`` only those not
closed, ``since`` those opened at or after a time; JSON pages or the whole selection as
CSV. Operations endpoint: the admin token is required (streams.web). 400 for a malformed
filter.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

from streams.divergence import windows
from streams.envelope import parse_time
from streams.runtime import Runtime
from streams.web import operations, paging, takes

FILTERS = ("kind", "open", "since", "page", "per_page", "format")
COLUMNS = ("window_id", "kind", "subject", "state", "first_seen_at", "opened_at",
           "closed_at", "store_value", "erp_value", "cause", "action")


def register(runtime: Runtime) -> None:
    guard = operations(runtime.settings)
    cache: dict[str, Any] = {"at": 0.0, "rows": []}

    @runtime.app.page("/divergences")
    @guard
    @takes(*FILTERS)
    async def divergences(web: Any, request: Any) -> Any:
        query = request.query
        try:
            since = parse_time(query["since"]) if "since" in query else None
            page, per_page = paging(query)
        except ValueError:
            return web.json({"error": "since is an ISO time; page and per_page integers"},
                            status=400)
        if query.get("open", "0") not in ("0", "1") or query.get(
                "format", "json") not in ("json", "csv"):
            return web.json({"error": "open is 0 or 1; format json or csv"}, status=400)
        if time.monotonic() - cache["at"] > 1.0:
            cache["rows"] = await asyncio.to_thread(windows, runtime.settings,
                                                    runtime.codec)
            cache["at"] = time.monotonic()
        rows = [r for r in cache["rows"]
                if query.get("kind") in (None, r["kind"])
                and (query.get("open") != "1" or r["state"] == "open")
                and (since is None or r["opened_at"] >= since.isoformat())]
        if query.get("format") == "csv":
            return web.bytes(to_csv(rows).encode(), content_type="text/csv")
        chunk = rows[(page - 1) * per_page: page * per_page]
        return web.json({"total": len(rows), "page": page, "per_page": per_page,
                         "items": chunk})


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()

"""The order pages, table-routed (any worker answers, by proxying to the worker that
owns the order's partition).

``GET /orders/{store}/{id}``: the order's row: the store side (latest snapshot, every
status seen, refunds), the ERP side (sale, shipments with tracking, invoices, credit
notes), every command woosync issued with its outcome, and notes (mismatches,
refusals). ``GET /orders/{store}/{id}/trace``: every event of both systems about the
order, in time order, with its trace id and both clocks (when it happened, when woosync
saw it), and every command with when it was issued. 400 for a malformed store or id,
404 for an order never seen. Both hold customers' data: they need the admin token
(streams.web.operations); the token travels with a request proxied to the owner.
"""

from __future__ import annotations

import re
from typing import Any

from faust.exceptions import SameNode

from streams.openapi import ORDER_NUMBER_PATTERN, STORE_PATTERN
from streams.runtime import AgentSpec, Runtime
from streams.web import operations, settling
from streams.woo import ids
from tables.orders import OrderState
from tables.registry import ORDERS

STORE, NUMBER = re.compile(STORE_PATTERN), re.compile(ORDER_NUMBER_PATTERN)


def register(runtime: Runtime) -> None:
    table = runtime.table(ORDERS)
    app = runtime.app

    async def row(web: Any, request: Any, store: str, woo_id: str
                  ) -> tuple[Any, OrderState | None]:
        if not STORE.match(store) or not NUMBER.match(woo_id):
            return web.json({"error": f"malformed order {store!r}/{woo_id!r}: a store id"
                             " and a numeric order id"}, status=400), None
        key = ids.order_id(store, int(woo_id))
        try:
            return await app.router.route_req(table.name, key, web, request), None
        except SameNode:
            pass
        busy = settling(web, runtime)
        if busy is not None:
            return busy, None
        data = table.get(key.encode())
        if not data:
            return web.json({"error": f"unknown order {key!r}"}, status=404), None
        return None, OrderState.from_json(key, data)

    guard = operations(runtime.settings)

    @app.page("/orders/{store}/{woo_id}")
    @guard
    async def order(web: Any, request: Any, store: str, woo_id: str) -> Any:
        answer, state = await row(web, request, store, woo_id)
        if state is None:
            return answer
        return web.json({k: v for k, v in state.to_json().items() if k != "trace"})

    @app.page("/orders/{store}/{woo_id}/trace")
    @guard
    async def trace(web: Any, request: Any, store: str, woo_id: str) -> Any:
        answer, state = await row(web, request, store, woo_id)
        if state is None:
            return answer
        commands = [{"type": "command:" + c["type"], "command_id": c["command_id"],
                     "issued_at": c["issued_at"], "outcome": c["outcome"],
                     "attempts": c["attempts"], "error": c["error"]}
                    for c in state.commands.values()]
        return web.json({"order_id": state.order_id, "events": list(state.trace),
                         "commands": sorted(commands, key=lambda c: c["issued_at"])})


AGENT = AgentSpec("order_web", register, reads=(ORDERS,))

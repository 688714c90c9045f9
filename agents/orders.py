"""track_orders: order to cash. Reads ``commerce.orders`` (OrderObserved,
RefundObserved), ``erp.documents`` (SalesOrderObserved, ShipmentObserved,
InvoiceObserved, CreditNoteObserved, ReturnShipmentObserved) and ``delivery.results``
(CommandDelivered, CommandFailed of an order's commands), all keyed by order id,
applies tables.orders, and sends the commands it makes due: CreateSalesOrder, CancelSalesOrder and
CreateCreditNote to ``erp.commands``, SetOrderStatus and AddTracking to
``store.commands``, each keyed by the order id. Table ORDERS (key: order id): the
order's row, written once its commands are out.

Divergence windows (streams.divergence): after each change, the order's facts
(tables.order_divergence: sale missing, totals, status behind the ERP's shipment,
refunds without credit notes, refused commands) are judged into windows on
``divergence.windows``; table ORDER_WINDOWS holds the order's suspect and open ones, and
timer ``tick_order_windows`` opens those whose SLA has passed. A command window whose
command was given up on (its target unavailable beyond the sink's wait, not a refusal)
is healed by re-sending the command with the same id (tables.orders.reissue), when it
opens and again while it stays open.

Ledger (tables.ledger): when a change alters the order's ledger line (its figures on
both sides and their differences), the new line goes to ``ledger.orders`` (LedgerLine,
keyed by order id, compacted), which the ledger page and ``woosync ledger`` read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams import divergence, topics
from streams.envelope import Cause, deterministic_id, trace_for, utcnow
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.settings import Settings
from streams.woo import ids
from tables import ledger
from tables.divergence import Window
from tables.order_divergence import KINDS as ORDER_KINDS
from tables.order_divergence import facts
from tables.orders import OrderPolicy, OrderState, apply, reissue
from tables.registry import ORDER_WINDOWS, ORDERS

WANTED = ("OrderObserved", "RefundObserved", "SalesOrderObserved", "ShipmentObserved",
          "InvoiceObserved", "CreditNoteObserved", "ReturnShipmentObserved",
          "CommandDelivered", "CommandFailed")
OUTCOMES = frozenset({"CommandDelivered", "CommandFailed"})
TARGETS = {"erp": topics.ERP_COMMANDS, "store": topics.STORE_COMMANDS}


def register(runtime: Runtime) -> None:
    table, windows = runtime.table(ORDERS), runtime.table(ORDER_WINDOWS)
    source = runtime.app.topic(topics.COMMERCE_ORDERS.name, topics.ERP_DOCUMENTS.name,
                               topics.DELIVERY_RESULTS.name, key_serializer="raw",
                               value_serializer="raw")

    async def heal(window: Window) -> str | None:
        """A command window: re-send the command given up on (same id; the targets
        are idempotent). A refusal is left to a person."""
        if window.kind != "command":
            return None
        order_id, _, intent = window.subject.partition("|")
        state = OrderState.from_json(order_id, table.get(order_id.encode()))
        new, command = reissue(state, intent, utcnow(),
                               order_policy(runtime.settings, state.store))
        if command is None:
            return None
        cause = Cause(deterministic_id("resend", command.fields["command_id"],
                                       new.commands[intent]["resent"]), utcnow(),
                      window.window_id, trace_for(order_id))
        await runtime.emit(TARGETS[command.target], order_id, f"woosync.{command.name}",
                           command.fields, cause, command.fields["command_id"])
        table[order_id.encode()] = new.to_json()
        return f"re-sent {intent} (re-send {new.commands[intent]['resent']})"

    async def handle(inbound: Inbound) -> None:
        if inbound.name in OUTCOMES and not ids.is_order_id(inbound.key):
            return  # a result of no order's command (availability): keyed by command id
        key = inbound.key.encode()
        state = OrderState.from_json(inbound.key, table.get(key))
        store = state.store or inbound.body.get("store", "")
        new, commands = apply(state, inbound.name, inbound.body, utcnow(),
                              order_policy(runtime.settings, store))
        for command in commands:
            await runtime.emit(TARGETS[command.target], new.order_id,
                               f"woosync.{command.name}", command.fields, inbound.cause,
                               command.fields["command_id"])
        if new != state:
            _sale_latency(runtime, state, new)
            table[key] = new.to_json()
            send_statuses = frozenset(runtime.settings.order_send_statuses)
            await divergence.judge(runtime, windows, facts(new, send_statuses), utcnow(),
                                   inbound.cause, heal)
            await publish_line(runtime, state, new, send_statuses, inbound)

    @runtime.app.agent(source, name="track_orders")
    async def track_orders(stream: Any) -> None:
        await runtime.each(stream, "orders", handle, WANTED)

    @runtime.timer(runtime.settings.divergence_tick_seconds, "tick_order_windows")
    async def tick_order_windows() -> None:
        await divergence.tick_all(runtime, windows, "orders", topics.COMMERCE_ORDERS.name,
                                  utcnow(), heal=heal, kinds=ORDER_KINDS)


def _sale_latency(runtime: Runtime, before: OrderState, after: OrderState) -> None:
    """The order's ERP sale seen for the first time: how long after the store's
    payment (orders paid before woosync saw them count from their payment too)."""
    paid = (after.snapshot or {}).get("paid_at")
    if before.sale is None and after.sale is not None and paid:
        runtime.metrics.sync_latency.labels("order_to_sale").observe(
            max(0.0, (utcnow() - datetime.fromisoformat(paid)).total_seconds()))


async def publish_line(runtime: Runtime, before: OrderState, after: OrderState,
                       send_statuses: frozenset[str], inbound: Inbound) -> None:
    tolerance = runtime.settings.divergence_tolerance.get("sale-total")
    line = ledger.line(after, send_statuses, tolerance or ledger.ZERO)
    if line is None or line == ledger.line(before, send_statuses, tolerance or ledger.ZERO):
        return
    await runtime.emit(topics.LEDGER_ORDERS, after.order_id, "woosync.LedgerLine",
                       ledger.to_record(line), inbound.cause, "ledger")


def order_policy(settings: Settings, store_id: str) -> OrderPolicy:
    store = settings.stores.get(store_id)
    return OrderPolicy(frozenset(settings.order_send_statuses),
                       store.ship_from if store else "",
                       dict(store.sku_map) if store else {},
                       settings.return_window_days, settings.not_returnable)


AGENT = AgentSpec("orders", register, reads=(ORDERS, ORDER_WINDOWS))

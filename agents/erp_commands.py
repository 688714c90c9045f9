"""apply_erp_commands: reads ``erp.commands`` (keyed by order id, so the commands of one
order reach the ERP one at a time, in order), applies each through the ERP adapter, and
writes the outcome to ``delivery.results`` (CommandDelivered, or CommandFailed). A
refused or repeatedly failing command also goes to ``dlq`` so it can be replayed after a
fix. While the ERP is unreachable the agent waits (see streams.delivery). No tables.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from streams import topics
from streams.delivery import Deliverer, result_key, result_message
from streams.erp.adapter import CommandRejected, ErpUnavailable
from streams.runtime import AgentSpec, Inbound, Runtime


def register(runtime: Runtime) -> None:
    adapter = runtime.erp
    if adapter is None:
        return
    target = f"erp:{adapter.name}"
    deliverer = Deliverer(target, runtime.settings, runtime.metrics,
                          retryable=(ErpUnavailable,), rejected=(CommandRejected,))

    async def handle(inbound: Inbound) -> None:
        command = inbound.message
        delivery = await deliverer.deliver(partial(adapter.execute, command))
        outcome = delivery.result
        name, fields = result_message(command.body, command.short_name, target, delivery,
                                      outcome.result_ref if outcome else None,
                                      duplicate=bool(outcome and outcome.duplicate))
        await runtime.emit(topics.DELIVERY_RESULTS, result_key(command.body), name, fields,
                           inbound.cause, delivery.attempts)
        if not delivery.ok:
            await runtime.dead_letter(inbound.event, "erp-command", delivery.error or "",
                                      attempts=delivery.attempts)

    @runtime.app.agent(runtime.topics[topics.ERP_COMMANDS], name="apply_erp_commands")
    async def apply_erp_commands(stream: Any) -> None:
        await runtime.each(stream, "erp-command", handle)


AGENT = AgentSpec("erp_commands", register)

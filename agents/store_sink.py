"""push_to_stores: reads ``store.commands`` and applies them to each WooCommerce store
(streams.woo.sink); writes every outcome to ``delivery.results`` (CommandDelivered,
CommandFailed) and a refused or failed command also to ``dlq``.

Commands are taken in batches (streams.runtime.Runtime.each_batch): the first command
after a quiet spell goes out at once; while commands keep coming a batch waits for more
(as long as the last one took, at most ``sink_coalesce_seconds``), so that availability
is coalesced per SKU; while a store is unavailable its circuit breaker holds the agent, so
the backlog waits in Kafka. No tables.
"""

from __future__ import annotations

from typing import Any

from streams import topics
from streams.delivery import result_key, result_message
from streams.envelope import utcnow
from streams.runtime import AgentSpec, Inbound, Runtime
from streams.woo.sink import StoreSink


def register(runtime: Runtime) -> None:
    assert runtime.stores is not None
    sink = StoreSink(runtime.settings, runtime.metrics, runtime.stores)

    async def handle(batch: list[Inbound]) -> None:
        inbound = {id(i.message): i for i in batch}
        for report in await sink.apply([i.message for i in batch]):
            command, delivery = report.command, report.delivery
            name, fields = result_message(
                command.body, command.short_name, f"woo:{command.body.get('store', '?')}",
                delivery, None if delivery.result is None else str(delivery.result),
                duplicate=report.superseded)
            cause = inbound[id(command)].cause
            await runtime.emit(topics.DELIVERY_RESULTS, result_key(command.body), name,
                               fields, cause, delivery.attempts, report.superseded)
            if delivery.error is None:
                emitted = command.body["envelope"]["observed_at"]
                runtime.metrics.sync_latency.labels("store_command").observe(
                    max(0.0, (utcnow() - emitted).total_seconds()))
            else:
                await runtime.dead_letter(inbound[id(command)].event, "store-sink",
                                          delivery.error, attempts=delivery.attempts)

    @runtime.app.agent(runtime.topics[topics.STORE_COMMANDS], name="push_to_stores")
    async def push_to_stores(stream: Any) -> None:
        await runtime.each_batch(stream, "store-sink", handle, runtime.settings.sink_batch_max,
                                 runtime.settings.sink_coalesce_seconds)


AGENT = AgentSpec("store_sink", register)

"""log_canonical_events: reads every canonical topic (commerce.orders,
commerce.products, erp.stock, erp.documents, erp.catalog), counts each message by topic
and type, and logs it with its trace_id. Undecodable input goes to ``dlq``.

It writes no topic and touches no table: it is the operator's tap on what flows, and
the proof, on a fresh install, that the worker reads the canonical contract.
"""

from __future__ import annotations

import logging
from typing import Any

from streams.runtime import AgentSpec, Inbound, Runtime
from streams.topics import CANONICAL

log = logging.getLogger("woosync.trace")


def register(runtime: Runtime) -> None:
    source = runtime.app.topic(*(spec.name for spec in CANONICAL),
                               key_serializer="raw", value_serializer="raw")

    async def handle(inbound: Inbound) -> None:
        env = inbound.body["envelope"]
        log.info("%s key=%s source=%s version=%s trace_id=%s", inbound.name, inbound.key,
                 env["source"], env["source_version"], env["trace_id"])

    @runtime.app.agent(source, name="log_canonical_events")
    async def log_canonical_events(stream: Any) -> None:
        await runtime.each(stream, "trace", handle)


AGENT = AgentSpec("trace", register)

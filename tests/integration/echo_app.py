"""A worker for the codec-through-Faust test: the real composition root with one extra
agent that decodes each order from commerce.orders and writes it, re-encoded, to a
test-only topic. Run as ``python -m tests.integration.echo_app``."""

from __future__ import annotations

from typing import Any

import faust

from streams import topics
from streams.app import create_app, default_agents
from streams.runtime import AgentSpec, Runtime
from streams.settings import load_settings

ECHO_TOPIC = "test.echo"


def register_echo(runtime: Runtime) -> None:
    out = runtime.app.topic(ECHO_TOPIC, key_serializer="raw", value_serializer="raw")

    @runtime.app.agent(runtime.topics[topics.COMMERCE_ORDERS], name="echo")
    async def echo(stream: Any) -> None:
        async for inbound in runtime.decoded(stream, "echo"):
            message = inbound.message
            await out.send(key=inbound.key.encode(),
                           value=runtime.codec.encode(message.name, message.body))


if __name__ == "__main__":
    runtime = create_app(load_settings(), agents=[*default_agents(),
                                                    AgentSpec("echo", register_echo)])
    faust.Worker(runtime.app, loglevel="info").execute_from_commandline()

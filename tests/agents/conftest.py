"""Agent tests: each agent's glue through Faust's ``test_context`` (no broker, tables in
memory), with the runtime's transport replaced by a list of what the agent emitted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from streams.app import create_app
from streams.codec import Message
from streams.runtime import AgentSpec, Runtime
from streams.settings import Settings
from streams.topics import TopicSpec


@dataclass
class Harness:
    runtime: Runtime
    sent: list[tuple[str, str, Message]] = field(default_factory=list)
    # Changelog records of rows written a batch at a time: (topic, key, value, partition).
    changelog: list[tuple[str, bytes, bytes | None, int]] = field(default_factory=list)

    def encode(self, name: str, body: dict[str, Any]) -> bytes:
        return self.runtime.codec.encode(name, body)

    def out(self, topic: str, short_name: str | None = None) -> list[tuple[str, Message]]:
        return [(key, m) for t, key, m in self.sent
                if t == topic and (short_name is None or m.short_name == short_name)]

    def dead_letters(self) -> list[Message]:
        return [m for _, m in self.out("dlq")]

    async def until(self, done: Any, seconds: float = 5.0) -> None:
        """Wait, polling, until ``done()`` (a batching agent handles its batch after the
        put returns); fail at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not done():
            assert loop.time() < deadline, "the agent did not get there in time"
            await asyncio.sleep(0.01)

    def agent(self, name: str) -> Any:
        return self.runtime.app.agents[name]


async def harness_for(agents: Sequence[AgentSpec], tmp_path: Path,
                      **settings: Any) -> Harness:
    config = Settings(**{"app_id": f"agent-test-{tmp_path.name}", "table_store": "memory://",
                         "data_dir": tmp_path, **settings})
    runtime = create_app(config, agents=agents)
    harness = Harness(runtime)

    async def capture(spec: TopicSpec, key: bytes, value: bytes,
                      partition: int | None) -> Any:
        harness.sent.append((spec.name, key.decode(), runtime.codec.decode(value)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def record(topic: str, key: bytes, value: bytes | None, partition: int) -> Any:
        harness.changelog.append((topic, key, value, partition))
        acked = asyncio.get_running_loop().create_future()
        acked.set_result(SimpleNamespace(offset=len(harness.changelog) - 1))
        return acked

    runtime.transport = capture
    runtime.changelog = record
    runtime.app.finalize()
    runtime.app.flow_control.resume()
    return harness


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[Any]:
    async def make(agents: Sequence[AgentSpec], **settings: Any) -> Harness:
        return await harness_for(agents, tmp_path, **settings)
    yield make

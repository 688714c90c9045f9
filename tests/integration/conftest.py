"""Fixtures for integration tests: one real Kafka broker and one real Tryton per test
session (Kafka from the jars the project resolves from Maven Central, Tryton on a copy of
the seeded template; tests use unique order references, so they share it), settings
unique to each test (its own app id, web port and data dir) with the registry's topics
created, and an admin client for tests to act in the ERP as a person would."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from devstack import seed_data
from devstack.kafka_broker import LocalKafka, free_port
from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer
from streams.admin import ensure_topics
from streams.erp.tryton_rpc import TrytonClient
from streams.settings import Settings, load_settings

_app_ids = itertools.count(1)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(tmp_path_factory.mktemp("kafka")).start()
    yield broker
    broker.stop()


@pytest.fixture
def settings(kafka: LocalKafka, tmp_path: Path) -> Settings:
    settings = load_settings(
        broker=f"kafka://{kafka.bootstrap}", app_id=f"woosync-test-{next(_app_ids)}",
        web_port=free_port(), data_dir=tmp_path / "worker", partitions=4,
    )
    ensure_topics(settings)
    return settings


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a worker process use these settings."""
    return {
        "WOOSYNC_BROKER": settings.broker,
        "WOOSYNC_APP_ID": settings.app_id,
        "WOOSYNC_WEB_PORT": str(settings.web_port),
        "WOOSYNC_DATA_DIR": str(settings.data_dir),
        "WOOSYNC_PARTITIONS": str(settings.partitions),
    }


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    server = TrytonServer(tmp_path_factory.mktemp("tryton")).start()
    yield server
    server.stop()


@pytest.fixture
async def erp_admin(tryton: TrytonServer) -> AsyncIterator[TrytonClient]:
    client = TrytonClient(tryton.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    yield client
    await client.close()

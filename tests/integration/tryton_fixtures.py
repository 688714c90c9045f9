"""Tryton for integration tests: a session-wide server on a copy of the seeded template
(tests use unique order references, so they share it), and an admin client for the test
itself to change things in the ERP the way a person would (stock, shipments, prices)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.erp import seed_data
from streams.erp.tryton_rpc import TrytonClient
from streams.erp.tryton_server import ADMIN_PASSWORD, TrytonServer


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    server = TrytonServer(tmp_path_factory.mktemp("tryton")).start()
    yield server
    server.stop()


def integration_client(server: TrytonServer) -> TrytonClient:
    return TrytonClient(server.url, seed_data.DATABASE, seed_data.INTEGRATION_LOGIN,
                        SecretStr(seed_data.INTEGRATION_PASSWORD))


@pytest.fixture
async def erp_admin(tryton: TrytonServer) -> AsyncIterator[TrytonClient]:
    client = TrytonClient(tryton.url, seed_data.DATABASE, "admin", SecretStr(ADMIN_PASSWORD))
    yield client
    await client.close()


def fresh_server(directory: Path) -> TrytonServer:
    return TrytonServer(directory)

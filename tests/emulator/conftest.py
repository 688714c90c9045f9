"""The emulator in a thread, a webhook receiver beside it that records what arrives,
and a REST client for the emulated store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from pydantic import SecretStr

from streams.settings import StoreSettings
from streams.woo.client import WooClient
from woo_emulator.runner import EmulatorThread


@dataclass
class Receiver:
    """Records webhook requests; answers with ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver(emulator: EmulatorThread) -> Receiver:
    receiver = Receiver()

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        receiver.port = runner.addresses[0][1]

    emulator.call(start())
    return receiver


@pytest.fixture
async def client(emulator: EmulatorThread) -> AsyncIterator[WooClient]:
    woo = WooClient("demo", StoreSettings(rest_url=emulator.api,
                                          consumer_key=SecretStr("ck_demo"),
                                          consumer_secret=SecretStr("cs_demo")))
    yield woo
    await woo.close()

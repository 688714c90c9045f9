"""The Tryton adapter: commands and change feed over one JSON-RPC client, and the pure
normalizer of its raw records. Built from settings; connects on first use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from streams.codec import Message
from streams.erp.adapter import CanonicalOutput, ChangeBatch, ErpUnavailable, Outcome
from streams.erp.tryton_commands import TrytonCommands
from streams.erp.tryton_feed import TrytonFeed
from streams.erp.tryton_normalize import normalize
from streams.erp.tryton_rpc import TrytonClient, TrytonUnavailable
from streams.settings import Settings


class TrytonAdapter:
    name = "tryton"

    def __init__(self, settings: Settings) -> None:
        self.client = TrytonClient(settings.erp_url, settings.erp_database, settings.erp_user,
                                   settings.erp_password)
        self.commands = TrytonCommands(self.client)
        self.feed = TrytonFeed(self.client, settings.erp_warehouses,
                               timedelta(seconds=settings.erp_overlap_seconds))

    async def execute(self, command: Message) -> Outcome:
        return await self.commands.execute(command)

    async def read_changes(self, cursors: Mapping[str, str]) -> ChangeBatch:
        try:
            return await self.feed.read_changes(cursors)
        except TrytonUnavailable as exc:
            raise ErpUnavailable(str(exc)) from exc

    def acknowledge(self, batch: ChangeBatch) -> None:
        self.feed.acknowledge(batch)

    @staticmethod
    def normalize(model: str, record_id: str, body: bytes, read_at: datetime
                  ) -> list[CanonicalOutput]:
        return normalize(model, record_id, body, read_at)

    async def close(self) -> None:
        await self.client.close()

"""The ERP adapter interface: what agents need from any ERP, in two halves.

Commands: ``execute`` takes one canonical command (CreateSalesOrder, CancelSalesOrder,
CreateCreditNote) and makes it true in the ERP, idempotently: a command whose document
already exists succeeds with ``duplicate=True`` and creates nothing. It raises
``ErpUnavailable`` when trying again later may work, ``CommandRejected`` when it will
not (a business refusal, reported as CommandFailed, never retried).

Change feed: ``read_changes`` returns what changed since the given cursors, as raw
records (kept as they were read, for ``erp.raw``) and the new cursors, stamped with the
ERP's clock; the caller ``acknowledge``s a batch once it has published it, and until then
the adapter treats its records as unseen. ``normalize`` is the pure function that turns
one raw record into canonical messages. A second ERP implements these and plugs in
without touching any agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from streams.codec import Message
from streams.errors import WoosyncError
from streams.topics import TopicSpec


class ErpUnavailable(WoosyncError):
    """The ERP cannot be reached or cannot serve now; the command may be retried."""


class CommandRejected(WoosyncError):
    """The ERP will not do this command as it is (unknown SKU, order already shipped)."""


@dataclass(frozen=True)
class Outcome:
    result_ref: str | None
    duplicate: bool = False


@dataclass(frozen=True)
class RawRecord:
    """One record as the ERP returned it: ``body`` is the adapter's own JSON."""

    model: str
    record_id: str
    body: bytes
    read_at: datetime


@dataclass(frozen=True)
class ChangeBatch:
    records: list[RawRecord]
    cursors: dict[str, str]
    polled_at: datetime
    stats: dict[str, int] = field(default_factory=dict)
    # (model, id, version) of every record read, for ``acknowledge`` once published.
    seen: list[tuple[str, int, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CanonicalOutput:
    """A canonical message to publish: registered topic, key, schema name, body."""

    topic: TopicSpec
    key: str
    name: str
    body: dict[str, Any]


class ErpAdapter(Protocol):
    name: str

    @staticmethod
    def normalize(model: str, record_id: str, body: bytes, read_at: datetime
                  ) -> list[CanonicalOutput]: ...

    async def execute(self, command: Message) -> Outcome: ...

    async def read_changes(self, cursors: Mapping[str, str]) -> ChangeBatch: ...

    def acknowledge(self, batch: ChangeBatch) -> None: ...

    async def close(self) -> None: ...

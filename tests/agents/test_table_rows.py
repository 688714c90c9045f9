"""Rows written a batch at a time (streams.table_rows): each row is in the table's store and
has its changelog record on the event's partition, with the bytes a restore writes back;
the store remembers the changelog offset only once the broker has the last record."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from agents import availability
from devstack import samples
from streams import table_rows
from streams.runtime import Inbound, writing_as
from tables.registry import HOLD_LINES, INVENTORY, hold_row
from tests.agents.conftest import Harness
from tests.agents.test_retention import _hold

NOW = datetime.now(UTC).replace(microsecond=0)


async def test_a_batch_s_rows_reach_the_store_and_the_changelog_on_the_sku_s_partition(
        make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], partitions=4,
                                    inventory_batch_seconds=0.01)
    holds, table = h.runtime.table(HOLD_LINES), h.runtime.table(INVENTORY)
    async with h.agent("compute_availability").test_context() as agent:
        await agent.put(h.encode("woosync.StockLevelObserved",
                                 samples.stock_level_observed("MUG", NOW, Decimal(10))),
                        key=b"MUG", partition=3)
        for order in ("woo:demo:1", "woo:demo:2"):
            await agent.put(h.encode("woosync.HoldSet", _hold("HoldSet", order, 2, NOW)),
                            key=b"MUG", partition=3)
        await h.until(lambda: holds.get(hold_row("MUG", "woo:demo:2|1")))

    rows = {(topic.rsplit("-", 2)[-2], key): (value, partition)
            for topic, key, value, partition in h.changelog}
    assert {partition for _, partition in rows.values()} == {3}
    expected_holds = {hold_row("MUG", f"woo:demo:{n}|1") for n in (1, 2)}
    assert {key for name, key in rows if name == "hold_lines"} == expected_holds
    for key in expected_holds:
        # What a restore puts back is the record's bytes: they decode to the stored row.
        assert json.loads(rows["hold_lines", key][0] or b"null") == holds.get(key)
    assert json.loads(rows["inventory", b"MUG"][0] or b"null") == table.get(b"MUG")
    assert Decimal(table.get(b"MUG")["open"]["demo"]) == 4


async def test_a_removed_row_leaves_the_store_and_sends_a_tombstone(make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], partitions=4)
    holds = h.runtime.table(HOLD_LINES)
    event = _Event(partition=2)
    writing_as(Inbound("MUG", None, event))  # type: ignore[arg-type]
    await h.runtime.write_rows(holds, {b"MUG|a|1": ["1", "demo", "v", None]})
    assert holds.get(b"MUG|a|1") == ["1", "demo", "v", None]
    await h.runtime.write_rows(holds, {b"MUG|a|1": None})
    assert b"MUG|a|1" not in holds
    assert [(value, partition) for _, _, value, partition in h.changelog] == [
        (b'["1","demo","v",null]', 2), (None, 2)]


async def test_rows_written_outside_any_event_are_refused(make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT])  # no event taken in this task
    with pytest.raises(RuntimeError, match="outside any event"):
        await h.runtime.write_rows(h.runtime.table(HOLD_LINES), {b"k": [1]})
    assert h.changelog == []


async def test_the_offset_is_remembered_once_the_last_record_is_acknowledged() -> None:
    loop = asyncio.get_running_loop()
    acks = [loop.create_future() for _ in range(3)]
    remembered: list[tuple[Any, int]] = []
    table = SimpleNamespace(name="t", data=_Store(remembered), key_serializer="raw",
                            value_serializer="raw", changelog_topic=_Changelog())
    sent = iter(acks)

    async def send(topic: str, key: bytes, value: bytes | None, partition: int) -> Any:
        return next(sent)

    event = _Event(partition=5)  # kept: Faust holds the current event weakly
    writing_as(Inbound("", None, event))  # type: ignore[arg-type]
    await table_rows.write(table, {b"a": b"1", b"b": b"2", b"c": b"3"}, send)
    acks[0].set_result(SimpleNamespace(offset=10))
    acks[1].set_result(SimpleNamespace(offset=11))
    await asyncio.sleep(0)
    assert remembered == []  # the last record is not acknowledged yet
    acks[2].set_result(SimpleNamespace(offset=12))
    await asyncio.sleep(0)
    assert remembered == [(("t-changelog", 5), 12)]

    failed = loop.create_future()
    sent = iter([failed])
    await table_rows.write(table, {b"d": b"4"}, send)
    failed.set_exception(RuntimeError("broker gone"))
    await asyncio.sleep(0)
    assert remembered == [(("t-changelog", 5), 12)]  # a failed send moves nothing


class _Event:
    """A Faust event's shape as the row writer reads it (weakly referenced, as Faust's
    current event is)."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


class _Store(dict[Any, Any]):
    def __init__(self, remembered: list[tuple[Any, int]]) -> None:
        super().__init__()
        self.remembered = remembered

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.remembered.append(((tp.topic, tp.partition), offset))


class _Changelog:
    def get_topic_name(self) -> str:
        return "t-changelog"

    def prepare_key(self, key: bytes, serializer: str) -> tuple[bytes, None]:
        return key, None

    def prepare_value(self, value: bytes, serializer: str) -> tuple[bytes, None]:
        return value, None


async def test_a_row_is_encoded_as_faust_encodes_it(make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT])
    holds, table = h.runtime.table(HOLD_LINES), h.runtime.table(INVENTORY)
    rows = [(table, {"sku": "MUG", "open": {"demo": "4"}, "shown": {}, "note": "Ünïcode ✓",
                     "read_at": None, "levels": [1, 2.5, True, None]}),
            (holds, ["1", "demo", "v", None])]
    for spec, row in rows:
        faust_bytes, _ = spec.changelog_topic.prepare_value(row, spec.value_serializer)
        assert table_rows.encode_value(spec, row) == faust_bytes


async def test_a_rocksdb_store_keeps_the_changelog_s_bytes(make_harness: Any) -> None:
    h: Harness = await make_harness([availability.AGENT], partitions=4,
                                    table_store="rocksdb://")
    holds = h.runtime.table(HOLD_LINES)
    event = _Event(partition=1)
    writing_as(Inbound("MUG", None, event))  # type: ignore[arg-type]
    await h.runtime.write_rows(holds, {b"MUG|a|1": ["1", "demo", "v", None],
                                       b"MUG|b|1": ["2", "demo", "w", None]})
    await h.runtime.write_rows(holds, {b"MUG|b|1": None})
    assert holds.get(b"MUG|a|1") == ["1", "demo", "v", None]
    assert b"MUG|b|1" not in holds
    written = {key: value for _, key, value, _ in h.changelog}
    assert holds.data._get(b"MUG|a|1") == written[b"MUG|a|1"]
    # One lookup reads what the table reads, and nothing for a removed row.
    assert table_rows.read(holds, b"MUG|a|1") == ["1", "demo", "v", None]
    assert table_rows.read(holds, b"MUG|b|1") is None

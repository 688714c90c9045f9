"""The corrections to Faust (streams.faust_fixes): a standby partition whose offset Faust
never resolved is read from the changelog's start instead of crashing the worker
(resolved offsets are left as they are); the worker consumer's fetch wait; and the
producer buffer, which no longer stops the worker for a batch's worth of table rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from faust.tables.recovery import Recovery

from streams import faust_fixes


async def test_unresolved_offsets_are_read_from_the_start() -> None:
    sought: dict[str, int] = {}

    class Consumer:
        async def seek_wait(self, offsets: dict[str, int]) -> None:
            sought.update(offsets)

    faust_fixes.apply()
    offsets: Counter[Any] = Counter({"kept": 41, "unset": -1, "negative": -7})
    offsets["none"] = None  # type: ignore[assignment]
    seek: Any = Recovery._seek_offsets  # the patched method, called on stand-ins
    await seek(object(), Consumer(), {"kept", "unset", "negative", "none"}, offsets,
               "standby")
    # Faust itself turns -1 into 0 (the changelog's first offset) before seeking.
    assert sought == {"kept": 41, "unset": 0, "negative": 0, "none": 0}


def test_the_worker_consumer_gets_the_configured_fetch_wait(monkeypatch: Any) -> None:
    from types import SimpleNamespace

    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    built = SimpleNamespace(_fetch_max_wait_ms=1500)  # what Faust builds it with
    monkeypatch.setattr(faust_fixes, "_create_worker_consumer", lambda self, transport: built)
    faust_fixes.apply(fetch_wait_seconds=0.03)
    create: Any = AIOKafkaConsumerThread._create_worker_consumer
    assert create(object(), None) is built
    assert built._fetch_max_wait_ms == 30


async def test_a_batch_of_table_rows_does_not_stop_the_worker() -> None:
    from types import SimpleNamespace

    from faust.transport.producer import ProducerBuffer

    faust_fixes.apply(batch_max=6000)
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(  # type: ignore[assignment]
        conf=SimpleNamespace(producer_threaded=False))
    for n in range(12_000):  # the rows of the largest batch, not yet handed on
        buffer.pending.put_nowait(n)
    # Above the limit, Faust flushes before it hands the agents more records; a buffer
    # that is not running cannot flush and says so. Faust's own limit is 100 records.
    await buffer.wait_until_ebb()
    buffer.pending.put_nowait(-1)
    with pytest.raises(RuntimeError, match="Cannot flush"):
        await buffer.wait_until_ebb()

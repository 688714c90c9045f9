"""The correction to Faust's recovery (streams.faust_fixes): a standby partition whose
offset Faust never resolved is read from the changelog's start instead of crashing the
worker; resolved offsets are left as they are."""

from __future__ import annotations

from collections import Counter
from typing import Any

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

"""The framework floors for ``woosync bench``: a Faust worker with one trivial agent,
which records in a file when it has seen the expected number of events. BENCH_MODE says
what the agent does with each event:

- ``iterate``: nothing (Faust's own per-event cost: fetch, stream, acknowledgement);
- ``send``: sends it on to BENCH_SINK through Faust's topic (iterate plus the cost of a
  Faust send);
- ``produce``: sends it on through the app's producer directly, as woosync's runtime
  does (iterate plus the producer's own cost);
- ``table``: counts it per key in a table (RocksDB store, as woosync's tables: iterate
  plus a table read and write and its changelog record).

Run as ``python -m benchmarks.trivial_app`` with BENCH_TOPIC (one topic, or several
separated by commas), BENCH_EXPECTED, BENCH_OUT (and BENCH_MODE, BENCH_SINK) in the
environment. With BENCH_AS_WOOSYNC set, the app reads and sends as woosync's workers do
(Faust corrected by streams.faust_fixes with the fetch wait of the settings, from the
end of the topics): the floor of woosync's latency, as
``produce`` forwards each event the moment Faust hands it over."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import faust

from streams import faust_fixes
from streams.settings import load_settings


def build() -> faust.App:
    settings = load_settings()
    as_woosync = bool(os.environ.get("BENCH_AS_WOOSYNC"))
    if as_woosync:
        faust_fixes.apply(settings.consumer_fetch_wait_seconds, settings.inventory_batch_max)
    app = faust.App(f"{settings.app_id}-trivial", broker=settings.broker,
                    store=settings.table_store, datadir=str(settings.data_dir),
                    web_port=settings.web_port, web_host="127.0.0.1",
                    topic_partitions=settings.partitions, table_standby_replicas=0,
                    key_serializer="raw", value_serializer="raw",
                    consumer_auto_offset_reset="latest" if as_woosync else "earliest",
                    autodiscover=False,
                    # The same producer tuning as woosync's workers, for a fair floor.
                    producer_linger=settings.producer_linger_seconds)
    topic = app.topic(*os.environ["BENCH_TOPIC"].split(","), key_serializer="raw",
                      value_serializer="raw")
    mode = os.environ.get("BENCH_MODE", "table")
    counts = app.Table("bench_counts", default=int, partitions=settings.partitions)
    sink = app.topic(os.environ.get("BENCH_SINK", "bench.sink"), key_serializer="raw",
                     value_serializer="raw")
    expected = int(os.environ["BENCH_EXPECTED"])
    state: dict[str, Any] = {"seen": 0, "first": None}

    @app.agent(topic)
    async def count(stream: Any) -> None:
        async for event in stream.events():
            if state["first"] is None:
                state["first"] = time.time()
            if mode == "table":
                counts[event.key] += 1
            elif mode == "send":
                await sink.send(key=event.key, value=event.value)
            elif mode == "produce":
                await app.producer.send(sink.get_topic_name(), event.key, event.value,
                                        None, None, None)
            state["seen"] += 1
            if state["seen"] == expected:
                result = {"first": state["first"], "last": time.time(), "seen": state["seen"]}
                await asyncio.to_thread(Path(os.environ["BENCH_OUT"]).write_text,
                                        json.dumps(result))

    return app


if __name__ == "__main__":
    faust.Worker(build(), loglevel="info").execute_from_commandline()

"""``woosync bench-recovery``: how long a worker takes to serve ``/reservations`` again,
and how much memory it needs, with a large inventory in its tables.

The state is built the way a worker leaves it, not by replaying a day of events: the
``inventory`` and ``hold_lines`` changelogs are written directly (each SKU's row with its
sums and what was published, its holds' rows, on the SKU's partition, in the JSON the
tables keep). Then, against one broker:

1. **cold**: a worker with an empty data directory (a new machine, or a lost disk)
   restores every row from the changelogs;
2. **warm**: the same worker restarted on its data directory (a deploy, a crash): only
   what the changelogs gained since it stopped is read;
3. **failover**, without and with standby replicas (``WOOSYNC_STANDBY_REPLICAS``): two
   workers share the partitions, one is stopped, and the time is taken until the other
   serves the SKUs the stopped one owned. Without a standby the survivor restores them
   from the changelogs; with one it already holds a copy.

Each figure is from the process start (or the stop) until ``/reservations/<sku>`` answers
200 for a SKU of every partition; RSS is the worker's peak (VmHWM) and its size then
(VmRSS). Results are printed and written to bench-results/recovery.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.producer import KafkaProducer

from benchmarks.stream_bench import _availability_worker
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import ManagedProcess, worker_process
from streams.admin import ensure_topics
from streams.inventory_config import partition_of
from streams.settings import Settings, load_settings
from tables.inventory import Hold, Published, SkuState
from tables.registry import HOLD_LINES, INVENTORY, feed_key, hold_row

STORE = "bench"


def _sku(n: int) -> str:
    return f"SKU-{n:06d}"


def build_state(settings: Settings, app_id: str, skus: int, holds: int) -> dict[str, Any]:
    """Write ``skus`` SKU rows and ``holds`` hold rows (spread evenly over the SKUs) to
    the changelogs of app ``app_id``. Returns counts and seconds."""
    start = time.monotonic()
    now = datetime.now(UTC).isoformat()
    names = {spec.name: f"{app_id}-{spec.name}-changelog" for spec in (INVENTORY, HOLD_LINES)}
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    admin.create_topics([NewTopic(name, settings.partitions, 1,
                                  topic_configs={"cleanup.policy": "compact"})
                         for name in names.values()])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=50,
                             batch_size=512 * 1024, acks=1)
    per_sku, extra = divmod(holds, skus)
    written = 0
    for n in range(skus):
        sku = _sku(n)
        partition = partition_of(sku.encode(), settings.partitions)
        count = per_sku + (1 if n < extra else 0)
        for line in range(count):
            hold = Hold(Decimal(1 + line % 3), STORE, now)
            producer.send(names[HOLD_LINES.name], key=hold_row(sku, f"woo:{STORE}:{n}-{line}|1"),
                          value=json.dumps(hold.to_json()).encode(), partition=partition)
        held = sum(1 + line % 3 for line in range(count))
        state = SkuState(sku, {"WH": (Decimal(500), Decimal(500))}, now,
                         {STORE: Decimal(held)},
                         published={STORE: Published(max(0, 500 - held), "instock", False,
                                                     now)})
        producer.send(names[INVENTORY.name], key=sku.encode(),
                      value=json.dumps(state.to_json()).encode(), partition=partition)
        written += count + 1
    for partition in range(settings.partitions):
        producer.send(names[INVENTORY.name], key=feed_key(partition),
                      value=json.dumps({"polled_at": now}).encode(), partition=partition)
    producer.flush()
    producer.close()
    return {"skus": skus, "holds": holds, "rows": written,
            "build_s": round(time.monotonic() - start, 1)}


def _probe_skus(settings: Settings, skus: int) -> dict[int, str]:
    """A SKU of every partition (the first one found)."""
    found: dict[int, str] = {}
    for n in range(skus):
        found.setdefault(partition_of(_sku(n).encode(), settings.partitions), _sku(n))
        if len(found) == settings.partitions:
            break
    return found


def _serves(port: int, sku: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/reservations/{sku}",
                                    timeout=30) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _until_served(port: int, skus: list[str], since: float, worker: ManagedProcess,
                  limit: float = 900.0) -> float:
    """Seconds from ``since`` until every SKU in ``skus`` is served."""
    waiting = list(skus)
    while waiting and time.monotonic() - since < limit:
        if not worker.running:
            raise RuntimeError(f"the worker exited:\n{worker.tail()}")
        if _serves(port, waiting[0]):
            waiting.pop(0)
        else:
            time.sleep(0.2)
    if waiting:
        raise TimeoutError(f"{waiting[0]} not served after {limit:.0f} s")
    return round(time.monotonic() - since, 1)


def _memory(process: ManagedProcess) -> dict[str, float]:
    assert process.process is not None
    found = {}
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[{"VmHWM": "peak_rss_mb", "VmRSS": "rss_mb"}[name]] = round(
                int(value.split()[0]) / 1024, 1)
    return found


def _worker(settings: Settings, workdir: Path, name: str, app_id: str, data: Path,
            port: int, standby: int) -> ManagedProcess:
    env = {**_availability_worker(settings, data, port), "WOOSYNC_APP_ID": app_id,
           "WOOSYNC_AGENTS": '["availability", "inventory_web"]',
           "WOOSYNC_STANDBY_REPLICAS": str(standby),
           "WOOSYNC_CONSUMER_OFFSET_RESET": "latest"}
    return worker_process(workdir / f"{name}.log", env)


def restart(settings: Settings, workdir: Path, app_id: str, probes: list[str]
            ) -> dict[str, Any]:
    """Cold, then warm: one worker, all partitions."""
    data, port = workdir / "solo", free_port()
    out: dict[str, Any] = {}
    for kind in ("cold", "warm"):
        worker = _worker(settings, workdir, f"solo-{kind}", app_id, data, port, 0)
        began = time.monotonic()
        worker.start("", timeout=60)
        try:
            out[kind] = {"serves_after_s": _until_served(port, probes, began, worker),
                         **_memory(worker)}
        finally:
            worker.stop()
    return out


def failover(settings: Settings, workdir: Path, app_id: str, probes: list[str],
             standby: int) -> dict[str, Any]:
    """Two workers in one group; the first is stopped; seconds until the second serves
    every partition (it owned about half of them before)."""
    group = f"{app_id}-fo{standby}"
    ports = [free_port(), free_port()]
    workers = [_worker(settings, workdir, f"fo{standby}-{n}", group, workdir / f"fo{standby}-{n}",
                       ports[n], standby) for n in range(2)]
    for worker in workers:
        worker.start("", timeout=60)
    try:
        began = time.monotonic()
        _until_served(ports[1], probes, began, workers[1])  # both up, state restored
        # A standby reads the other worker's changelogs after its own: give it as long
        # again as the actives took, so that it has caught up when the other one stops.
        time.sleep(max(10.0, time.monotonic() - began) if standby else 2)
        before = _memory(workers[1])
        stopped = time.monotonic()
        workers[0].stop()
        served = _until_served(ports[1], probes, stopped, workers[1])
        return {"standby_replicas": standby, "serves_after_s": served,
                "survivor_before": before, **_memory(workers[1])}
    finally:
        for worker in workers:
            worker.stop()


def run(skus: int = 100_000, holds: int = 1_000_000,
        out: Path = Path("bench-results/recovery.json")) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-recovery-"))
    with LocalKafka(workdir / "kafka") as kafka:
        settings = load_settings(broker=f"kafka://{kafka.bootstrap}", partitions=8)
        ensure_topics(settings)
        app_id = f"recovery{uuid.uuid4().hex[:6]}"
        built = {}
        for group in (app_id, f"{app_id}-fo0", f"{app_id}-fo1"):
            built = build_state(settings, group, skus, holds)
        probes = list(_probe_skus(settings, skus).values())
        result: dict[str, Any] = {
            "run_id": uuid.uuid4().hex[:8], "at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count()}, "state": built,
            "restart": restart(settings, workdir, app_id, probes),
            "failover": [failover(settings, workdir, app_id, probes, n) for n in (0, 1)]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result

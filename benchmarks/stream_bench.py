"""``woosync bench``: the stream path measured through a real broker, side by side in
one run (the machine is shared and noisy: compare the ratios of one run).

1. raw consumer: kafka-python reading the whole workload topic (the ceiling);
2. Faust floors (benchmarks.trivial_app): an agent that only iterates, one that only
   sends each event on (through Faust's topic, and through the producer directly as
   woosync does), and a trivial table agent (one table increment per event);
3. woosync: the real worker's compute_availability on ``inventory.holds`` +
   ``erp.stock`` (hold rules, ATP, availability, SetAvailability commands);
4. latency at paced rates: event produced -> SetAvailability emitted, p50/p95/p99 (the
   command's occurred_at is the oldest event of the batch it reflects); each paced run
   has a worker of its own that starts at the end of the topics; and the floor under it
   at the same rates: a trivial Faust agent that reads and sends as woosync's worker
   does forwards each event (event produced -> forwarded);
5. scale-out: the throughput and the paced latencies again with 2..``workers`` workers
   in one group, sharing the partitions (on one machine: they share its cores with the
   broker and the producer, which the capacity model in docs/capacity.md accounts for).

Results are printed and written to bench-results/stream.json. No Tryton: the ERP's
stock levels and heartbeats are produced like the feed would.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer import KafkaConsumer

from devstack import seed_data
from devstack.kafka_broker import LocalKafka, free_port
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.admin import ensure_topics
from streams.codec import Codec
from streams.envelope import deterministic_id, envelope
from streams.inventory_config import partition_of
from streams.settings import Settings, load_settings

SKUS = [f"HOT-{n:02d}" for n in range(1, 25)] + ["MUG", "CAP", "TSHIRT-S", "TSHIRT-M",
                                                   "TSHIRT-L"]
# The flash sale: this share of the holds on the first HOT SKUs, the rest on any SKU.
HOT, HOT_SHARE = SKUS[:8], 0.7


def _env(ts: datetime, key: str, n: int) -> dict[str, Any]:
    return envelope(event_id=deterministic_id("bench", key, n), occurred_at=ts, observed_at=ts,
                    source="bench", source_version=str(n), trace_id=key)


def _stock(sku: str, n: int, ts: datetime) -> dict[str, Any]:
    return {"envelope": _env(ts, sku, n), "sku": sku, "read_at": ts,
            "warehouses": [{"warehouse": "WH", "on_hand": Decimal(500),
                            "forecast": Decimal(500 - n % 50)},
                           {"warehouse": "WH2", "on_hand": Decimal(20),
                            "forecast": Decimal(20)}]}


def _hold(sku: str, n: int, ts: datetime, rng: random.Random) -> dict[str, Any]:
    return {"envelope": _env(ts, sku, n), "sku": sku, "order_id": f"woo:bench:{n}",
            "line_id": "1", "store": "bench", "quantity": Decimal(rng.randint(1, 3)),
            "order_version": ts}


def produce_workload(settings: Settings, count: int, rate: float | None = None) -> float:
    """Holds for a flash sale over the SKUs, a stock read every 50 events and a heartbeat
    on every partition every 1000; at ``rate`` events/s if given. Returns seconds."""
    rng = random.Random(3)
    start = time.monotonic()
    with CanonicalProducer(settings) as producer:
        for n in range(count):
            now = datetime.now(UTC)
            sku = rng.choice(HOT) if rng.random() < HOT_SHARE else rng.choice(SKUS)
            if n % 1000 == 0:
                for p in range(settings.partitions):
                    producer.send(t.ERP_STOCK, "erp:bench:heartbeat", "woosync.ErpFeedPolled", {
                        "envelope": _env(now, "hb", n * 100 + p), "feed": "erp:bench",
                        "polled_at": now, "partition": p}, partition=p)
            if n % 50 == 0:
                producer.send(t.ERP_STOCK, sku, "woosync.StockLevelObserved", _stock(sku, n, now))
            else:
                producer.send(t.INVENTORY_HOLDS, sku, "woosync.HoldSet", _hold(sku, n, now, rng))
            if rate:
                ahead = start + (n + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    return time.monotonic() - start


def raw_consumer_rate(settings: Settings, topic: str, count: int) -> float:
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers,
                             group_id=None, auto_offset_reset="earliest",
                             fetch_max_bytes=64 * 1024 * 1024)
    seen = 0
    start = None
    while seen < count:
        for records in consumer.poll(timeout_ms=1000, max_records=10000).values():
            start = start or time.monotonic()
            seen += len(records)
    assert start is not None
    elapsed = time.monotonic() - start
    consumer.close()
    return seen / elapsed


def _metric(port: int, name: str, labels: str) -> float:
    """The sum of a counter over every series whose labels contain ``labels``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return sum(float(line.rsplit(" ", 1)[1])
                   for line in response.read().decode().splitlines()
                   if line.startswith(f"{name}{{") and labels in line)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (every thread of it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(process: ManagedProcess) -> float:
    assert process.process is not None
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def trivial_rate(settings: Settings, workdir: Path, topic: str, count: int,
                 mode: str = "table") -> dict[str, float]:
    """A trivial Faust agent's rate (benchmarks.trivial_app: iterate, send or table)."""
    out = workdir / f"trivial-{mode}.json"
    env = {"WOOSYNC_BROKER": settings.broker, "WOOSYNC_WEB_PORT": str(free_port()),
           "WOOSYNC_DATA_DIR": str(workdir / f"trivial-{mode}"), "WOOSYNC_PARTITIONS":
           str(settings.partitions), "BENCH_TOPIC": topic, "BENCH_EXPECTED": str(count),
           "BENCH_OUT": str(out), "WOOSYNC_APP_ID": f"bench{uuid.uuid4().hex[:6]}",
           "BENCH_MODE": mode, "BENCH_SINK": "bench.sink"}
    worker = worker_process(workdir / f"trivial-{mode}.log", env,
                            module="benchmarks.trivial_app")
    worker.start("[^Worker]: Ready", timeout=120)
    try:
        deadline = time.monotonic() + 600
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        result = json.loads(out.read_text())
        return {"events_per_s": count / (result["last"] - result["first"]),
                "rss_mb": _rss_mb(worker)}
    finally:
        worker.stop()


def _availability_worker(settings: Settings, data_dir: Path, port: int) -> dict[str, str]:
    """The environment of a worker running only the hold/ATP agent, in a group of its
    own, with the ERP feed and the store sweep out of the way."""
    return {"WOOSYNC_BROKER": settings.broker, "WOOSYNC_WEB_PORT": str(port),
            "WOOSYNC_DATA_DIR": str(data_dir), "WOOSYNC_PARTITIONS": str(settings.partitions),
            "WOOSYNC_APP_ID": f"bench{uuid.uuid4().hex[:6]}",
            "WOOSYNC_ERP_POLL_INTERVAL": "3600", "WOOSYNC_WOO_SWEEP_INTERVAL": "3600",
            "WOOSYNC_ERP_STALE_SECONDS": "3600", "WOOSYNC_AGENTS": '["availability"]',
            "WOOSYNC_STORES": json.dumps({"bench": {
                **seed_data.EMULATOR_KEYS, "webhook_secret": "bench-webhook-secret",
                "rest_url": "http://127.0.0.1:9/x"}})}


def _start_together(workers: list[ManagedProcess]) -> list[ManagedProcess]:
    """Start every worker at once: started one after the other, the first drains the
    backlog alone while the next is still importing (measured: a second worker joined
    63 s late and the run showed no speed-up)."""
    # Spawned here, on the main thread: a child dies with the thread that started it
    # (devstack.supervise.die_with_parent), and a pool's threads end with the pool.
    offsets = [worker.spawn() for worker in workers]
    with ThreadPoolExecutor(len(workers)) as pool:
        return list(pool.map(lambda w, o: w.wait_ready(o, WORKER_READY, timeout=180),
                             workers, offsets))


def partition_shares(partitions: int) -> list[float]:
    """Each partition's share of the workload's events (produce_workload's SKU mix)."""
    shares = [0.0] * partitions
    for sku in SKUS:
        share = (HOT_SHARE / len(HOT) if sku in HOT else 0.0) + (1 - HOT_SHARE) / len(SKUS)
        shares[partition_of(sku.encode(), partitions)] += share
    return shares


def woosync_rate(settings: Settings, workdir: Path, count: int, profile: Path | None = None,
                 workers: int = 1, broker_pid: int | None = None) -> dict[str, Any]:
    """The hold/ATP agent draining ``count`` events, on ``workers`` workers of one group
    (sharing the partitions; the rate counts every worker's events), with the CPU time
    the workers and the broker used per event meanwhile (the capacity model's inputs)."""
    app_id = f"bench{uuid.uuid4().hex[:6]}"
    ports = [free_port() for _ in range(workers)]
    running = _start_together([worker_process(workdir / f"woosync-{workers}w{n}.log", {
        **_availability_worker(settings, workdir / f"woosync-{workers}w{n}", port),
        "WOOSYNC_APP_ID": app_id}) for n, port in enumerate(ports)])
    spy = None
    if profile is not None:
        process = running[0].process
        assert process is not None
        # Sampled while the worker drains the backlog (py-spy, 100 samples/s, raw stacks).
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
             "--rate", "100", "--nonblocking", "-p", str(process.pid), "-o",
             str(profile)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = None
        deadline = time.monotonic() + 900
        done = first = 0.0
        pids = [w.process.pid for w in running if w.process is not None]
        watched = pids + ([broker_pid] if broker_pid else [])
        cpu_start: list[float] = []
        while time.monotonic() < deadline:
            try:
                done = sum(_metric(port, "woosync_events_in_total", f'topic="{name}"')
                           for port in ports
                           for name in (t.INVENTORY_HOLDS.name, t.ERP_STOCK.name))
            except OSError:  # a worker's web server still starting: read again
                time.sleep(0.2)
                continue
            if done and start is None:
                start, first = time.monotonic(), done
                cpu_start = [_cpu_seconds(pid) for pid in watched]
            if done >= count:
                break
            # Once a second: each read of /metrics costs the worker a few milliseconds
            # (read five times a second, 3.8 % of its samples in one profiled drain).
            time.sleep(1.0)
        assert start is not None
        elapsed = time.monotonic() - start
        cpu = [_cpu_seconds(pid) - before for pid, before in zip(watched, cpu_start,
                                                                  strict=True)]
        drained = max(1.0, done - first)
        result: dict[str, Any] = {"workers": workers,
                                  "events_per_s": drained / elapsed,
                                  "rss_mb": max(_rss_mb(w) for w in running), "events": done,
                                  "worker_cpu_us_per_event": round(
                                      1e6 * sum(cpu[:len(pids)]) / drained),
                                  "worker_cores": round(sum(cpu[:len(pids)]) / elapsed, 2)}
        batches = sum(_metric(port, "woosync_batch_events_count", 'stage="availability"')
                      for port in ports)
        result["mean_batch_events"] = round(done / batches, 1) if batches else None
        if broker_pid:
            result["broker_cpu_us_per_event"] = round(1e6 * cpu[-1] / drained)
            result["broker_cores"] = round(cpu[-1] / elapsed, 2)
        if spy is not None and profile is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            result["profile"] = top_costs(profile)
        return result
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        for worker in running:
            worker.stop()


# Where a sample's time goes, by the first frame (from the leaf up) in one of these (py-spy
# names a frame "function (path:line)", the path relative to its import root). A C
# extension's time shows as its Python caller's: fastavro's as Codec.encode/decode.
PLACES = (("woosync codec (Avro)", "(streams/codec.py"), ("woosync rules", "(tables/"),
          ("woosync agents", "(agents/"), ("woosync runtime", "(streams/"),
          ("rocksdb store", "(faust/stores/"), ("faust tables", "(faust/tables/"),
          ("faust streams and agents", "(faust/streams.py"),
          ("faust streams and agents", "(faust/agents/"),
          ("faust transport and topics", "(faust/transport/"),
          ("faust transport and topics", "(faust/topics.py"), ("aiokafka", "(aiokafka/"),
          ("mode", "(mode/"), ("asyncio", "(asyncio/"), ("selectors", "(selectors.py"))


def top_costs(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """From py-spy's raw (collapsed) stacks: the share of samples by place (the first
    frame from the leaf that belongs to a known module) and the leaf functions with the
    most self time."""
    places: dict[str, int] = {}
    leaves: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1]] = leaves.get(frames[-1], 0) + n
        place = next((name for frame in reversed(frames) for name, needle in PLACES
                      if needle in frame), "other")
        places[place] = places.get(place, 0) + n
    share = {k: round(100 * v / total, 1) for k, v in sorted(
        places.items(), key=lambda kv: -kv[1])} if total else {}
    return {"samples": total, "percent_by_place": share,
            "top_self": [[name, round(100 * n / total, 1)] for name, n in sorted(
                leaves.items(), key=lambda kv: -kv[1])[:top]] if total else []}


def latency(settings: Settings, workdir: Path, rate: float, seconds: float, workers: int = 1
            ) -> dict[str, Any]:
    """Produce at ``rate`` while ``workers`` workers (one group) run; read the
    SetAvailability commands back."""
    run_dir = workdir / f"latency-{rate:g}-{workers}w-{uuid.uuid4().hex[:6]}"
    app_id = f"bench{uuid.uuid4().hex[:6]}"
    consumer = KafkaConsumer(t.STORE_COMMANDS.name, bootstrap_servers=settings.bootstrap_servers,
                             group_id=None, auto_offset_reset="latest")
    consumer.poll(timeout_ms=1000)
    ports = [free_port() for _ in range(workers)]
    running = _start_together([worker_process(run_dir / f"worker{n}.log", {
        **_availability_worker(settings, run_dir / f"worker{n}", port),
        "WOOSYNC_APP_ID": app_id, "WOOSYNC_CONSUMER_OFFSET_RESET": "latest"})
        for n, port in enumerate(ports)])
    try:
        _until_consuming(settings, ports)
        paced_from = datetime.now(UTC)
        produce_workload(settings, int(rate * seconds), rate=rate)
        samples = _read_latencies(consumer, paced_from,
                                  lambda record, env_: env_["observed_at"] - env_["occurred_at"])
        return {"rate": rate, "workers": workers, "seconds": seconds,
                **_percentiles(samples)}
    finally:
        consumer.close()
        for worker in running:
            worker.stop()


def floor_latency(settings: Settings, workdir: Path, rate: float, seconds: float
                  ) -> dict[str, Any]:
    """The same paced workload forwarded by a trivial Faust agent that reads and sends as
    woosync's worker does (benchmarks.trivial_app, ``produce``): Faust's own latency,
    event produced -> forwarded, the floor under woosync's. The forward's time is its
    record's timestamp, which the producer sets when the agent sends it."""
    run_dir = workdir / f"floor-latency-{rate:g}-{uuid.uuid4().hex[:6]}"
    sink = f"bench.forwarded.{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {"WOOSYNC_BROKER": settings.broker, "WOOSYNC_WEB_PORT": str(port),
           "WOOSYNC_DATA_DIR": str(run_dir), "WOOSYNC_PARTITIONS": str(settings.partitions),
           "WOOSYNC_APP_ID": f"bench{uuid.uuid4().hex[:6]}", "BENCH_MODE": "produce",
           "BENCH_TOPIC": f"{t.INVENTORY_HOLDS.name},{t.ERP_STOCK.name}",
           "BENCH_SINK": sink, "BENCH_EXPECTED": "0", "BENCH_OUT": str(run_dir / "unused"),
           "BENCH_AS_WOOSYNC": "1"}
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    admin.create_topics([NewTopic(sink, settings.partitions, 1)])
    admin.close()
    consumer = KafkaConsumer(sink, bootstrap_servers=settings.bootstrap_servers,
                             group_id=None, auto_offset_reset="earliest")
    worker = worker_process(run_dir.with_suffix(".log"), env, module="benchmarks.trivial_app")
    worker.start(WORKER_READY, timeout=120)
    try:
        _until_forwarding(settings, consumer)
        paced_from = datetime.now(UTC)
        produce_workload(settings, int(rate * seconds), rate=rate)
        samples = _read_latencies(consumer, paced_from, lambda record, env_: (
            datetime.fromtimestamp(record.timestamp / 1000, UTC) - env_["occurred_at"]))
        return {"rate": rate, "seconds": seconds, **_percentiles(samples)}
    finally:
        consumer.close()
        worker.stop()


def _until_forwarding(settings: Settings, consumer: KafkaConsumer) -> None:
    """Wait until the forwarder has sent one of the warm-up's stock reads on (it has its
    partitions: the group has settled), and drop what the warm-up left."""
    def forwarding() -> bool:
        if not any(consumer.poll(timeout_ms=2000).values()):
            return False
        time.sleep(1)
        consumer.poll(timeout_ms=1000)
        return True
    _warm_up(settings, forwarding, "the forwarder")


def _read_latencies(consumer: KafkaConsumer, since: datetime,
                    age: Callable[[Any, dict[str, Any]], timedelta]) -> list[float]:
    """Milliseconds from each record's envelope occurred_at (from ``since`` on) to when it
    was sent (``age``), read until the topic has been quiet for 5 s."""
    codec = Codec()
    samples: list[float] = []
    quiet_until = time.monotonic() + 10
    while time.monotonic() < quiet_until:
        for records in consumer.poll(timeout_ms=1000).values():
            quiet_until = time.monotonic() + 5
            for record in records:
                env_ = codec.decode(record.value).body["envelope"]
                if env_["occurred_at"] >= since:
                    samples.append(age(record, env_) / timedelta(milliseconds=1))
    return samples


def _percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples) or [float("nan")]

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)

    return {"commands": len(samples), "p50_ms": pct(0.50), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "mean_ms": round(statistics.mean(samples), 1) if samples else None}


def _until_consuming(settings: Settings, ports: list[int]) -> None:
    """Wait until the workers have been given their partitions and read from every one
    (they have read a stock read per SKU). "Ready" comes before the group's assignment,
    and a paced run started then measures the start-up, not the path (seen: a 3 s
    start-up put p50 at 1.8 s at 500 events/s)."""
    def consuming() -> bool:
        time.sleep(2)
        try:
            read = [_metric(port, "woosync_events_in_total", f'topic="{t.ERP_STOCK.name}"')
                    for port in ports]
        except OSError:
            return False
        # Every worker reads (each has its partitions: the group has settled).
        if all(read) and sum(read) >= len(SKUS):
            time.sleep(1)
            return True
        return False
    _warm_up(settings, consuming, "the workers")


def _warm_up(settings: Settings, started: Callable[[], bool], who: str,
             limit: float = 120.0) -> None:
    """Send a stock read of every SKU until ``started()``."""
    deadline = time.monotonic() + limit
    with CanonicalProducer(settings) as producer:
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            for n, sku in enumerate(SKUS):
                producer.send(t.ERP_STOCK, sku, "woosync.StockLevelObserved",
                              _stock(sku, n, now))
            producer.flush()
            if started():
                return
    raise TimeoutError(f"{who} did not start within {limit:.0f} s")


def _scaling(measured: dict[str, Any], one: dict[str, Any], partitions: int
             ) -> dict[str, Any]:
    """One worker count's figures, and what the capacity model (docs/capacity.md)
    predicts for it from the one-worker run: n workers go as fast as the busiest of them
    allows (each takes an equal run of partitions, and a partition's events are one
    worker's), until the machine's cores are used up by them and the broker at their
    per-event CPU cost."""
    n = measured["workers"]
    cores = os.cpu_count() or 1
    shares = partition_shares(partitions)
    size = -(-partitions // n)
    busiest = max(sum(shares[i:i + size]) for i in range(0, partitions, size))
    per_event = (one["worker_cpu_us_per_event"] + one.get("broker_cpu_us_per_event", 0)) / 1e6
    predicted = min(one["events_per_s"] / busiest, cores / per_event)
    return {"workers": n, "events_per_s": round(measured["events_per_s"]),
            "rss_mb": round(measured["rss_mb"], 1),
            "worker_cores": measured["worker_cores"],
            "broker_cores": measured.get("broker_cores"),
            "busiest_worker_share": round(busiest, 2),
            "speedup": round(measured["events_per_s"] / one["events_per_s"], 2),
            "model_events_per_s": round(predicted)}


def run(count: int = 30_000, rates: list[float] | None = None, seconds: float = 10.0,
        out: Path = Path("bench-results/stream.json"), profile: bool = False,
        workers: int = 2) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="woosync-bench-"))
    out.parent.mkdir(parents=True, exist_ok=True)  # the profile is written there too
    with LocalKafka(workdir / "kafka") as kafka:
        settings = load_settings(broker=f"kafka://{kafka.bootstrap}", partitions=8)
        ensure_topics(settings)
        # Latency first, so that the throughput workers' backlog is not in its way; after
        # one paced run that is not measured: the first runs after the broker started came
        # out several times slower than the same runs later (one worker, p50 2.4 s against
        # 0.1 s at 500 events/s): a warm-up, not the path.
        latency(settings, workdir, (rates or [2000.0])[0], seconds / 2)
        paced = [latency(settings, workdir, rate, seconds, n) for n in range(1, workers + 1)
                 for rate in rates or [2000.0]]
        floor = [floor_latency(settings, workdir, rate, seconds) for rate in rates or [2000.0]]
        produced = produce_workload(settings, count)
        # The same records, copied to a topic of their own for the floor and the ceiling.
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        admin.create_topics([NewTopic("bench.trivial", settings.partitions, 1),
                             NewTopic("bench.sink", settings.partitions, 1)])
        admin.close()
        _copy(settings, [t.INVENTORY_HOLDS.name, t.ERP_STOCK.name], "bench.trivial")
        total = _count(settings, "bench.trivial")
        iterate = trivial_rate(settings, workdir, "bench.trivial", total, "iterate")
        send = trivial_rate(settings, workdir, "bench.trivial", total, "send")
        produce = trivial_rate(settings, workdir, "bench.trivial", total, "produce")
        trivial = trivial_rate(settings, workdir, "bench.trivial", total)
        broker_pid = kafka.process.pid if kafka.process is not None else None
        woosync = woosync_rate(settings, workdir, total,
                               out.with_suffix(".profile.txt") if profile else None,
                               broker_pid=broker_pid)
        scaled = [woosync_rate(settings, workdir, total, workers=n, broker_pid=broker_pid)
                  for n in range(2, workers + 1)]
        result: dict[str, Any] = {
            "run_id": uuid.uuid4().hex[:8], "at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count()}, "events": total,
            "produce_s": round(produced, 2),
            "raw_consumer": {"events_per_s": round(raw_consumer_rate(settings,
                                                                     "bench.trivial", total))},
            "faust_iterate_only": iterate, "faust_send_only": send,
            "faust_produce_only": produce,
            "trivial_faust": trivial, "woosync": woosync,
            "ratio_woosync_to_trivial": round(woosync["events_per_s"]
                                              / trivial["events_per_s"], 2),
            "ratio_woosync_to_iterate_only": round(woosync["events_per_s"]
                                                   / iterate["events_per_s"], 2),
        }
        result["latency"] = paced
        result["latency_floor"] = floor
        result["workers"] = [_scaling(r, woosync, settings.partitions)
                             for r in [woosync, *scaled]]
        result["settings"] = {"inventory_batch_max": settings.inventory_batch_max,
                              "inventory_batch_seconds": settings.inventory_batch_seconds,
                              "consumer_fetch_wait_seconds":
                                  settings.consumer_fetch_wait_seconds,
                              "producer_linger_seconds": settings.producer_linger_seconds}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def _copy(settings: Settings, sources: list[str], target: str) -> None:
    from kafka.producer import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20)
    for source in sources:
        consumer = KafkaConsumer(source, bootstrap_servers=settings.bootstrap_servers,
                                 group_id=None, auto_offset_reset="earliest",
                                 consumer_timeout_ms=3000)
        for record in consumer:
            producer.send(target, key=record.key, value=record.value)
        consumer.close()
    producer.flush()
    producer.close()


def _count(settings: Settings, topic: str) -> int:
    from kafka.structs import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    total = sum(consumer.end_offsets(parts).values())
    consumer.close()
    return int(total)

"""The ``woosync`` command: the worker's own verbs (streams.cli) and the local tooling's:
``broker``, ``fetch-kafka``, ``erp``, ``emulator``, ``demo``, ``bench``, ``bench-erp``,
``bench-orders``, ``bench-oversell``, ``bench-recovery``.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from streams.cli import add_runtime_commands, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="woosync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = add_runtime_commands(sub)

    broker = sub.add_parser("broker", help="run a local Kafka broker (KRaft), or a cluster")
    broker.add_argument("--port", type=int, default=9092, help="(a single node)")
    broker.add_argument("--nodes", type=int, default=1,
                        help="3: a three-node cluster on free ports (topics then want"
                             " WOOSYNC_REPLICATION_FACTOR=3)")
    broker.add_argument("--data-dir", type=Path,
                        default=Path(".state/broker"), help="kept between runs")
    broker.add_argument("--fresh", action="store_true", help="wipe the data dir first")
    sub.add_parser("fetch-kafka", help="resolve and cache the Kafka jars, then exit")

    erp = sub.add_parser("erp", help="run a throwaway Tryton ERP with the seeded retail data")
    erp.add_argument("--port", type=int, default=8000)
    erp.add_argument("--data-dir", type=Path, default=Path(".state/erp"),
                     help="kept between runs")
    erp.add_argument("--fresh", action="store_true", help="start again from the template")

    bench = sub.add_parser("bench", help="measure the stream path (broker, Faust, woosync)")
    bench.add_argument("--events", type=int, default=30_000)
    bench.add_argument("--rate", type=float, nargs="+", default=[2000.0],
                       help="events/s for latency (several: one paced run each)")
    bench.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    bench.add_argument("--profile", action="store_true",
                       help="sample woosync's worker with py-spy during the throughput run")
    bench.add_argument("--workers", type=int, default=2,
                       help="also measure with 2..N workers sharing the partitions")

    bench_erp = sub.add_parser("bench-erp", help="measure ERP command latency and feed delay")
    bench_erp.add_argument("--commands", type=int, default=40)
    bench_erp.add_argument("--changes", type=int, default=15)
    bench_erp.add_argument("--interval", type=float, default=1.0, help="feed poll interval")

    bench_orders = sub.add_parser("bench-orders", help="measure order to cash latency end to"
                                  " end (store order -> ERP sale, shipment -> store)")
    bench_orders.add_argument("--orders", type=int, default=40)
    bench_orders.add_argument("--rate", type=float, default=1.0, help="orders per second")

    recovery = sub.add_parser("bench-recovery", help="restart and failover time, and memory,"
                              " with a large inventory in the tables")
    recovery.add_argument("--skus", type=int, default=100_000)
    recovery.add_argument("--holds", type=int, default=1_000_000)

    oversell = sub.add_parser("bench-oversell", help="units oversold on one flash-sale trace:"
                              " woosync with the checkout check, without it, a 60 s poll")
    oversell.add_argument("--seconds", type=float, default=90.0, help="trace length")
    oversell.add_argument("--rate", type=float, default=8.0, help="checkouts per second")
    oversell.add_argument("--seed", type=int, default=3)

    emulator = sub.add_parser("emulator", help="run the WooCommerce emulator (seeded store)")
    emulator.add_argument("--port", type=int, default=8090)

    demo = sub.add_parser("demo", help="Kafka, Tryton, the store emulator, a worker and a"
                          " flash sale; Ctrl-C stops all")
    demo.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")

    day = sub.add_parser("simulate-day", help="a trading day in accelerated time with"
                         " injected faults: the windows they open and the ledger")
    day.add_argument("--scale", type=float, default=20.0,
                     help="simulated seconds per real second")
    day.add_argument("--steady-minutes", type=float, default=60.0,
                     help="simulated minutes of normal trading before the faults")
    day.add_argument("--seed", type=int, default=1)
    day.add_argument("--faults", default="", help="only these faults (comma separated:"
                     " webhooks-doubled, webhooks-lost, webhooks-disabled, erp-refuses,"
                     " price, stock,"
                     " order-edit, erp-outage, store-outage)")
    day.add_argument("--keep", action="store_true", help="keep the logs and data")

    handlers.update({"broker": _broker, "fetch-kafka": _fetch_kafka, "demo": _demo,
                     "simulate-day": _simulate_day,
                     "erp": _erp, "bench-erp": _bench_erp, "bench-orders": _bench_orders,
                     "bench-oversell": _bench_oversell, "bench-recovery": _bench_recovery,
                     "emulator": _emulator, "bench": _bench})
    return run(parser, handlers, argv)
def _simulate_day(args: argparse.Namespace) -> int:
    """Its own broker and Tryton in a temporary folder; exit 0 when every fault that must
    open a window did, none opened in the steady stretch and the ledger has no
    unexplained difference."""
    import asyncio
    import tempfile

    from devstack.kafka_broker import LocalKafka
    from devstack.simulate_day import run_day
    from devstack.tryton_server import TrytonServer

    workdir = Path(tempfile.mkdtemp(prefix="woosync-day-"))
    print("starting Kafka and Tryton (the first run builds its database: about a"
          " minute)...", flush=True)
    kafka = LocalKafka(workdir / "kafka").start()
    erp = TrytonServer(workdir / "erp").start()
    try:
        report = asyncio.run(run_day(kafka.bootstrap, erp.url, erp.port, workdir,
                                     args.scale, args.steady_minutes, args.seed,
                                     lambda line: print(line, flush=True),
                                     only=tuple(filter(None, args.faults.split(",")))))
    finally:
        erp.stop()
        kafka.stop()
        if args.keep:
            print(f"logs and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    good = (all(f.detected for f in report.faults) and not report.false_windows
            and report.ledger.get("differences", {}).get("unexplained", 1) == 0)
    return 0 if good else 1


def _fetch_kafka(args: argparse.Namespace) -> int:
    from devstack.kafka_broker import fetch_jars, java_binary

    java_binary()
    print(fetch_jars())
    return 0


def _broker(args: argparse.Namespace) -> int:
    from devstack.kafka_broker import LocalKafka, LocalKafkaCluster

    if args.fresh or args.nodes > 1:  # a cluster takes new ports, so new storage too
        shutil.rmtree(args.data_dir, ignore_errors=True)
    kafka: LocalKafka | LocalKafkaCluster
    if args.nodes > 1:
        kafka = LocalKafkaCluster(args.data_dir.resolve(), size=args.nodes).start()
        urls = ";".join(f"kafka://{node.bootstrap}" for node in kafka.nodes)
        print(f"Kafka cluster of {args.nodes} is up: WOOSYNC_BROKER='{urls}'"
              f" WOOSYNC_REPLICATION_FACTOR={min(3, args.nodes)}", flush=True)
    else:
        kafka = LocalKafka(args.data_dir.resolve(), port=args.port).start()
        print(f"Kafka is up: WOOSYNC_BROKER=kafka://{kafka.bootstrap}"
              f"  (log: {kafka.log_file})", flush=True)
    try:
        _wait_for_signal()
    finally:
        kafka.stop()
    return 0


def _erp(args: argparse.Namespace) -> int:
    from devstack import seed_data
    from devstack.tryton_server import ADMIN_PASSWORD, TrytonServer

    if args.fresh:
        shutil.rmtree(args.data_dir, ignore_errors=True)
    print("starting Tryton (the first run builds the seeded database, about a minute)...",
          flush=True)
    server = TrytonServer(args.data_dir.resolve(), port=args.port).start()
    print(f"Tryton is up: WOOSYNC_ERP_URL={server.url}  database {seed_data.DATABASE}\n"
          f"  integration user {seed_data.INTEGRATION_LOGIN} / {seed_data.INTEGRATION_PASSWORD}"
          f", admin / {ADMIN_PASSWORD}  (log: {server.log_file})", flush=True)
    try:
        _wait_for_signal()
    finally:
        server.stop()
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from devstack.seed_data import store_catalogue
    from woo_emulator.runner import EmulatorThread

    with EmulatorThread(port=args.port, catalogue=store_catalogue()) as emulator:
        print(f"WooCommerce emulator: {emulator.api}  (keys ck_demo / cs_demo, OAuth 1.0a)",
              flush=True)
        _wait_for_signal()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from benchmarks.stream_bench import run

    run(count=args.events, rates=args.rate, seconds=args.seconds, profile=args.profile,
        workers=args.workers)
    return 0


def _bench_recovery(args: argparse.Namespace) -> int:
    from benchmarks.recovery_bench import run

    run(skus=args.skus, holds=args.holds)
    return 0


def _bench_orders(args: argparse.Namespace) -> int:
    from benchmarks.order_bench import run

    run(orders=args.orders, rate=args.rate)
    return 0


def _bench_oversell(args: argparse.Namespace) -> int:
    from benchmarks.oversell_bench import run

    run(seconds=args.seconds, rate=args.rate, seed=args.seed)
    return 0


def _bench_erp(args: argparse.Namespace) -> int:
    from benchmarks.erp_bench import run

    run(commands=args.commands, changes=args.changes, interval=args.interval)
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Kafka, Tryton, the WooCommerce emulator, a worker and a flash sale."""
    from devstack.demo import run_demo

    return run_demo(seconds=args.seconds)


def _wait_for_signal() -> None:
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

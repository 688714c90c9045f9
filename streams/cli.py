"""The ``woosync`` command: broker, worker, topics, schemas, demo.

Each subcommand reads the settings once from the environment (``WOOSYNC_*``); flags
override the few that differ per process (ports, data dirs).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from streams.errors import WoosyncError
from streams.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="woosync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    broker = sub.add_parser("broker", help="run a local single-node Kafka broker (KRaft)")
    broker.add_argument("--port", type=int, default=9092)
    broker.add_argument("--data-dir", type=Path,
                        default=Path(".state/broker"), help="kept between runs")
    broker.add_argument("--fresh", action="store_true", help="wipe the data dir first")
    sub.add_parser("fetch-kafka", help="resolve and cache the Kafka jars, then exit")

    worker = sub.add_parser("worker", help="run a Faust worker")
    worker.add_argument("--web-port", type=int, default=None)
    worker.add_argument("--data-dir", type=Path, default=None)

    erp = sub.add_parser("erp", help="run a throwaway Tryton ERP with the seeded retail data")
    erp.add_argument("--port", type=int, default=8000)
    erp.add_argument("--data-dir", type=Path, default=Path(".state/erp"),
                     help="kept between runs")
    erp.add_argument("--fresh", action="store_true", help="start again from the template")

    bench_erp = sub.add_parser("bench-erp", help="measure ERP command latency and feed delay")
    bench_erp.add_argument("--commands", type=int, default=40)
    bench_erp.add_argument("--changes", type=int, default=15)
    bench_erp.add_argument("--interval", type=float, default=1.0, help="feed poll interval")

    emulator = sub.add_parser("emulator", help="run the WooCommerce emulator (seeded store)")
    emulator.add_argument("--port", type=int, default=8090)

    sub.add_parser("topics", help="create the registry's topics and check existing ones")

    schemas = sub.add_parser("schemas", help="schema history: check or snapshot")
    schemas.add_argument("action", choices=["check", "snapshot"])

    demo = sub.add_parser("demo", help="broker + worker + a sample feed; Ctrl-C stops all")
    demo.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO
    try:
        handler = {"broker": _broker, "fetch-kafka": _fetch_kafka, "worker": _worker,
                   "topics": _topics, "schemas": _schemas, "demo": _demo, "erp": _erp,
                   "bench-erp": _bench_erp, "emulator": _emulator}[args.command]
        return handler(args)
    except WoosyncError as exc:
        print(f"woosync {args.command}: {exc}", file=sys.stderr)
        return 2


def _fetch_kafka(args: argparse.Namespace) -> int:
    from streams.kafka_broker import fetch_jars, java_binary

    java_binary()
    print(fetch_jars())
    return 0


def _broker(args: argparse.Namespace) -> int:
    from streams.kafka_broker import LocalKafka

    if args.fresh:
        shutil.rmtree(args.data_dir, ignore_errors=True)
    kafka = LocalKafka(args.data_dir.resolve(), port=args.port).start()
    print(f"Kafka is up: WOOSYNC_BROKER=kafka://{kafka.bootstrap}  (log: {kafka.log_file})",
          flush=True)
    try:
        _wait_for_signal()
    finally:
        kafka.stop()
    return 0


def _erp(args: argparse.Namespace) -> int:
    from streams.erp import seed_data
    from streams.erp.tryton_server import ADMIN_PASSWORD, TrytonServer

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
    from woo_emulator.runner import EmulatorThread

    with EmulatorThread(port=args.port) as emulator:
        print(f"WooCommerce emulator: {emulator.api}  (keys ck_demo / cs_demo, OAuth 1.0a)",
              flush=True)
        _wait_for_signal()
    return 0


def _bench_erp(args: argparse.Namespace) -> int:
    from streams.bench_erp import run

    run(commands=args.commands, changes=args.changes, interval=args.interval)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import faust

    from streams.admin import ensure_topics
    from streams.app import create_app

    overrides: dict[str, object] = {}
    if args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    settings = load_settings(**overrides)
    ensure_topics(settings)
    runtime = create_app(settings)
    faust.Worker(runtime.app, loglevel=settings.log_level).execute_from_commandline()
    return 0


def _topics(args: argparse.Namespace) -> int:
    from streams.admin import ensure_topics

    created = ensure_topics(load_settings())
    print("created: " + (", ".join(created) or "nothing (all present and as registered)"))
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from streams.catalog import Catalog

    catalog = Catalog()
    if args.action == "snapshot":
        for path in catalog.snapshot():
            print(f"recorded {path}")
        return 0
    changed = catalog.unreleased_changes()
    for name in changed:
        print(f"{name}: changed since its last snapshot (run: woosync schemas snapshot)")
    return 1 if changed else 0


def _demo(args: argparse.Namespace) -> int:
    """For now: broker, one worker, and a feed of sample canonical events it logs."""
    from streams import samples
    from streams import topics as t
    from streams.admin import ensure_topics
    from streams.kafka_broker import LocalKafka, free_port, port_in_use
    from streams.producer import CanonicalProducer

    workdir = Path(tempfile.mkdtemp(prefix="woosync-demo-"))
    kafka = LocalKafka(workdir / "broker", port=9092 if not port_in_use(9092) else free_port())
    worker: subprocess.Popen[bytes] | None = None
    try:
        print("starting Kafka (the first run fetches its jars from Maven Central)...", flush=True)
        kafka.start()
        web_port = 6066 if not port_in_use(6066) else free_port()
        env = {**os.environ, "WOOSYNC_BROKER": f"kafka://{kafka.bootstrap}",
               "WOOSYNC_WEB_PORT": str(web_port), "WOOSYNC_DATA_DIR": str(workdir / "worker")}
        settings = load_settings(broker=f"kafka://{kafka.bootstrap}", web_port=web_port)
        ensure_topics(settings)
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env)
        print(f"\nbroker   {kafka.bootstrap}\nhealth   http://127.0.0.1:{web_port}/health"
              f"\nmetrics  http://127.0.0.1:{web_port}/metrics\nCtrl-C stops everything.\n",
              flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        with CanonicalProducer(settings) as producer:
            number = 1000
            while deadline is None or time.monotonic() < deadline:
                now = datetime.now(UTC)
                number += 1
                order = samples.order_observed("demo", number, now)
                producer.send(t.COMMERCE_ORDERS, order["order_id"], "woosync.OrderObserved", order)
                stock = samples.stock_level_observed("TSHIRT-M", now, Decimal(500 - number % 500))
                producer.send(t.ERP_STOCK, stock["sku"], "woosync.StockLevelObserved", stock)
                producer.flush()
                if worker.poll() is not None:
                    print("the worker exited", file=sys.stderr)
                    return 1
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


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

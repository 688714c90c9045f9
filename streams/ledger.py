"""The reconciliation ledger of one day, read from the topics: ``build`` for the page
(streams.ledger_web) and ``woosync ledger DATE [--csv|--json]`` on the command line.

Consumes the compacted ``ledger.orders`` (each order's last LedgerLine) and
``divergence.windows`` (the open windows explain differences), the settings' SLA per
kind and ``now``; produces the day's ledger (tables.ledger.reconcile: both sides'
totals and every difference linked, in flight or unexplained) as JSON, as CSV (one row
per difference, then one per order without any) or as a short text for people.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from datetime import date, datetime, timedelta
from typing import Any

from kafka.errors import KafkaError

from streams import topics
from streams.codec import Codec
from streams.compacted import read_compacted
from streams.divergence import windows
from streams.envelope import utcnow
from streams.settings import Settings, load_settings
from tables.ledger import UNEXPLAINED, OpenWindow, from_record, reconcile

VERB = "ledger"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COLUMNS = ("order_id", "number", "store", "status", "kind", "what", "store_amount",
           "erp_amount", "expected", "since", "status_of_difference", "window_id", "cause",
           "due_by")


class NoSuchDay(ValueError):
    """YYYY-MM-DD in shape, but no calendar day (2026-02-30, year 0)."""


def parse_day(text: str) -> str:
    """A YYYY-MM-DD day (``today`` for the current UTC date); ValueError otherwise."""
    if text == "today":
        return utcnow().date().isoformat()
    if not DAY.match(text):
        raise ValueError(f"{text!r} is not a day (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise NoSuchDay(f"{text!r} is no calendar day: {exc}") from exc


def build(settings: Settings, codec: Codec, day: str, now: datetime,
          store: str | None = None) -> dict[str, Any]:
    read = read_compacted(settings, codec, topics.LEDGER_ORDERS.name)
    lines = [from_record(m.body) for m in read.latest.values()
             if m.name == "woosync.LedgerLine"]
    found = [OpenWindow(w["window_id"], w["kind"], w["subject"], w["cause"])
             for w in windows(settings, codec) if w["state"] == "open"]
    sla = {k: timedelta(seconds=v) for k, v in settings.divergence_sla_seconds.items()}
    ledger = reconcile(day, lines, found, now, sla, store)
    ledger["complete"] = read.complete
    return ledger


def to_csv(ledger: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    orders = {ln["order_id"]: ln for ln in ledger["lines"]}
    for item in ledger["items"]:
        order = orders[item["order_id"]]
        writer.writerow({**item, "number": order["number"], "store": order["store"],
                         "status": order["status"], "status_of_difference": item["status"]})
    different = {item["order_id"] for item in ledger["items"]}
    for order in ledger["lines"]:
        if order["order_id"] not in different:
            writer.writerow({**order, "store_amount": order["store_total"],
                             "erp_amount": order["erp_total"], "what": "order total",
                             "status_of_difference": "agrees"})
    return out.getvalue()


def to_text(ledger: dict[str, Any]) -> str:
    store, erp, counts = ledger["store"], ledger["erp"], ledger["differences"]
    of = f" of store {ledger['of_store']}" if ledger["of_store"] else ""
    lines = [f"ledger {ledger['day']}{of} at {ledger['at']}: {ledger['orders']} orders",
             f"  store: {store['orders']} paid orders, total {store['total']}, shipping"
             f" {store['shipping']}, tax {store['tax']}, refunds {store['refunds']}",
             f"  ERP:   {erp['sales']} sales, total {erp['total']}, tax {erp['tax']},"
             f" invoiced {erp['invoiced']}, credited {erp['credited']}",
             f"  differences: {counts['linked']} linked to open windows,"
             f" {counts['in flight']} in flight, {counts[UNEXPLAINED]} unexplained"]
    for item in ledger["items"]:
        where = (f"window {item['window_id']}: {item['cause']}" if item["window_id"]
                 else f"expected by {item['due_by']}")
        lines.append(f"  - {item['status']:<11} {item['order_id']} {item['what']}: store"
                     f" {item['store_amount']} / ERP {item['erp_amount']}; awaiting"
                     f" {item['expected']} ({where})")
    if not ledger["complete"]:
        lines.append("  warning: the topics were not read to their end in time")
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(VERB, help="the reconciliation ledger of one day")
    parser.add_argument("day", help="YYYY-MM-DD (UTC), or today")
    parser.add_argument("--store", help="one store's orders (default: every store's)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="one row per difference/order")
    shape.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when no difference is unexplained, 1 otherwise (2: bad day)."""
    try:
        day = parse_day(args.day)
    except ValueError as exc:
        print(f"woosync ledger: {exc}", file=sys.stderr)
        return 2
    settings = load_settings()
    try:
        ledger = build(settings, Codec(), day, utcnow(), args.store)
    except KafkaError as exc:
        print(f"woosync ledger: the broker ({settings.broker}) did not answer: {exc}",
              file=sys.stderr)
        return 2
    if args.csv:
        sys.stdout.write(to_csv(ledger))
    elif args.json:
        print(json.dumps(ledger, indent=1))
    else:
        print(to_text(ledger))
    return 1 if ledger["differences"][UNEXPLAINED] else 0

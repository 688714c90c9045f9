"""What the dashboard shows: latency quantiles over the last minute from histogram
buckets (as Prometheus estimates them), the hot SKUs in risk order with levels and
exposure, and the business figures from ledger lines and open windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from streams import dashboard

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_quantiles_interpolate_inside_the_bucket() -> None:
    cumulative = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (float("inf"), 100.0)]
    assert dashboard.quantile(0.5, cumulative) == 0.1
    assert dashboard.quantile(0.7, cumulative) == 0.1 + 0.4 * 0.5
    assert dashboard.quantile(0.99, cumulative) == 0.5 + 0.5 * 0.9
    assert dashboard.quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    assert dashboard.quantile(0.99, [(0.1, 1.0), (float("inf"), 10.0)]) == 0.1


def test_latency_counts_only_what_came_after_the_earlier_snapshot() -> None:
    registry = CollectorRegistry()
    h = Histogram("woosync_sync_latency_seconds", "", ["workflow"], registry=registry,
                  buckets=(0.05, 0.1, 1.0, float("inf")))
    for _ in range(100):
        h.labels("availability").observe(0.9)  # a slow start
    before = dashboard.buckets(dashboard.samples_of(registry.collect()),
                               "woosync_sync_latency_seconds")
    for _ in range(100):
        h.labels("availability").observe(0.01)
    now = dashboard.buckets(dashboard.samples_of(registry.collect()),
                            "woosync_sync_latency_seconds")
    recent = dashboard.latency(now, before)["availability"]
    assert recent["count"] == 100 and recent["p99"] is not None and recent["p99"] <= 0.05
    whole = dashboard.latency(now, {})["availability"]
    assert whole["count"] == 200 and whole["p99"] > 0.1


def _risk(sku: str, level: str, minutes: str | None, shown: int | None = None,
          oversold: str = "0") -> dict[str, Any]:
    return {"sku": sku, "level": level, "atp": Decimal(3),
            "minutes_to_stockout": None if minutes is None else Decimal(minutes),
            "velocity_1m": Decimal(1), "velocity_5m": Decimal(1), "velocity_15m": Decimal(1),
            "per_minute": [Decimal(0)] * 14 + [Decimal(2)],
            "oversold_units": Decimal(oversold), "oversold_orders": [],
            "stores": [{"store": "s", "atp": Decimal(3), "published": 3, "shown": shown,
                        "exposure": max(0, (shown or 0) - 3)}]}


def test_promotion_lists_hot_skus_most_at_risk_first() -> None:
    view = dashboard.promotion([_risk("A", "low", "90"), _risk("B", "critical", "2", 5, "4"),
                                _risk("C", "none", None), _risk("D", "high", "9")])
    assert [s["sku"] for s in view["hot"]] == ["B", "D", "A"]
    assert view["levels"] == {"critical": 1, "high": 1, "medium": 0, "low": 1, "none": 1}
    assert view["oversold_units"] == "4" and view["exposure"] == 2
    assert view["hot"][0]["per_minute"][-1] == "2"


def test_business_counts_what_waits_for_an_erp_document() -> None:
    def diff(kind: str, erp: str, minutes: int) -> dict[str, Any]:
        return {"kind": kind, "erp_amount": Decimal(erp), "since": NOW - timedelta(
            minutes=minutes)}
    lines = [{"differences": [diff("sale", "0", 3)]},
             {"differences": [diff("sale", "0", 10), diff("refund", "0", 1)]},
             {"differences": [diff("sale-total", "9.5", 2), diff("refund", "4", 5)]}]
    windows: list[dict[str, Any]] = [{"kind": "status", "closed_at": None},
               {"kind": "status", "closed_at": NOW},
               {"kind": "sale", "closed_at": None}]
    out = dashboard.business(lines, windows, NOW)
    assert out["orders_not_in_erp"] == {"count": 2, "oldest_seconds": 600.0}
    assert out["refunds_without_credit_note"] == {"count": 1, "oldest_seconds": 60.0}
    assert out["shipments_not_reported"] == 1

"""What the dashboard shows, assembled from what a worker already has. Pure.

Consumes metric samples (this worker's Prometheus registry: counters, the latency
histograms, lag and feed age), the live views of ``inventory.risk``, ``ledger.orders``
and ``divergence.windows`` (every SKU and order of the cluster), and ``now``; produces
one JSON-ready dict with two views:

- ``promotion``: the hottest SKUs in risk order (ATP, units per minute for a sparkline,
  velocities, time to stock-out, level, oversold units, each store's shown against
  published stock), SKUs by level, oversold units and stock exposure (units the stores
  offer beyond ATP) in total;
- ``operations``: counters the page turns into rates (orders, events, dead letters by
  stage, calls to outside systems by outcome), synchronization latency per workflow over
  the last minute (p50/p95/p99 from the histograms' buckets, as Prometheus'
  histogram_quantile estimates them), backlog (consumer lag by topic), feed freshness,
  open divergence windows by kind, and what they mean for the business: store orders
  not yet in the ERP, refunds without a credit note (both from the ledger lines, with the
  oldest), shipments not reported to the store past their SLA (open status windows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from tables.risk import LEVELS, rank

# name -> [(labels, value)] for one metric sample name (``..._total``, ``..._bucket``)
Samples = dict[str, list[tuple[dict[str, str], float]]]
HOT_SKUS = 20


def samples_of(families: Iterable[Any]) -> Samples:
    """Flatten prometheus-client metric families into sample name -> labelled values."""
    out: Samples = {}
    for family in families:
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in samples.get(name, []):
        key = labels.get(label, "")
        out[key] = out.get(key, 0.0) + value
    return out


def buckets(samples: Samples, name: str) -> dict[str, list[tuple[float, float]]]:
    """Each workflow's cumulative histogram buckets (upper bound, count), in order."""
    out: dict[str, list[tuple[float, float]]] = {}
    for labels, value in samples.get(f"{name}_bucket", []):
        out.setdefault(labels.get("workflow", ""), []).append((float(labels["le"]), value))
    return {k: sorted(v) for k, v in out.items()}


def since(now: list[tuple[float, float]], before: list[tuple[float, float]] | None
          ) -> list[tuple[float, float]]:
    """The buckets' counts added since an earlier snapshot of the same histogram."""
    earlier = dict(before or [])
    return [(le, count - earlier.get(le, 0.0)) for le, count in now]


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """The q-quantile estimated from cumulative buckets, interpolating linearly inside
    the bucket it falls in (None without observations; the last finite bound when it
    falls in +Inf)."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank_ = q * cumulative[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank_:
            if math.isinf(bound):
                return lower_bound
            inside = count - lower_count
            share = (rank_ - lower_count) / inside if inside else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def latency(now: dict[str, list[tuple[float, float]]],
            before: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    out = {}
    for workflow, cumulative in sorted(now.items()):
        recent = since(cumulative, before.get(workflow))
        out[workflow] = {"count": recent[-1][1] if recent else 0.0,
                         **{f"p{int(q * 100)}": quantile(q, recent)
                            for q in (0.5, 0.95, 0.99)}}
    return out


def hot(risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"sku": r["sku"], "level": r["level"], "atp": str(r["atp"]),
             "minutes_to_stockout": None if r["minutes_to_stockout"] is None
             else str(r["minutes_to_stockout"]),
             "velocity": {w: str(r[f"velocity_{w}m"]) for w in (1, 5, 15)},
             "per_minute": [str(u) for u in r["per_minute"]],
             "oversold_units": str(r["oversold_units"]),
             "stores": [{"store": s["store"], "published": s["published"],
                         "shown": s["shown"], "exposure": s["exposure"]}
                        for s in r["stores"]]}
            for r in sorted(risks, key=rank)[:HOT_SKUS] if r["level"] != "none"]


def promotion(risks: list[dict[str, Any]]) -> dict[str, Any]:
    levels = {level: sum(1 for r in risks if r["level"] == level) for level in LEVELS}
    return {"hot": hot(risks), "levels": levels,
            "oversold_units": str(sum((Decimal(r["oversold_units"]) for r in risks),
                                      Decimal(0))),
            "exposure": sum(s["exposure"] for r in risks for s in r["stores"])}


def _outstanding(lines: list[dict[str, Any]], kind: str, now: datetime) -> dict[str, Any]:
    """Ledger differences of one kind still waiting for their ERP document: how many,
    and how long the oldest has waited (seconds)."""
    waiting = [d["since"] for line in lines for d in line.get("differences", [])
               if d["kind"] == kind and d["erp_amount"] == 0]
    oldest = min(waiting, default=None)
    return {"count": len(waiting),
            "oldest_seconds": None if oldest is None else (now - oldest).total_seconds()}


def business(lines: list[dict[str, Any]], windows: list[dict[str, Any]], now: datetime
             ) -> dict[str, Any]:
    open_windows = [w for w in windows if w.get("closed_at") is None]
    return {"orders_not_in_erp": _outstanding(lines, "sale", now),
            "refunds_without_credit_note": _outstanding(lines, "refund", now),
            "shipments_not_reported": sum(1 for w in open_windows if w["kind"] == "status")}


def operations(samples: Samples, lat: dict[str, Any], lines: list[dict[str, Any]],
               windows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    events = samples.get("woosync_events_in_total", [])
    open_by_kind: dict[str, int] = {}
    for w in windows:
        if w.get("closed_at") is None:
            open_by_kind[w["kind"]] = open_by_kind.get(w["kind"], 0) + 1
    calls: dict[str, dict[str, float]] = {}
    for labels, value in samples.get("woosync_sink_requests_total", []):
        target = calls.setdefault(labels["target"], {})
        target[labels["outcome"]] = target.get(labels["outcome"], 0.0) + value
    ages = by_label(samples, "woosync_erp_feed_age_seconds", "partition")
    return {
        "counters": {
            "orders_observed": sum(v for lb, v in events if lb.get("type") == "OrderObserved"),
            "erp_sales_observed": sum(v for lb, v in events
                                      if lb.get("type") == "SalesOrderObserved"),
            "events_in": sum(v for _, v in events),
            "dead_letters": by_label(samples, "woosync_dead_letters_total", "stage"),
            "calls": calls},
        "latency": lat,
        "lag": by_label(samples, "woosync_consumer_lag", "topic"),
        "feed_age_seconds": max(ages.values()) if ages else None,
        "open_windows": open_by_kind,
        "business": business(lines, windows, now)}


def assemble(samples: Samples, lat: dict[str, Any], risks: list[dict[str, Any]],
             lines: list[dict[str, Any]], windows: list[dict[str, Any]], now: datetime,
             caught_up: bool) -> dict[str, Any]:
    return {"at": now.isoformat(), "caught_up": caught_up,
            "promotion": promotion(risks),
            "operations": operations(samples, lat, lines, windows, now)}

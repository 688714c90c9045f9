"""The promotion-day dashboard, served by every worker.

``GET /dashboard``: one page (HTML, CSS and JavaScript in ``streams/static/
dashboard.html``, no build step) that polls ``GET /dashboard/data`` every two seconds
and draws two views, promotion and operations (streams.dashboard says what is in them).
Readable on a laptop and a phone (one column below 800 px).

The data comes from this worker's metrics and from the live views of ``inventory.risk``,
``ledger.orders`` and ``divergence.windows``, so the risk and business figures cover the
whole cluster and the rates, latencies and lag this worker (Prometheus, with the
Grafana dashboard in ``deploy/``, sums them over workers). Latency is over the last
minute: the page's own polls keep snapshots of the histograms, a minute of them.

Aggregates only (SKUs, counts, ages; no customer or order detail), like ``/metrics``:
no admin token, so a phone on the shop floor can open it.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from streams import dashboard, topics
from streams.envelope import utcnow
from streams.runtime import AgentSpec, Runtime

PAGE = Path(__file__).resolve().parent / "static" / "dashboard.html"
LATENCY_WINDOW = 60.0  # seconds of latency the page shows
HISTOGRAM = "woosync_sync_latency_seconds"


class LatencyWindow:
    """Snapshots of the latency histograms, at most one a second, kept for a window, so
    that quantiles cover the last minute rather than the worker's whole life."""

    def __init__(self) -> None:
        self.kept: deque[tuple[float, dict[str, list[tuple[float, float]]]]] = deque()

    def over_last_minute(self, now: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
        clock = time.monotonic()
        while len(self.kept) > 1 and clock - self.kept[1][0] >= LATENCY_WINDOW:
            self.kept.popleft()
        before = self.kept[0][1] if self.kept else {}
        if not self.kept or clock - self.kept[-1][0] >= 1.0:
            self.kept.append((clock, now))
        return dashboard.latency(now, before)


def register(runtime: Runtime) -> None:
    app = runtime.app
    risk = runtime.view(topics.INVENTORY_RISK)
    # Only what is outstanding is kept: orders with a difference, windows still open.
    ledger = runtime.view(topics.LEDGER_ORDERS, lambda line: bool(line.get("differences")))
    windows = runtime.view(topics.DIVERGENCE_WINDOWS,
                           lambda body: body["window"].get("closed_at") is None)
    window = LatencyWindow()
    page = PAGE.read_bytes()

    @app.page("/dashboard")
    async def show(web: Any, request: Any) -> Any:
        return web.bytes(page, content_type="text/html")

    @app.page("/dashboard/data")
    async def data(web: Any, request: Any) -> Any:
        samples = dashboard.samples_of(runtime.metrics.registry.collect())
        lat = window.over_last_minute(dashboard.buckets(samples, HISTOGRAM))
        return web.json(dashboard.assemble(
            samples, lat, risk.values(), ledger.values(),
            [v["window"] for v in windows.values()], utcnow(),
            risk.caught_up and ledger.caught_up and windows.caught_up))


AGENT = AgentSpec("dashboard", register)

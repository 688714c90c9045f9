"""HTTP endpoints every worker serves on Faust's web server: ``/health`` and
``/metrics`` (Prometheus text). Workflow modules add their own pages."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.runtime import Runtime


def register(runtime: Runtime) -> None:
    app = runtime.app

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "app": runtime.settings.app_id})

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        body = generate_latest(runtime.metrics.registry)
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

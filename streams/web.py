"""HTTP endpoints every worker serves on Faust's web server, and the guard for the
operations endpoints.

``/health`` (liveness): 200 while the worker's services run, 503 once it has crashed.
``/ready`` (readiness): 200 only when the tables are recovered and no rebalance is under
way, the broker answers a metadata request, and every agent has running actors; 503
otherwise, naming each check that failed, with this worker's partitions of each topic.
``/metrics``: Prometheus text.
``/openapi.json``: the web API (streams.openapi).

``operations`` wraps a page so that it answers only to ``Authorization: Bearer <admin
token>``, compared in constant time; with no token configured the operations endpoints
are off (403), never open.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import openapi
from streams.runtime import Runtime
from streams.settings import Settings

Handler = Callable[..., Awaitable[Any]]
BROKER_CHECK_SECONDS = 2.0


def admin_refusal(settings: Settings, authorization: str | None) -> tuple[int, str] | None:
    """Why a request with this Authorization header may not use an operations endpoint
    (status, reason), or None when it may."""
    token = settings.admin_token.get_secret_value()
    if not token:
        return 403, "operations endpoints are off: set WOOSYNC_ADMIN_TOKEN to use them"
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                             token.encode()):
        return 401, "missing or wrong admin token (Authorization: Bearer <token>)"
    return None


def operations(settings: Settings) -> Callable[[Handler], Handler]:
    """Decorate a page handler ``(web, request, **params)`` to require the admin token."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(web: Any, request: Any, **params: Any) -> Any:
            refusal = admin_refusal(settings, request.headers.get("Authorization"))
            if refusal is not None:
                status, why = refusal
                return web.json({"error": why}, status=status)
            return await handler(web, request, **params)
        return guarded
    return wrap


def register(runtime: Runtime) -> None:
    app = runtime.app
    broker = BrokerCheck(runtime)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        crashed = app.crash_reason is not None
        return web.json({"status": "crashed" if crashed else "ok",
                         "app": runtime.settings.app_id}, status=503 if crashed else 200)

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        checks = {"recovered": _recovered(runtime), "broker": await broker.reachable(),
                  "agents": _agents_running(runtime)}
        ok = all(checks.values())
        return web.json({"ready": ok, "checks": checks, "assigned": _assigned(runtime)},
                        status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        body = generate_latest(runtime.metrics.registry)
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/openapi.json")
    async def api(web: Any, request: Any) -> Any:
        return web.json(openapi.document(runtime.settings))


def takes(*allowed: str) -> Callable[[Handler], Handler]:
    """Decorate a page handler to answer 400, naming them, to query parameters it does
    not take (a misspelt filter must not silently return everything)."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(web: Any, request: Any, **params: Any) -> Any:
            unknown = sorted(set(request.query) - set(allowed))
            if unknown:
                return web.json({"error": f"unknown parameters {unknown}; this page takes"
                                          f" {list(allowed)}"}, status=400)
            return await handler(web, request, **params)
        return checked
    return wrap


def paging(query: Any, per_page_default: int = 100) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to 500) of a query; ValueError when either
    is not an integer."""
    page = max(1, int(query.get("page", "1")))
    return page, min(500, max(1, int(query.get("per_page", str(per_page_default)))))


def settling(web: Any, runtime: Runtime) -> Any | None:
    """A 503 to answer instead of reading tables while this worker rebalances or
    recovers them (a read then may hit a partition not open yet); None when settled."""
    if _recovered(runtime):
        return None
    return web.json({"error": "this worker is taking over partitions; try again shortly"},
                    status=503, headers={"Retry-After": "1"})


def _recovered(runtime: Runtime) -> bool:
    app = runtime.app
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # (on the concrete class)
    return bool(recovery.completed.is_set() and not recovery.in_recovery
                and not app.rebalancing)


def _assigned(runtime: Runtime) -> dict[str, list[int]]:
    """This worker's partitions of each topic it reads (what Faust's /router/ page told
    of the whole cluster, which is off: each worker says only its own)."""
    out: dict[str, list[int]] = {}
    try:
        assignment = runtime.app.consumer.assignment()
    except Exception:  # no consumer yet: nothing assigned
        return out
    for tp in assignment:
        out.setdefault(tp.topic, []).append(tp.partition)
    return {topic: sorted(parts) for topic, parts in sorted(out.items())}


def _agents_running(runtime: Runtime) -> bool:
    """Every agent has actors, and none of their tasks has ended."""
    for agent in runtime.app.agents.values():
        actors = list(getattr(agent, "_actors", ()))
        if not actors:
            return False
        for actor in actors:
            task = actor.actor_task
            if task is None or task.done():
                return False
    return True


class BrokerCheck:
    """Whether the broker answers a metadata request, asked at most every few seconds
    (a readiness probe every second must not become load on the broker)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.checked_at = 0.0
        self.ok = False

    async def reachable(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at < BROKER_CHECK_SECONDS:
            return self.ok
        self.checked_at = now
        try:
            # Faust keeps its aiokafka producer behind a private accessor; its client
            # is the one connection this worker surely has to the cluster.
            client = self.runtime.app.producer._ensure_producer().client  # type: ignore[attr-defined]
            await asyncio.wait_for(client.fetch_all_metadata(), BROKER_CHECK_SECONDS)
            self.ok = True
        except Exception:
            self.ok = False
        return self.ok

"""The composition root: builds the Faust app, its topics and agents from settings.

Nothing here runs at import time; ``create_app`` is called by the CLI (worker, demo) and
by tests. Agent modules plug in through their ``AGENT`` spec (``register(runtime)`` and
the tables they read); the default list is the production set, tests may pass their
own. A worker whose agents read a table none of them writes refuses to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust
from mode import Service

from streams import faust_fixes
from streams.codec import Codec
from streams.erp.adapter import ErpAdapter
from streams.erp.tryton import TrytonAdapter
from streams.errors import ConfigError
from streams.metrics import Metrics
from streams.runtime import AgentSpec, Runtime
from streams.settings import Settings
from streams.topics import Topics
from streams.woo.client import StoreClients


def every_agent() -> dict[str, AgentSpec]:
    """Every agent module (and the inventory's pages, which read its tables), by name."""
    from agents import (
        availability,
        catalog,
        customers,
        erp_commands,
        erp_feed,
        holds,
        orders,
        risk,
        stock_owners,
        store_sink,
        trace,
        woo_normalize,
        woo_sweep,
    )
    from streams import checkout_web, dashboard_web, inventory_web, order_web, risk_web

    specs = [trace.AGENT, erp_commands.AGENT, erp_feed.AGENT, woo_normalize.AGENT,
             woo_sweep.AGENT, store_sink.AGENT, stock_owners.AGENT, holds.AGENT,
             availability.AGENT, catalog.AGENT, customers.AGENT, orders.AGENT,
             checkout_web.AGENT, inventory_web.AGENT, order_web.AGENT, risk.AGENT,
             risk_web.AGENT, dashboard_web.AGENT]
    return {spec.name: spec for spec in specs}


def default_agents(only: tuple[str, ...] = ()) -> list[AgentSpec]:
    """The agents a worker runs: ``only`` those named (``WOOSYNC_AGENTS``), or all."""
    every = every_agent()
    unknown = set(only) - set(every)
    if unknown:
        raise ConfigError(f"unknown agents {sorted(unknown)}; choose from {sorted(every)}")
    return [spec for name, spec in every.items() if not only or name in only]


def check_tables(agents: Sequence[AgentSpec]) -> None:
    """Refuse a set of agents in which one reads a partitioned table that none of them
    writes: its rows would never come (a global table is filled from its changelog by
    whichever worker runs its writer)."""
    running = {spec.name for spec in agents}
    for spec in agents:
        for table in spec.reads:
            if not table.is_global and table.writer not in running:
                raise ConfigError(
                    f"agent {spec.name!r} reads table {table.name!r}, which only agent"
                    f" {table.writer!r} writes, and this worker does not run it: add"
                    f" {table.writer!r} to WOOSYNC_AGENTS")


def create_app(settings: Settings, agents: Sequence[AgentSpec] | None = None) -> Runtime:
    faust_fixes.apply(settings.consumer_fetch_wait_seconds, settings.inventory_batch_max)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.table_store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # One broker in development: no standby copies of the tables to keep warm.
        table_standby_replicas=settings.standby_replicas if settings.standby_replicas
        is not None else (0 if settings.replication_factor == 1 else 1),
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset=settings.consumer_offset_reset,
        producer_acks=-1,
        producer_linger=settings.producer_linger_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 10,
        autodiscover=False,
        # Faust's /table pages serve table rows (orders, customers' addresses) to anyone
        # who asks, /router/ the cluster's layout, the stats pages its internals: off.
        # Table-routed pages proxy through app.router, which needs none of them.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
    )
    runtime = Runtime(app, settings, Topics(app, settings), Codec(), Metrics(),
                      erp=make_adapter(settings), stores=StoreClients(dict(settings.stores)))
    from streams import divergence_web, dlq_web, ledger_web, live_metrics, web
    from streams.woo import ingress

    web.register(runtime)
    live_metrics.register(runtime)
    dlq_web.register(runtime)
    divergence_web.register(runtime)
    ledger_web.register(runtime)
    ingress.register(runtime)
    app.service(OutsideClients(runtime))  # type: ignore[arg-type]
    chosen = default_agents(settings.agents) if agents is None else list(agents)
    check_tables(chosen)
    for spec in chosen:
        spec.register(runtime)
    return runtime


class OutsideClients(Service):
    """Closes the HTTP clients of the outside systems (each store's REST client, the
    ERP's) when the worker stops, so that none is left open at exit."""

    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    async def on_stop(self) -> None:
        if self.runtime.stores is not None:
            await self.runtime.stores.close()
        if self.runtime.erp is not None:
            await self.runtime.erp.close()


def make_adapter(settings: Settings) -> ErpAdapter:
    """The ERP adapter the settings name (only Tryton so far)."""
    return TrytonAdapter(settings)
